"""Perceived-group records as special-category data (issue 22, UK GDPR Art 9 / DPA 2018 s.35).

The group is sealed with the deployment's alerts key, so it is shredded with that key; the row
is deleted with its alert. What survives the alert is a count in `EqualityTally` (year, group,
review result, outcome), with no alert, entry or deployment id: the group can no longer be tied
to a person on a watchlist. No audit record names the group or the alert (see `record_group`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openlfr.governance import equality as eq
from openlfr.services.context import ServiceContext
from openlfr.services.rows import ALERTS_KEY
from openlfr.storage import assurance_models as am
from openlfr.storage import controls_models as cm
from openlfr.storage import models as m
from openlfr.storage.crypto import open_sealed, seal


def _aad(alert_id: str) -> str:
    return f"equality_records:{alert_id}:group"


def sealed_group(
    ctx: ServiceContext, s: Session, deployment_id: str, alert_id: str, g: str
) -> bytes:
    dk = ctx.data_key(s, deployment_id, ALERTS_KEY, create=False)
    return seal(dk, g.encode(), _aad(alert_id))


def group_of(ctx: ServiceContext, s: Session, r: am.EqualityRecord) -> str | None:
    if r.group_enc is None:
        return r.perceived_group  # a row written before issue 22
    dk = ctx.data_key(s, r.deployment_id, ALERTS_KEY, create=False)
    return open_sealed(dk, r.group_enc, _aad(r.alert_id)).decode()


def forget(
    ctx: ServiceContext, s: Session, alerts: Iterable[m.Alert], *, tally: bool = True
) -> int:
    """Delete the equality records of `alerts` (about to be deleted), first adding each to the
    anonymous tally when `tally` (not for a use that was never lawful: A.3 purges it all)."""
    by_id = {a.id: a for a in alerts}
    if not by_id:
        return 0
    recs = list(
        s.execute(select(am.EqualityRecord).where(am.EqualityRecord.alert_id.in_(by_id)))
        .scalars()
        .all()
    )
    for r in recs if tally else []:
        g = group_of(ctx, s, r)
        if g is None:
            continue
        outcome = by_id[r.alert_id].result or r.outcome or ""
        key = (r.year, g, r.false_alert, outcome)
        t = s.get(cm.EqualityTally, key)
        if t is None:
            t = cm.EqualityTally(
                year=r.year, perceived_group=g, false_alert=r.false_alert, outcome=outcome, count=0
            )
            s.add(t)
        t.count += 1
    s.execute(delete(am.EqualityRecord).where(am.EqualityRecord.alert_id.in_(by_id)))
    return len(recs)


def year_records(
    ctx: ServiceContext, s: Session, year: int, deployment_id: str | None, *, ended_only: bool
) -> list[eq.GroupRecord]:
    """The year's records (live ones opened with their key) and, for the whole year, the tally."""
    q = select(am.EqualityRecord).where(am.EqualityRecord.year == year)
    if deployment_id:
        q = q.where(am.EqualityRecord.deployment_id == deployment_id)
    out: list[eq.GroupRecord] = []
    states: dict[str, str] = {}
    for r in s.execute(q).scalars():
        if ended_only:
            if r.deployment_id not in states:
                d = s.get(m.Deployment, r.deployment_id)
                states[r.deployment_id] = d.state if d else "ended"
            if states[r.deployment_id] not in ("ended", "cancelled"):
                continue  # published only once the deployment is over
        g = group_of(ctx, s, r)
        if g is None:
            continue
        alert = s.get(m.Alert, r.alert_id)  # the outcome may have come after the record
        out.append(eq.GroupRecord(g, r.false_alert, (alert.result if alert else None) or r.outcome))
    if deployment_id is None:
        for t in s.execute(select(cm.EqualityTally).where(cm.EqualityTally.year == year)).scalars():
            rec = eq.GroupRecord(t.perceived_group, t.false_alert, t.outcome or None)
            out += [rec] * t.count
    return out
