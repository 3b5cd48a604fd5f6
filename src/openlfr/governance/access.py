"""Who may touch what of one deployment (requirement G.21; OWASP ASVS V4.1-V4.2).

A role says what kind of work someone does; being named on the deployment says where. Every
read and write of a deployment's records goes through `require(actor, staff, access)` in the
service layer, so the API, the console, the event stream and the CLI refuse the same things:

- an operator sees only deployments that name them as operator;
- a watchlist compiler only the deployment whose list they compile;
- an authorising officer only deployments that name them (drafted, authorised, countersigned,
  signed off, or listed as officers);
- an auditor sees records, alerts and audit data of every deployment, never a face image;
- an administrator sees deployment records (to manage accounts and staffing) but edits only
  deployments they drafted, and never alerts, watchlists or faces;
- a legal hold is placed or released only by the deployment's own officers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from openlfr.errors import PermissionDeniedError
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role


class Access(StrEnum):
    VIEW = "view"  # the deployment's configuration and record
    EDIT = "edit"  # change the draft's configuration, cancel it
    WATCHLIST = "watchlist"  # the entry list (categories, provenance; no images)
    COMPILE = "compile"  # add or remove entries
    FACES = "faces"  # any face image: enrolled photos, probe crops
    ALERTS = "alerts"  # alert list, live stream, alert metadata
    ADJUDICATE = "adjudicate"  # review an alert, record its outcome
    OFFICER = "officer"  # authorise, countersign, sign off, place or release a legal hold


@dataclass(frozen=True, slots=True)
class Staff:
    """Who is named on one deployment (ids of users)."""

    deployment_id: str
    compiler_id: str | None = None
    operator_ids: frozenset[str] = frozenset()
    officer_ids: frozenset[str] = frozenset()  # authorising officers named in any capacity
    created_by: str | None = None


def _is(actor: Actor, role: Role, named: bool) -> bool:
    return named and actor.has(role)


def allowed(actor: Actor, staff: Staff, access: Access) -> bool:
    op = _is(actor, Role.OPERATOR, actor.id in staff.operator_ids)
    comp = _is(actor, Role.WATCHLIST_COMPILER, actor.id == staff.compiler_id)
    officer = _is(actor, Role.AUTHORISING_OFFICER, actor.id in staff.officer_ids)
    auditor = actor.has(Role.AUDITOR)
    admin = actor.has(Role.ADMINISTRATOR)
    if access is Access.VIEW:
        return op or comp or officer or auditor or admin
    if access is Access.EDIT:
        return officer or (admin and actor.id == staff.created_by)
    if access is Access.WATCHLIST:
        return op or comp or officer or auditor
    if access is Access.COMPILE:
        return comp
    if access is Access.FACES:
        return op or comp or officer
    if access is Access.ALERTS:
        return op or officer or auditor
    if access is Access.ADJUDICATE:
        return op
    if access is Access.OFFICER:
        return officer
    return False


def require(actor: Actor, staff: Staff, access: Access) -> None:
    if not allowed(actor, staff, access):
        raise PermissionDeniedError(
            f"{actor.username} is not assigned to this deployment for {access.value}",
            source=staff.deployment_id,
        )
