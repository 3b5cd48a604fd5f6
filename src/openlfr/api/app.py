"""The FastAPI application: REST API under /api/v1, the console, health and metrics."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from openlfr import __version__
from openlfr.api import errors
from openlfr.api.context import ApiContext
from openlfr.api.deps import ApiError
from openlfr.api.limits import BodyLimitMiddleware
from openlfr.api.live import LiveManager, SourceSpec
from openlfr.api.metrics import Metrics
from openlfr.api.routers import (
    accounts,
    admin,
    alerts,
    assurance,
    auth,
    console,
    console_workers,
    controls,
    deployments,
    entry_photos,
    oversight,
    public,
    watchlist,
    workers,
)
from openlfr.services.governance import GovernanceService

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def _known_query_only(request: Request) -> None:
    """Refuse query parameters a route does not declare: a typo must not be silently ignored
    (e.g. a filter that did not apply)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return
    known = {p.alias for p in route.dependant.query_params}
    for dep in route.dependant.dependencies:
        known |= {p.alias for p in dep.query_params}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ApiError(400, "unknown_query_parameter", f"unknown query parameters: {unknown}")


def _default_engine() -> Any:
    from openlfr.vision.engine import build_engine

    return build_engine()


def create_app(
    service: GovernanceService,
    *,
    engine_factory: Callable[[], Any] | None = None,
    sources: dict[str, SourceSpec] | None = None,
    pipeline_config: Any = None,
    retention: bool = True,
    resume_live: bool = True,
    banner: str = "",
    **ctx_options: Any,
) -> FastAPI:
    """Build the app around one `GovernanceService`.

    `sources` maps camera ids to video sources (a path/URL/camera index or a FrameSource
    factory); a live deployment's whitelisted cameras that have one are run in-process.
    """
    make_engine = engine_factory or _default_engine
    metrics = Metrics()
    live = LiveManager(
        service, make_engine, sources, metrics=metrics, pipeline_config=pipeline_config
    )
    ctx = ApiContext(service, make_engine, live, metrics, banner=banner, **ctx_options)

    # Keep uploads (photos of people) in memory, never spooled to a temp file on disk: the
    # body limit below is smaller than the spool size, so the spool can never roll over.
    from starlette.formparsers import MultiPartParser

    upload_limit = ctx.max_upload_bytes + 64 * 1024  # the photo plus the form's other fields
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, upload_limit + 1)

    def body_limit(scope: MutableMapping[str, Any]) -> int:
        for k, v in scope.get("headers", []):
            if k == b"content-type" and v.lower().startswith(b"multipart/form-data"):
                return upload_limit
        return ctx.max_json_bytes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if retention:
            from openlfr.services.scheduler import RetentionScheduler

            scheduler = RetentionScheduler(service)
            scheduler.start()
        app.state.scheduler = scheduler  # for /readyz
        if resume_live:
            live.resume()
        service.ctx.on_alerts.append(ctx.bell.ring)
        try:
            yield
        finally:
            service.ctx.on_alerts.remove(ctx.bell.ring)
            app.state.stopping.set()
            live.stop()
            if scheduler is not None:
                scheduler.stop()

    app = FastAPI(
        title="OpenLFR",
        version=__version__,
        description="Live facial recognition under governance: the operator console's API. "
        "Every route except login, health, metrics and the public transparency documents needs "
        "a session or a bearer token; `x-roles` on each operation names the roles it accepts.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(_known_query_only)],
    )
    app.state.ctx = ctx
    app.state.stopping = threading.Event()
    errors.install(app)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> JSONResponse:
        return JSONResponse(
            errors.error_body(e.code, e.message), status_code=e.status, headers=e.headers
        )

    @app.exception_handler(console.PageRefused)
    async def _page_refused(_: Request, e: console.PageRefused) -> Response:
        return e.response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> Response:
        headers = dict(e.headers or {})
        if e.status_code == 405:
            # Starlette's Allow names only the first route matching the path; list them all.
            allowed: set[str] = set()
            for route in request.app.router.routes:
                match, _ = route.matches({**request.scope, "method": "GET"})
                if match != Match.NONE and isinstance(route, APIRoute) and route.methods:
                    allowed |= route.methods
            headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse(
            errors.error_body("http_error", str(e.detail)),
            status_code=e.status_code,
            headers=headers,
        )

    @app.middleware("http")
    async def _guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        t0 = time.perf_counter()
        resp = await call_next(request)
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        # Faces, tokens and personal records must not sit in a browser or proxy cache; only
        # the console's static files may.
        if not request.url.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        if ctx.hsts:
            resp.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        route = request.scope.get("route")
        # The route template, not the path, so ids never become label values.
        path = getattr(route, "path", "unmatched")
        metrics.http_latency.labels(request.method, path, str(resp.status_code)).observe(
            time.perf_counter() - t0
        )
        return resp

    for r in (
        auth,
        admin,
        accounts,
        deployments,
        watchlist,
        entry_photos,
        alerts,
        assurance,
        oversight,
        public,
        console,
        workers,
        console_workers,
        controls,
    ):
        app.include_router(r.router)
    app.mount("/static", StaticFiles(directory=str(console.WEB / "static")), name="static")
    # Outermost of the app's own middleware: bodies are bounded before routing or auth.
    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    return app
