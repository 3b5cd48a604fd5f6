"""Console page of edge workers: each worker, its cameras, fps, dropped frames, last heartbeat."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from openlfr.api.auth import Grant
from openlfr.api.roles import WORKERS_VIEW
from openlfr.api.routers.console import _page, session
from openlfr.api.worker_auth import worker_service

router = APIRouter(include_in_schema=False)


@router.get("/workers")
def workers_page(request: Request, g: Annotated[Grant, session(*WORKERS_VIEW)]) -> Response:
    ws = worker_service(request).visible_workers(g.actor)
    return _page(request, "workers.html", g, workers=ws)
