"""Retention: the purge job (auto-end, destroy due lists, delete expired alerts, shred keys)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from openlfr.governance import deployment as dep_rules
from openlfr.governance import watchlist as wl_rules
from openlfr.governance.vocab import DeploymentState
from openlfr.services import equality_data, rows
from openlfr.services.deployments import end_deployment
from openlfr.services.room import Room
from openlfr.services.rows import ALERTS_KEY, SYSTEM, facts
from openlfr.services.urgent import purge_use
from openlfr.services.watchlists import destroy_watchlist
from openlfr.storage import models as m

log = logging.getLogger(__name__)


@dataclass(slots=True)
class PurgeReceipt:
    at: datetime
    deployments_ended: list[str] = field(default_factory=list)
    watchlists_destroyed: dict[str, int] = field(default_factory=dict)
    alerts_deleted: dict[str, int] = field(default_factory=dict)
    keys_destroyed: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(
            self.deployments_ended
            or self.watchlists_destroyed
            or self.alerts_deleted
            or self.keys_destroyed
        )

    def to_dict(self) -> dict[str, Any]:
        """What was destroyed, without the time (the receipt's audit record carries that)."""
        return {k: v for k, v in asdict(self).items() if k != "at"}


class Retention(Room):
    def purge(self, actor: str = SYSTEM) -> PurgeReceipt:
        """Retention job: auto-end, destroy due watchlists, delete expired alerts, shred keys."""
        ctx = self.ctx
        now = ctx.now()
        rc = PurgeReceipt(at=now)
        with ctx.tx() as s:
            for d in s.execute(
                select(m.Deployment).where(m.Deployment.state == DeploymentState.LIVE.value)
            ).scalars():
                if dep_rules.should_auto_end(facts(d), now) and not dep_rules.urgent_use_lapsed(
                    facts(d), now
                ):
                    end_deployment(ctx, s, d, actor, "window closed")
                    rc.deployments_ended.append(d.id)
            # A.3: an urgent use not authorised within 24 h is purged, whether it is still
            # live or ended before the 24 h were up.
            lapsed: set[str] = set()  # their receipt is purge_use's own
            q = select(m.Deployment).where(
                m.Deployment.urgent.is_(True),
                m.Deployment.judicial_refused_at.is_(None),
            )
            for d in s.execute(q).scalars():
                # Purged already when its list is gone and its alerts key shredded with it.
                unpurged = d.watchlist_destroyed_at is None or (
                    s.get(m.DataKey, (d.id, ALERTS_KEY)) is not None
                )
                if unpurged and dep_rules.urgent_use_lapsed(facts(d), now):
                    lapsed.add(d.id)
                    if d.state == DeploymentState.LIVE.value:
                        rc.deployments_ended.append(d.id)
                    receipt = purge_use(ctx, s, d, actor, "A.3 urgent use not authorised in 24 h")
                    rc.alerts_deleted[d.id] = receipt["alerts_deleted"]
                    rc.watchlists_destroyed[d.id] = receipt["watchlist_entries_destroyed"]
            done = (DeploymentState.ENDED.value, DeploymentState.CANCELLED.value)
            q = select(m.Deployment).where(
                m.Deployment.state.in_(done), m.Deployment.watchlist_destroyed_at.is_(None)
            )
            for d in s.execute(q).scalars():
                if wl_rules.destroy_due(d.ended_at, now, ctx.settings.watchlist_grace_hours):
                    rc.watchlists_destroyed[d.id] = destroy_watchlist(
                        ctx, s, d, actor, "B.8 watchlist 24 h"
                    )
            expired = (
                s.execute(
                    select(m.Alert).where(
                        m.Alert.expires_at <= now, m.Alert.legal_hold_reason.is_(None)
                    )
                )
                .scalars()
                .all()
            )
            equality_data.forget(ctx, s, expired)
            for a in expired:
                rc.alerts_deleted[a.deployment_id] = rc.alerts_deleted.get(a.deployment_id, 0) + 1
                s.delete(a)
            s.flush()
            for dep_id, n in rc.alerts_deleted.items():
                if dep_id in lapsed:
                    continue
                d = rows.deployment(s, dep_id)
                ctx.audit(
                    s,
                    actor,
                    "retention.purge_alerts",
                    f"deployment:{dep_id}",
                    after={
                        "alerts_deleted": n,
                        "policy": f"retention {d.retention_profile}",
                        "at": now,
                    },
                )
            # Shred a deployment's alert key once it is over and nothing it sealed remains.
            for d in s.execute(select(m.Deployment).where(m.Deployment.state.in_(done))).scalars():
                left = s.execute(
                    select(func.count()).select_from(m.Alert).where(m.Alert.deployment_id == d.id)
                ).scalar_one()
                if (
                    not left
                    and d.watchlist_destroyed_at is not None
                    and s.get(m.DataKey, (d.id, ALERTS_KEY)) is not None
                ):
                    s.execute(
                        delete(m.DataKey).where(
                            m.DataKey.deployment_id == d.id, m.DataKey.purpose == ALERTS_KEY
                        )
                    )
                    rc.keys_destroyed.append(d.id)
                    ctx.audit(
                        s,
                        actor,
                        "retention.destroy_key",
                        f"deployment:{d.id}",
                        after={"purpose": ALERTS_KEY},
                    )
            if rc.anything:
                ctx.audit(s, actor, "retention.receipt", "retention", after=rc.to_dict())
        if rc.watchlists_destroyed or rc.alerts_deleted:
            ctx.vacuum()
        log.info(
            "purge: ended=%d watchlists=%d alerts=%d",
            len(rc.deployments_ended),
            sum(rc.watchlists_destroyed.values()),
            sum(rc.alerts_deleted.values()),
        )
        return rc
