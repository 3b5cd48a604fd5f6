"""Centre + worker + real nats-server, mock engine: alerts, counters, control, lease, liveness."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from openlfr.centre.link import CentreLink
from openlfr.edge.worker import Worker, WorkerConfig
from openlfr.pipeline.sources import Frame
from openlfr.services.workers import WorkerService
from openlfr.vision.mock import mock_engine
from tests.unit.api._support import (
    CAMERA,
    MOCK_PIPELINE,
    app_for,
    ready_deployment,
    running_server,
    token,
    wait_for,
    walking_source,
)
from tests.unit.governance._support import World
from tests.unit.pipeline.conftest import ListSource

pytestmark = pytest.mark.nats


# A red far enough inside the mock embedder's colour bucket that the alert's JPEG crop,
# re-embedded (by the worker, re-scored at the centre), lands in the same bucket as the frame.
CLEAR_RED = (0, 0, 245)


def in_world_time(w: World, make: Any) -> Any:
    """Frames stamped by the world's clock: the centre checks each alert's frame time against
    the deployment's window, which here is in the frozen test clock's time, not the wall's."""

    def src() -> Any:
        s = make()
        frames, shift = s.frames, w.clock.now.timestamp() - time.time()

        def restamped() -> Any:
            for f in frames():
                f.t_capture += shift
                yield f

        s.frames = restamped
        return s

    return src


def _worker(w: World, url: str, nats: str, tok: str, **kw: object) -> Worker:
    cfg = WorkerConfig(
        centre=url,
        broker=nats,
        token=tok,
        cameras={CAMERA: in_world_time(w, lambda: walking_source(CLEAR_RED))},
        poll_s=0.3,
        heartbeat_s=0.2,
        counters_every_s=0.2,
        pipeline_config=MOCK_PIPELINE,
        **kw,  # type: ignore[arg-type]
    )
    return Worker(cfg, engine_factory=mock_engine, clock=w.clock)


def test_alert_counters_and_stop_over_the_broker(w: World, nats_server) -> None:  # type: ignore[no-untyped-def]
    app = app_for(w, sources={})
    with running_server(app) as url, httpx.Client(base_url=url) as c:
        link = CentreLink(w.svc, nats_server.url, down_after_s=2.0).start()
        app.state.centre = link
        try:
            admin, op, ao = token(c, "admin"), token(c, "op1"), token(c, "ao1")
            dep = ready_deployment(c, w, CLEAR_RED)
            r = c.post("/api/v1/workers", json={"name": "van-1"}, headers=admin)
            wid, tok = r.json()["id"], r.json()["token"]
            # An administrator registers the worker; only the deployment's officer assigns it.
            assert (
                c.put(f"/api/v1/workers/{wid}/deployments/{dep}", headers=admin).status_code == 403
            )
            assert c.put(f"/api/v1/workers/{wid}/deployments/{dep}", headers=ao).status_code == 200
            (on,) = c.get(f"/api/v1/deployments/{dep}/workers", headers=op).json()
            assert on["assigned_by"] == "ao1" and on["by_officer"]
            r = c.post(f"/api/v1/deployments/{dep}/start", headers=op)
            assert r.status_code == 200 and r.json()["cameras_running"] == []  # not in-process

            wk = _worker(w, url, nats_server.url, tok)
            t = threading.Thread(target=wk.run, daemon=True)
            t.start()
            alerts = wait_for(lambda: c.get(f"/api/v1/deployments/{dep}/alerts", headers=op).json())
            (a,) = alerts
            assert a["camera"] == CAMERA and a["score"] >= a["threshold"]
            ev = c.get(f"/api/v1/alerts/{a['id']}/evidence", headers=op).json()
            assert ev["probe_jpeg_b64"]
            # Every frame of the source is counted at the centre, once.
            wait_for(
                lambda: w.svc.deployments.deployment(dep)["frames_processed"] == 40, timeout=15
            )
            time.sleep(0.5)
            d = w.svc.deployments.deployment(dep)
            assert d["frames_processed"] == 40 and d["faces_processed"] >= 1
            # The console's worker list shows the camera from the heartbeat.
            (info,) = c.get("/api/v1/workers", headers=op).json()
            assert info["up"] and CAMERA in info["status"]["cameras"]

            # Revoked: the worker hears it at once and exits.
            t0 = time.monotonic()
            r = c.post(f"/api/v1/workers/{wid}/revoke", json={"reason": "test"}, headers=admin)
            assert r.status_code == 200
            t.join(10)
            assert not t.is_alive() and wk.exit_reason == "revoked"
            assert time.monotonic() - t0 < 5
        finally:
            link.stop()


