"""The routers' common base: one place for the error responses and the `x-roles` document.

A route's `x-roles` is read off the `require(...)` dependency that checks its caller, so the
OpenAPI document cannot name other roles than the check lets through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from openlfr.api.defs.common import ERROR_RESPONSES
from openlfr.api.deps import roles_doc
from openlfr.governance.vocab import Role


def _required_roles(dependant: Dependant) -> tuple[Role, ...] | None:
    for sub in dependant.dependencies:
        roles: tuple[Role, ...] | None = getattr(sub.call, "roles", None)
        if roles is None:
            roles = _required_roles(sub)
        if roles is not None:
            return roles
    return None


class RolesRoute(APIRoute):
    """An API route that documents the roles its caller dependency requires (unless it says)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kw: Any) -> None:
        super().__init__(path, endpoint, **kw)
        roles = _required_roles(self.dependant)
        if self.openapi_extra is None and roles is not None:
            self.openapi_extra = roles_doc(*roles)


def api_router(prefix: str, tag: str) -> APIRouter:
    """A router of the versioned API: its tag, every error it may answer, roles documented."""
    return APIRouter(prefix=prefix, tags=[tag], responses=ERROR_RESPONSES, route_class=RolesRoute)
