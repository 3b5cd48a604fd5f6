"""The router base documents the roles a route's caller dependency checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI

from openlfr.api.deps import require
from openlfr.api.routing import api_router
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role

As = Annotated[Actor, Depends(require(Role.AUDITOR, Role.OPERATOR))]


def test_x_roles_come_from_the_require_dependency_unless_the_route_names_them() -> None:
    router = api_router("/api/v1", "t")

    @router.get("/checked")
    def checked(_: As) -> None: ...

    @router.get("/own", openapi_extra={"x-roles": ["worker"]})
    def own(_: As) -> None: ...

    @router.get("/open")
    def open_() -> None: ...

    app = FastAPI()
    app.include_router(router)
    paths = app.openapi()["paths"]
    assert paths["/api/v1/checked"]["get"]["x-roles"] == ["auditor", "operator"]
    assert paths["/api/v1/own"]["get"]["x-roles"] == ["worker"]
    assert "x-roles" not in paths["/api/v1/open"]["get"]
    assert paths["/api/v1/checked"]["get"]["tags"] == ["t"]
    assert "403" in paths["/api/v1/checked"]["get"]["responses"]
