from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from openlfr.api.defs.auth import LoginIn, MeOut, PasswordChangeIn, SessionOut, TokenOut
from openlfr.api.defs.common import ERROR_RESPONSES, OkOut
from openlfr.api.deps import (
    ALL_ROLES,
    SESSION_COOKIE,
    ApiError,
    current_actor,
    get_ctx,
    roles_doc,
)
from openlfr.errors import PermissionDeniedError
from openlfr.governance.deployment import Actor

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=ERROR_RESPONSES)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _throttled(wait: float) -> ApiError:
    return ApiError(
        429,
        "too_many_failed_logins",
        f"try again in {int(wait) + 1} s",
        {"Retry-After": str(int(wait) + 1)},
    )


def _login(request: Request, body: LoginIn) -> Actor:
    ctx = get_ctx(request)
    # Check and book the attempt in one step: concurrent guesses cannot all pass the check.
    booked, wait = ctx.throttle.reserve(body.username, _client(request))
    if booked is None:
        ctx.metrics.logins.labels("throttled").inc()
        raise _throttled(wait)
    try:
        actor = ctx.service.accounts.authenticate(body.username, body.password)
    except PermissionDeniedError:
        ctx.throttle.release(booked, ok=False)
        ctx.metrics.logins.labels("failed").inc()
        raise ApiError(401, "login_failed", "unknown user or wrong password") from None
    except BaseException:
        ctx.throttle.cancel(booked)
        raise
    ctx.throttle.release(booked, ok=True)
    ctx.metrics.logins.labels("ok").inc()
    return actor


def _me(a: Actor) -> MeOut:
    return MeOut(id=a.id, username=a.username, roles=sorted(a.roles))


@router.post("/login", summary="Console login (sets a session cookie)")
def login(request: Request, response: Response, body: LoginIn) -> SessionOut:
    actor = _login(request, body)
    ctx = get_ctx(request)
    must = ctx.service.accounts.must_change_password(actor.id)
    token, csrf = ctx.auth.new_session(actor, must_change=must)
    secure = request.url.scheme == "https" if ctx.cookie_secure is None else ctx.cookie_secure
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
        max_age=int(ctx.auth.session_ttl_s),
    )
    return SessionOut(**_me(actor).model_dump(), csrf_token=csrf, must_change_password=must)


@router.post("/token", summary="API login (bearer token)")
def token(request: Request, body: LoginIn) -> TokenOut:
    actor = _login(request, body)
    ctx = get_ctx(request)
    must = ctx.service.accounts.must_change_password(actor.id)
    return TokenOut(
        access_token=ctx.auth.new_bearer(actor, must_change=must),
        expires_in=int(ctx.auth.token_ttl_s),
        must_change_password=must,
    )


@router.post("/logout", openapi_extra=roles_doc(*ALL_ROLES))
def logout(request: Request, response: Response, _: Actor = Depends(current_actor)) -> OkOut:
    ctx = get_ctx(request)
    auth = request.headers.get("authorization", "")
    ctx.auth.revoke(auth[7:].strip() if auth[:7].lower() == "bearer " else None)
    ctx.auth.revoke(request.cookies.get(SESSION_COOKIE))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return OkOut()


@router.get("/me", openapi_extra=roles_doc(*ALL_ROLES))
def me(actor: Actor = Depends(current_actor)) -> MeOut:
    return _me(actor)


@router.post("/password", openapi_extra=roles_doc(*ALL_ROLES))
def change_password(
    request: Request, body: PasswordChangeIn, actor: Actor = Depends(current_actor)
) -> OkOut:
    ctx = get_ctx(request)
    # Throttled like a login: a stolen session must not become an oracle for the password.
    booked, wait = ctx.throttle.reserve(f"password-change:{actor.id}", _client(request))
    if booked is None:
        raise _throttled(wait)
    try:
        ctx.service.accounts.change_password(actor, body.current_password, body.new_password)
    except PermissionDeniedError:
        ctx.throttle.release(booked, ok=False)
        raise
    except BaseException:
        ctx.throttle.cancel(booked)
        raise
    ctx.throttle.release(booked, ok=True)
    # Every other session and token of this user ends with the old password.
    ctx.auth.revoke_user(actor.id)
    return OkOut()
