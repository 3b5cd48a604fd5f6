"""Builders for API tests: a governed world on SQLite, the app with the mock engine, a real
uvicorn server on 127.0.0.1 with an ephemeral port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import uvicorn
from fastapi import FastAPI

from openlfr.api import create_app
from openlfr.config.governance import GovernanceSettings
from openlfr.pipeline import PipelineConfig, QualityGate
from openlfr.vision.mock import MOCK_CONTRACT, mock_engine
from tests.unit.governance._support import (
    PASSWORD,
    World,
    approval_for,
    approve_model,
    full_fields,
    make_world,
)
from tests.unit.pipeline.conftest import RED, ListSource, scene

CAMERA = "cam-1"
# Which username holds which role in make_world (one role each, except "multi").
ROLE_USER = {
    "administrator": "admin",
    "authorising_officer": "ao1",
    "watchlist_compiler": "compiler",
    "operator": "op1",
    "auditor": "dpo",
}
METRICS_TOKEN = "test-scrape-token-0123456789"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
MOCK_PIPELINE = PipelineConfig(detect_stride=1, gate=QualityGate(min_sharpness=0.0))


def face_png(colour: tuple[int, int, int] = RED, size: int = 80, *, sharp: bool = True) -> bytes:
    """A mock-engine "face": a saturated square on grey, with a fine zero-mean checker texture
    so the B.6 sharpness rule sees detail (`sharp=False`: a flat square, a "blurred" photo).
    The mock embedding is bucketed from the mean colour, which the texture leaves unchanged."""
    img = np.full((200, 200, 3), 128, np.uint8)
    face = np.zeros((size, size, 3), np.int16) + np.array(colour, np.int16)
    if sharp:
        checker = (np.indices((size, size)).sum(0) % 2 * 2 - 1)[..., None] * 12
        face += checker.astype(np.int16)
    img[60 : 60 + size, 60 : 60 + size] = np.clip(face, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    return bytes(buf.tobytes())


def walking_source(colour: tuple[int, int, int] = RED, n: int = 40) -> ListSource:
    return ListSource(
        [scene([(20 + 3 * i, 80, colour)], size=60) for i in range(n)], live=False, fps=25.0
    )


def world(tmp: Path, settings: GovernanceSettings | None = None) -> World:
    # The B.6 quality gate stays on (default settings): test photos must be good enough.
    w = make_world(f"sqlite:///{tmp / 'api.sqlite3'}", settings=settings or GovernanceSettings())
    approve_model(w, approval_for(MOCK_CONTRACT))
    return w


def app_for(w: World, **kw: Any) -> FastAPI:
    kw.setdefault("sources", {CAMERA: walking_source})
    kw.setdefault("metrics_token", METRICS_TOKEN)
    return create_app(
        w.svc,
        engine_factory=mock_engine,
        pipeline_config=MOCK_PIPELINE,
        retention=False,
        **kw,
    )


def draft_fields(**over: Any) -> dict[str, Any]:
    """JSON body of a complete draft (times relative to the world's frozen clock)."""
    f = full_fields(cameras=[CAMERA], **over)
    for k in ("starts_at", "ends_at", "public_notice_at"):
        f[k] = f[k].isoformat()
    return f


def token(client: httpx.Client | Any, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def ready_deployment(client: Any, w: World, colour: tuple[int, int, int] = RED) -> str:
    """Draft -> authorised -> one red entry -> signed off, via the API; window open."""
    ao1, ao2, comp = token(client, "ao1"), token(client, "ao2"), token(client, "compiler")
    r = client.post("/api/v1/deployments", json={"name": "Test", **draft_fields()}, headers=ao1)
    assert r.status_code == 201, r.text
    dep: str = r.json()["id"]
    assert client.post(f"/api/v1/deployments/{dep}/authorise", headers=ao1).status_code == 200
    enrol_red(client, dep, comp, colour)
    r = client.post(f"/api/v1/deployments/{dep}/watchlist/sign-off", headers=ao2)
    assert r.status_code == 200, r.text
    w.clock.advance(hours=1)  # into the window
    return dep


def enrol_red(
    client: Any, dep: str, compiler: dict[str, str], colour: tuple[int, int, int] = RED
) -> str:
    """The red test person enrolled on `dep` through the API, by its compiler; the entry id."""
    r = client.post(
        f"/api/v1/deployments/{dep}/watchlist",
        headers=compiler,
        files={"photo": ("red.png", face_png(colour), "image/png")},
        data=entry_form(),
    )
    assert r.status_code == 201, r.text
    entry: str = r.json()["id"]
    return entry


def entry_form(**over: str) -> dict[str, str]:
    f = {
        "category": "wanted_by_courts_or_police",
        "legal_basis": "warrant 123",
        "source_system": "PND",
        "image_captured_on": "2025-09-01",
        "reason": "wanted on warrant",
        "subject_ref": "PND/1",
    }
    f.update(over)
    return f


def wait_for(fn: Any, timeout: float = 20.0, every: float = 0.1) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise AssertionError("timed out waiting")


@contextmanager
def running_server(app: FastAPI) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 with an OS-chosen port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, lifespan="on")
    )
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    wait_for(lambda: server.started, timeout=20)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(10)
        sock.close()


__all__ = ["METRICS", "PASSWORD", "ROLE_USER", "timedelta"]
