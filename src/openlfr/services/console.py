"""Read models and small account actions the operator console and API need on top of
`GovernanceService`, kept apart so the service itself stays the single place for rules.

Everything here reuses the governance rules (`openlfr.governance.*`) and the service's own
transaction and audit plumbing; nothing re-implements a rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from argon2.exceptions import VerificationError
from sqlalchemy import func, select

from openlfr.errors import NotFoundError, PermissionDeniedError, RuleViolation
from openlfr.governance import deployment as dep_rules
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import DeploymentState, Role
from openlfr.services.governance import GovernanceService, facts
from openlfr.storage import models as m

# Audit actions that are deletion receipts (retention and erasure), shown to auditors.
RECEIPT_ACTIONS = (
    "retention.receipt",
    "retention.purge_alerts",
    "retention.destroy_key",
    "watchlist.destroy",
    "subject.erase_alert",
    "subject.erase_entry",
)


@dataclass(frozen=True, slots=True)
class Readiness:
    deployment_id: str
    state: str
    missing: list[str]  # what stops `by` authorising it now (empty: ready)
    expected_false_alerts_at_cap: float | None
    expected_false_alerts_now: float | None
    watchlist_size: int


def readiness(svc: GovernanceService, by: Actor, deployment_id: str) -> Readiness:
    """What an authorising officer sees before authorising: the same checks `authorise` runs."""
    with svc._tx() as s:
        d = s.get(m.Deployment, deployment_id)
        if d is None:
            raise NotFoundError("no such deployment", source=deployment_id)
        f = facts(d)
        approval = svc._approval(s, d.model_contract_id)
        missing = (
            dep_rules.authorisation_problems(f, by, approval, svc.clock())
            if f.state == DeploymentState.DRAFT
            else []
        )
        at_cap = None
        if approval is not None and d.threshold is not None and d.expected_faces is not None:
            try:
                at_cap = approval.expected_false_alerts(
                    d.expected_faces, d.watchlist_size_cap, d.threshold
                )
            except ValueError:
                at_cap = None
        size = svc._watchlist_size(s, d.id)
    return Readiness(
        deployment_id, d.state, missing, at_cap, svc.projected_false_alerts(deployment_id), size
    )


def audit_records(
    svc: GovernanceService,
    *,
    limit: int = 100,
    before_seq: int | None = None,
    actions: tuple[str, ...] | None = None,
) -> list[dict[str, Any]]:
    """Newest first. Records hold ids, counts and reasons only (never biometric data)."""
    with svc._tx() as s:
        q = select(m.AuditRecord)
        if before_seq is not None:
            q = q.where(m.AuditRecord.seq < before_seq)
        if actions:
            q = q.where(m.AuditRecord.action.in_(actions))
        rows = s.execute(q.order_by(m.AuditRecord.seq.desc()).limit(limit)).scalars()
        return [
            {
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "subject": r.subject,
                "before": json.loads(r.before_json),
                "after": json.loads(r.after_json),
                "hash": r.hash,
            }
            for r in rows
        ]


def audit_count(svc: GovernanceService) -> int:
    with svc._tx() as s:
        return int(s.execute(select(func.count()).select_from(m.AuditRecord)).scalar_one())


def change_password(svc: GovernanceService, by: Actor, current: str, new: str) -> None:
    """A user replaces their own password (e.g. the one-time password printed at first start)."""
    if len(new) < 12:
        raise RuleViolation("change password", ["the password must have at least 12 characters"])
    if new == current:
        raise RuleViolation("change password", ["the new password must differ from the old"])
    hasher = svc._hasher
    with svc._tx() as s:
        u = s.get(m.User, by.id)
        if u is None or not u.active:
            raise NotFoundError("no such active user", source=by.username)
        ok: bool
        try:
            ok = hasher.verify(u.password_hash, current)
        except VerificationError:
            ok = False
        if not ok:
            svc._audit(s, by.username, "user.password_change_failed", f"user:{u.id}")
        else:
            u.password_hash = hasher.hash(new)
            svc._audit(s, by.username, "user.password_change", f"user:{u.id}")
    if not ok:
        raise PermissionDeniedError("the current password is wrong", source=by.username)


def mark_one_time_password(svc: GovernanceService, by: str, user_id: str) -> None:
    """Record that `user_id`'s password was generated and shown once: it must be replaced at
    first login (the console and API refuse everything else until it is)."""
    with svc._tx() as s:
        svc._audit(s, by, "user.one_time_password", f"user:{user_id}")


def must_change_password(svc: GovernanceService, user_id: str) -> bool:
    """True while the newest password event of the user is a one-time password."""
    with svc._tx() as s:
        q = (
            select(m.AuditRecord.action)
            .where(
                m.AuditRecord.subject == f"user:{user_id}",
                m.AuditRecord.action.in_(("user.one_time_password", "user.password_change")),
            )
            .order_by(m.AuditRecord.seq.desc())
            .limit(1)
        )
        return s.execute(q).scalar_one_or_none() == "user.one_time_password"


def actor_by_id(svc: GovernanceService, user_id: str) -> Actor:
    """Resolve a stored user id (e.g. a deployment's operator) to an Actor."""
    with svc._tx() as s:
        u = s.get(m.User, user_id)
        if u is None or not u.active:
            raise NotFoundError("no such active user", source=user_id)
        username = u.username
    return svc.actor(username)


def live_deployment_ids(svc: GovernanceService) -> list[str]:
    return [d["id"] for d in svc.deployments() if d["state"] == DeploymentState.LIVE.value]


def has_any_role(actor: Actor, roles: tuple[Role, ...]) -> bool:
    return any(actor.has(r) for r in roles)
