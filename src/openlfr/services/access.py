"""Deployment-scoped access in the service layer (rules in `governance/access.py`).

Every room calls `require(by, d, Access.X)` on the stored deployment before it reads or
changes anything of it, so the API, the console, the event stream and the CLI refuse alike.
New routes and commands about one deployment must go through a room method that does, or call
`svc.access.require(by, deployment_id, Access.X)` themselves.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.governance import access as rules
from openlfr.governance.access import Access, Staff
from openlfr.governance.deployment import Actor
from openlfr.services import rows
from openlfr.services.room import Room
from openlfr.storage import models as m

__all__ = ["Access", "DeploymentAccess", "require", "staff_of"]


def staff_of(d: m.Deployment) -> Staff:
    officers = set(json.loads(d.officer_ids_json or "[]"))
    officers |= {c["user_id"] for c in json.loads(d.countersigns_json or "[]")}
    officers |= {x for x in (d.created_by, d.authoriser_id, d.signed_off_by) if x}
    return Staff(
        deployment_id=d.id,
        compiler_id=d.compiler_id,
        operator_ids=frozenset(json.loads(d.operator_ids_json or "[]")),
        officer_ids=frozenset(officers),
        created_by=d.created_by,
    )


def require(by: Actor, d: m.Deployment, access: Access) -> None:
    rules.require(by, staff_of(d), access)


def allowed(by: Actor, d: m.Deployment, access: Access) -> bool:
    return rules.allowed(by, staff_of(d), access)


def visible(s: Session, by: Actor, access: Access = Access.VIEW) -> list[m.Deployment]:
    q = select(m.Deployment).order_by(m.Deployment.created_at)
    return [d for d in s.execute(q).scalars() if allowed(by, d, access)]


def set_officers(s: Session, d: m.Deployment, names: list[str], problems: list[str]) -> None:
    """The `officers` field: authorising officers named on the deployment (beyond its creator,
    authoriser, countersigners and sign-off officer)."""
    ids = []
    for name in names:
        u = rows.user_by_name(s, name)
        if "authorising_officer" not in u.roles.split(","):
            problems.append(f"{name} is not an authorising officer")
        ids.append(u.id)
    d.officer_ids_json = json.dumps(sorted(set(ids)))


class DeploymentAccess(Room):
    """`svc.access`: the same checks for callers outside the rooms (routers of other parts)."""

    def require(self, by: Actor, deployment_id: str, access: Access) -> None:
        with self.ctx.tx() as s:
            require(by, rows.deployment(s, deployment_id), access)

    def allowed(self, by: Actor, deployment_id: str, access: Access) -> bool:
        with self.ctx.tx() as s:
            return allowed(by, rows.deployment(s, deployment_id), access)

    def ids(self, by: Actor, access: Access = Access.VIEW) -> list[str]:
        with self.ctx.tx() as s:
            return [d.id for d in visible(s, by, access)]

    def staff(self, deployment_id: str) -> dict[str, Any]:
        with self.ctx.tx() as s:
            st = staff_of(rows.deployment(s, deployment_id))
        return {
            "compiler_id": st.compiler_id,
            "operator_ids": sorted(st.operator_ids),
            "officer_ids": sorted(st.officer_ids),
        }
