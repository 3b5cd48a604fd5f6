"""Account management by administrators: deactivate, change roles, reset a password.

Each change is audited by the service; deactivation and a reset end the user's sessions and
tokens at once (they are stored in the database, so in every server process)."""

from __future__ import annotations

from fastapi import Request

from openlfr.api.defs.auth import DeactivateIn, PasswordResetOut, RolesIn, UserOut
from openlfr.api.defs.common import OkOut
from openlfr.api.deps import Id32, get_ctx
from openlfr.api.roles import AsAdmin
from openlfr.api.routing import api_router

router = api_router("/api/v1/users", "administration")


@router.post("/{user_id}/deactivate")
def deactivate(request: Request, body: DeactivateIn, user_id: Id32, actor: AsAdmin) -> OkOut:
    get_ctx(request).service.accounts.deactivate(actor, user_id, body.reason)
    return OkOut()


@router.put("/{user_id}/roles")
def set_roles(request: Request, body: RolesIn, user_id: Id32, actor: AsAdmin) -> UserOut:
    a = get_ctx(request).service.accounts.set_roles(actor, user_id, [r.value for r in body.roles])
    return UserOut(id=a.id, username=a.username, roles=sorted(a.roles), active=True)


@router.post("/{user_id}/password-reset")
def reset_password(request: Request, user_id: Id32, actor: AsAdmin) -> PasswordResetOut:
    return PasswordResetOut(
        one_time_password=get_ctx(request).service.accounts.reset_password(actor, user_id)
    )
