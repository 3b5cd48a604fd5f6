"""Account management by administrators: deactivate, change roles, reset a password.

Each change is audited by the service; deactivation and a reset end the user's sessions and
tokens at once (they are stored in the database, so in every server process)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from openlfr.api.defs.auth import DeactivateIn, PasswordResetOut, RolesIn, UserOut
from openlfr.api.defs.common import ERROR_RESPONSES, OkOut
from openlfr.api.deps import Id32, get_ctx, roles_doc
from openlfr.api.roles import ADMIN, AsAdmin

router = APIRouter(prefix="/api/v1/users", tags=["administration"], responses=ERROR_RESPONSES)


@router.post("/{user_id}/deactivate", response_model=OkOut, openapi_extra=roles_doc(*ADMIN))
def deactivate(request: Request, body: DeactivateIn, user_id: Id32, actor: AsAdmin) -> OkOut:
    get_ctx(request).service.accounts.deactivate(actor, user_id, body.reason)
    return OkOut()


@router.put("/{user_id}/roles", response_model=UserOut, openapi_extra=roles_doc(*ADMIN))
def set_roles(request: Request, body: RolesIn, user_id: Id32, actor: AsAdmin) -> UserOut:
    a = get_ctx(request).service.accounts.set_roles(actor, user_id, [r.value for r in body.roles])
    return UserOut(id=a.id, username=a.username, roles=sorted(a.roles), active=True)


@router.post(
    "/{user_id}/password-reset", response_model=PasswordResetOut, openapi_extra=roles_doc(*ADMIN)
)
def reset_password(request: Request, user_id: Id32, actor: AsAdmin) -> PasswordResetOut:
    return PasswordResetOut(
        one_time_password=get_ctx(request).service.accounts.reset_password(actor, user_id)
    )
