"""A.3 (EU AI Act Art 5(3)): an urgent use whose authorisation is refused, or not given within
24 h, stops at once and everything it produced is deleted, with a receipt in the audit log.

`purge_use` is shared by the refusal (recorded by an officer with the authority's reference)
and by the retention job (the 24 h lapse).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openlfr.errors import InvalidStateError
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import DeploymentState, Role
from openlfr.services import access, equality_data, rows
from openlfr.services.access import Access
from openlfr.services.context import ServiceContext
from openlfr.services.deployments import end_deployment
from openlfr.services.room import Room
from openlfr.services.rows import ALERTS_KEY
from openlfr.services.watchlists import destroy_watchlist
from openlfr.storage import assurance_models as am
from openlfr.storage import models as m


def purge_use(
    ctx: ServiceContext, s: Session, d: m.Deployment, actor: str, policy: str
) -> dict[str, Any]:
    """Stop `d` (end if live, cancel if not yet live) and delete every alert (with its crops,
    template and equality record), test alert and watchlist entry of it; shred its keys; write
    the deletion receipt. Returns the receipt."""
    now = ctx.now()
    state = DeploymentState(d.state)
    if state == DeploymentState.LIVE:
        end_deployment(ctx, s, d, actor, policy)
    elif state in (DeploymentState.DRAFT, DeploymentState.AUTHORISED):
        d.state, d.ended_at, d.end_reason = DeploymentState.CANCELLED.value, now, policy[:200]
        ctx.audit(s, actor, "deployment.cancel", f"deployment:{d.id}", after={"reason": policy})
    alerts = list(s.execute(select(m.Alert).where(m.Alert.deployment_id == d.id)).scalars())
    crops = sum((a.probe_enc is not None) + (a.scene_enc is not None) for a in alerts)
    equality_data.forget(ctx, s, alerts, tally=False)
    for a in alerts:
        s.delete(a)
    tests = s.execute(delete(am.TestAlert).where(am.TestAlert.deployment_id == d.id))
    entries = destroy_watchlist(ctx, s, d, actor, policy) if d.watchlist_destroyed_at is None else 0
    s.execute(
        delete(m.DataKey).where(m.DataKey.deployment_id == d.id, m.DataKey.purpose == ALERTS_KEY)
    )
    receipt = {
        "alerts_deleted": len(alerts),
        "crops_deleted": crops,
        "test_alerts_deleted": int(getattr(tests, "rowcount", 0) or 0),
        "watchlist_entries_destroyed": entries,
        "keys_destroyed": [ALERTS_KEY, "watchlist"],
        "policy": policy,
        "at": now,
    }
    ctx.audit(s, actor, "deployment.purge", f"deployment:{d.id}", after=receipt)
    return receipt


class JudicialDecisions(Room):
    def record_refusal(
        self, by: Actor, deployment_id: str, ref: str, reason: str
    ) -> dict[str, Any]:
        """The judicial/independent authority refused the use: record its reference, stop the
        deployment at once and purge all it produced (A.3). Returns the deletion receipt."""
        self.ctx.need_role(by, Role.AUTHORISING_OFFICER)
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            access.require(by, d, Access.OFFICER)
            problems = [] if ref.strip() else ["missing the authority's reference"]
            if not d.eu_mode:
                problems.append("judicial authorisation applies to EU mode deployments only")
            if d.judicial_refused_at is not None:
                problems.append("a refusal is already recorded")
            require("judicial refusal", problems, source=d.id)
            if d.judicial_authorisation_id and d.judicial_authorisation_id == ref:
                raise InvalidStateError(
                    "this reference is recorded as the authorisation", source=d.id
                )
            d.judicial_refusal_ref, d.judicial_refused_at = ref, self.ctx.now()
            self.ctx.audit(
                s,
                by.username,
                "deployment.judicial_refusal",
                f"deployment:{d.id}",
                after={"judicial_refusal_ref": ref, "reason": reason},
            )
            receipt = purge_use(self.ctx, s, d, by.username, f"A.3 authorisation refused ({ref})")
        self.ctx.vacuum()  # as after a retention purge: no freed page keeps the deleted data
        return receipt
