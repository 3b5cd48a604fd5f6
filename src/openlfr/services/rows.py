"""Row lookups and row views the service rooms share (reads only; no rule lives here)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.errors import NotFoundError
from openlfr.eval.approval import ModelApproval
from openlfr.governance.deployment import Actor, Countersignature, DeploymentFacts
from openlfr.governance.vocab import Category, Countersign, DeploymentState, Role
from openlfr.storage import models as m
from openlfr.vision.contract import Template

SYSTEM = "system"
WATCHLIST_KEY, ALERTS_KEY = "watchlist", "alerts"

# Fields of a deployment that can be set while it is a draft, and how to store them.
PLAIN_FIELDS = (
    "name", "purpose", "location", "starts_at", "ends_at", "dpia_ref", "policy_ref", "eia_ref",
    "necessity", "alternatives", "model_contract_id", "threshold", "expected_faces",
    "watchlist_size_cap", "retention_profile", "public_notice_at", "no_notice_reason", "eu_mode",
    "judicial_authorisation_id", "fria_ref", "eu_database_id", "art5_objective", "urgent",
)  # fmt: skip


def j(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def actor_of(u: m.User) -> Actor:
    roles = frozenset(Role(r) for r in u.roles.split(",") if r)
    return Actor(u.id, u.username, roles)


def facts(d: m.Deployment) -> DeploymentFacts:
    return DeploymentFacts(
        id=d.id,
        name=d.name,
        state=DeploymentState(d.state),
        purpose=d.purpose,
        location=d.location,
        cameras=json.loads(d.cameras_json),
        starts_at=d.starts_at,
        ends_at=d.ends_at,
        dpia_ref=d.dpia_ref,
        policy_ref=d.policy_ref,
        eia_ref=d.eia_ref,
        necessity=d.necessity,
        alternatives=d.alternatives,
        model_contract_id=d.model_contract_id,
        threshold=d.threshold,
        expected_faces=d.expected_faces,
        watchlist_size_cap=d.watchlist_size_cap,
        compiler_id=d.compiler_id,
        operator_ids=json.loads(d.operator_ids_json),
        authoriser_id=d.authoriser_id,
        countersignatures=[
            Countersignature(Countersign(c["kind"]), c["user_id"], c["reason"])
            for c in json.loads(d.countersigns_json)
        ],
        public_notice_at=d.public_notice_at,
        no_notice_reason=d.no_notice_reason,
        eu_mode=d.eu_mode,
        judicial_authorisation_id=d.judicial_authorisation_id,
        fria_ref=d.fria_ref,
        eu_database_id=d.eu_database_id,
        art5_objective=d.art5_objective,
        urgent=d.urgent,
        started_at=d.started_at,
    )


def snapshot(d: m.Deployment) -> dict[str, Any]:
    """Audit view of a deployment's configuration (no biometric data lives on this row)."""
    out = {c: getattr(d, c) for c in PLAIN_FIELDS}
    out.update(
        state=d.state,
        cameras=json.loads(d.cameras_json),
        compiler_id=d.compiler_id,
        operator_ids=json.loads(d.operator_ids_json),
        officer_ids=json.loads(d.officer_ids_json or "[]"),
        countersigns=json.loads(d.countersigns_json),
        signage=json.loads(d.signage_json),
    )
    return out


def deployment(s: Session, deployment_id: str) -> m.Deployment:
    d = s.get(m.Deployment, deployment_id)
    if d is None:
        raise NotFoundError("no such deployment", source=deployment_id)
    return d


def alert(s: Session, alert_id: str) -> m.Alert:
    a = s.get(m.Alert, alert_id)
    if a is None:
        raise NotFoundError("no such alert (or purged)", source=alert_id)
    return a


def user_by_name(s: Session, username: str) -> m.User:
    u = s.execute(select(m.User).where(m.User.username == username)).scalar_one_or_none()
    if u is None or not u.active:
        raise NotFoundError("no such active user", source=username)
    return u


def approval(s: Session, contract_id: str | None) -> ModelApproval | None:
    if not contract_id:
        return None
    row = s.get(m.ModelApprovalRow, contract_id)
    # Only a countersigned approval counts (separation of duties, services/approvals.py).
    if row is None or row.countersigned_by is None:
        return None
    return ModelApproval.from_dict(json.loads(row.approval_json))


def watchlist_size(s: Session, deployment_id: str) -> int:
    q = (
        select(func.count())
        .select_from(m.WatchlistEntry)
        .where(m.WatchlistEntry.deployment_id == deployment_id)
    )
    return int(s.execute(q).scalar_one())


def stub_of(e: m.WatchlistEntry, destroyed_at: datetime) -> m.WatchlistStub:
    """What outlives a destroyed entry: ids, category and template hash, no biometric."""
    return m.WatchlistStub(
        entry_id=e.id,
        deployment_id=e.deployment_id,
        category=e.category,
        template_digest=e.template_digest,
        added_at=e.added_at,
        destroyed_at=destroyed_at,
    )


def template_bytes(t: Template) -> bytes:
    return np.ascontiguousarray(t.vector, dtype=np.float32).tobytes()


def by_category(rows: list[Any]) -> dict[str, int]:
    out = {c.value: 0 for c in Category}
    for r in rows:
        out[r.category] = out.get(r.category, 0) + 1
    return out


def iso(t: datetime | None) -> str:
    return t.astimezone(UTC).isoformat() if t else ""
