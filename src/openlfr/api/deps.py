"""Authentication and role dependencies shared by every router.

Bearer tokens (API clients) or the session cookie (console); a cookie-authenticated unsafe
request must echo the session's CSRF token in X-CSRF-Token. The route's role check runs before
the service's own (which also checks who is named on the deployment).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, File, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from openlfr.api.auth import Grant, csrf_ok
from openlfr.api.context import ApiContext
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role

SESSION_COOKIE = "openlfr_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALL_ROLES = tuple(Role)
# All a one-time-password login may do until the password is changed.
PASSWORD_CHANGE_PATHS = frozenset(
    {"/api/v1/auth/password", "/api/v1/auth/logout", "/api/v1/auth/me"}
)

bearer_scheme = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status, self.code, self.message, self.headers = status, code, message, headers
        super().__init__(message)


def get_ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def grant_of(request: Request) -> Grant | None:
    ctx = get_ctx(request)
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return ctx.auth.lookup(auth[7:].strip(), "bearer")
    return ctx.auth.lookup(request.cookies.get(SESSION_COOKIE), "session")


def current_actor(
    request: Request,
    _creds: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
) -> Actor:
    g = grant_of(request)
    if g is None:
        raise ApiError(
            401,
            "not_authenticated",
            "log in or send a bearer token",
            {"WWW-Authenticate": "Bearer"},
        )
    if (
        g.kind == "session"
        and request.method not in SAFE_METHODS
        and not csrf_ok(g, request.headers.get("x-csrf-token"))
    ):
        raise ApiError(403, "csrf", "missing or wrong X-CSRF-Token header")
    if g.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise ApiError(
            403,
            "password_change_required",
            "this account has a one-time password: change it (POST /api/v1/auth/password)",
        )
    return g.actor


def require(*roles: Role) -> Callable[..., Actor]:
    """Dependency: the caller, if they hold one of `roles` (403 otherwise)."""

    def dep(actor: Actor = Depends(current_actor)) -> Actor:
        if not any(actor.has(r) for r in roles):
            raise ApiError(
                403,
                "permission_denied",
                f"needs one of the roles: {', '.join(r.value for r in roles)}",
            )
        return actor

    dep.roles = roles  # type: ignore[attr-defined]
    return dep


def roles_doc(*roles: Role) -> dict[str, Any]:
    """OpenAPI extension naming the roles a route needs (read by the role test and clients)."""
    return {"x-roles": [r.value for r in roles]}


# Path ids as every router declares them (the same bounds, so the same OpenAPI schema).
Id64 = Annotated[str, Path(min_length=1, max_length=64)]
Id32 = Annotated[str, Path(min_length=1, max_length=32)]
Reason = Annotated[str, Query(min_length=1, max_length=2000)]  # why a record is removed
# The enrolment photo of a multipart form (read it with on_upload).
FacePhoto = Annotated[UploadFile, File(description="JPEG/PNG with exactly one face")]


async def read_upload(ctx: ApiContext, photo: UploadFile) -> bytes:
    """The uploaded photo's bytes, refused (413/415) when over the limit or empty."""
    data = await photo.read(ctx.max_upload_bytes + 1)
    if len(data) > ctx.max_upload_bytes:
        raise ApiError(413, "upload_too_large", f"uploads are limited to {ctx.max_upload_bytes} B")
    if not data:
        raise ApiError(415, "image_decode_error", "empty upload")
    return data


T = TypeVar("T")


async def on_upload(ctx: ApiContext, photo: UploadFile, fn: Callable[[Any, bytes], T]) -> T:
    """`fn(engine, photo bytes)` on the shared enrolment engine, off the event loop; the upload
    refused first (413/415) when over the limit or empty."""
    data = await read_upload(ctx, photo)
    out: T = await run_in_threadpool(ctx.with_engine, lambda eng: fn(eng, data))
    return out