class _Looping(ListSource):
    """The walking clip again and again, paced like a camera, until closed."""

    def frames(self):  # type: ignore[no-untyped-def]
        i = 0
        while not self.closed:
            for img in self.images:
                if self.closed:
                    return
                yield Frame(i, img, time.time(), i / 25.0)
                i += 1
                time.sleep(0.01)


def _long_source() -> _Looping:
    return _Looping(walking_source(CLEAR_RED).images, live=True)


def test_stop_control_lease_and_down(w: World, nats_server) -> None:  # type: ignore[no-untyped-def]
    app = app_for(w, sources={})
    with running_server(app) as url, httpx.Client(base_url=url) as c:
        link = CentreLink(w.svc, nats_server.url, down_after_s=2.0).start()
        app.state.centre = link
        try:
            admin, op, ao = token(c, "admin"), token(c, "op1"), token(c, "ao1")
            dep = ready_deployment(c, w, CLEAR_RED)
            r = c.post("/api/v1/workers", json={"name": "van-2"}, headers=admin)
            wid, tok = r.json()["id"], r.json()["token"]
            c.put(f"/api/v1/workers/{wid}/deployments/{dep}", headers=ao)
            c.post(f"/api/v1/deployments/{dep}/start", headers=op)
            cfg_cams = {CAMERA: in_world_time(w, _long_source)}
            wk = _worker(w, url, nats_server.url, tok, lease_s=1.5)
            object.__setattr__(wk.config, "cameras", cfg_cams)
            t = threading.Thread(target=wk.run, daemon=True)
            t.start()
            run = wait_for(lambda: next((r for r in wk.runs.values() if r.frames > 10), None))
            # Cut off from the centre past the lease: the camera stops on its own.
            good = wk.centre.http.base_url
            wk.centre.http.base_url = httpx.URL("http://127.0.0.1:9")
            run.thread.join(8)
            assert not run.running and run.stopped_by == "lease_expired"
            # Back in touch: it runs again.
            wk.centre.http.base_url = good
            run = wait_for(lambda: next((r for r in wk.runs.values() if r.running), None))
            # An entry erased mid-deployment: the worker drops its copy and runs on a fresh one.
            from openlfr.storage import models as m

            with w.svc.ctx.factory() as s, s.begin():
                for e in s.query(m.WatchlistEntry).filter_by(deployment_id=dep):
                    s.delete(e)
            run.thread.join(5)
            assert run.stopped_by == "changed"
            run = wait_for(lambda: next((r for r in wk.runs.values() if r.running), None))
            assert run.assignment.watchlist_version != ""
            # Ending the deployment reaches the camera in under a second.
            t0 = time.monotonic()
            assert c.post(f"/api/v1/deployments/{dep}/end", headers=op).status_code == 200
            run.thread.join(5)
            assert not run.running and run.stopped_by in ("centre_stop", "not_assigned")
            assert time.monotonic() - t0 < 1.5
            wk.shutdown.set()
            t.join(10)
            # Silent worker: marked down once its heartbeats stop (frozen clock: advance it).
            w.clock.advance(seconds=5)
            wait_for(lambda: not WorkerService(w.svc).workers()[0]["up"], timeout=5)
            assert WorkerService(w.svc).workers()[0]["down_since"] is not None
        finally:
            link.stop()


def test_console_workers_page_shows_cameras_and_refuses_other_roles(w: World) -> None:
    from fastapi.testclient import TestClient

    from openlfr.broker.protocol import SigningKey
    from openlfr.services.workers import WorkerIdentity, WorkerService

    ws = WorkerService(w.svc)
    wid, _ = ws.issue(w.admin, "van-9")
    key = SigningKey.generate()
    ws.enrol(WorkerIdentity(wid, "van-9"), key.public)
    beat = {"cameras": {"cam-7": {"deployment_id": "d1", "state": "running", "fps": 24.5,
                                  "frames": 1200, "dropped": 3, "alerts": 1}},
            "at": time.time(), "nonce": "n1"}  # fmt: skip
    assert not ws.heartbeat(wid, {**beat, "sig": "forged"})  # not signed by the worker: ignored
    assert ws.workers()[0]["last_heartbeat"] is None
    assert ws.heartbeat(wid, {**beat, "sig": key.sign(beat)})
    with TestClient(app_for(w, sources={})) as c:
        # op1 is on no deployment this worker serves: it is not theirs to see.
        for user, ok in (("op1", False), ("admin", True), ("dpo", True), ("compiler", False)):
            r = c.post(
                "/api/v1/auth/login", json={"username": user, "password": "correct horse battery"}
            )
            assert r.status_code == 200, r.text
            page = c.get("/workers").text
            assert ("cam-7" in page and "24.5" in page and "van-9" in page) == ok, user
            c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": r.json().get("csrf", "")})
            c.cookies.clear()
