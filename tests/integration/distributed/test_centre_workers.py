"""Acceptance: one centre, two worker processes, three cameras (RTSP + files), two deployments,
real models, real PostgreSQL, real NATS JetStream.

Alerts arrive and are reviewed; each deployment's record counts every frame and face its
workers processed; a worker cut off from the centre past its lease stops its camera; ending a
deployment stops its cameras; a SIGKILLed worker is marked down within 10 s with its cameras'
gap reported; and nothing the broker stored or the workers wrote holds a face, a crop or a
template in clear.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import time
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import text

from openlfr.broker.auth import CENTRE_INBOX
from openlfr.broker.client import BrokerClient
from openlfr.broker.subjects import HEARTBEAT_PREFIX
from openlfr.config.broker import BrokerSettings
from openlfr.errors import FaceError
from openlfr.services.workers import WorkerService
from openlfr.vision.engine import FaceEngine, default_threshold
from tests.integration.distributed._support import (
    Centre,
    fields_now,
    go_live,
    real_time_world,
    start_worker,
    wait_until,
)
from tests.integration.pipeline.conftest import video_frame
from tests.integration.pipeline.test_rtsp import _free_port, _start_server, rtsp_ok  # noqa: F401
from tests.unit.governance._support import PASSWORD, World, approval_for, approve_model

pytestmark = [
    pytest.mark.data,
    pytest.mark.postgres,
    pytest.mark.rtsp,
    pytest.mark.nats,
    pytest.mark.slow,
]
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"/9j/", b"iVBOR")


def _photos(lfw_dir: Path, engine: FaceEngine, n: int = 4) -> list[tuple[str, bytes]]:
    out = []
    for person in sorted((lfw_dir / "images").iterdir()):
        if len(out) >= n:
            break
        photo = min(person.glob("*.jpg"), default=None)
        if photo is None:
            continue
        try:
            engine.face_from_file(photo, select="strict")
        except FaceError:
            continue
        out.append((person.name, photo.read_bytes()))
    return out


def _mated_jpeg(video: Path, engine: FaceEngine) -> bytes:
    found = engine.best_face_crop(video_frame(video, 12))
    assert found is not None
    ok, buf = cv2.imencode(".jpg", found[1], [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    return bytes(buf.tobytes())


def _non_match_needles(video: Path, engine: FaceEngine) -> list[bytes]:
    """Chips and embeddings of faces in the clip, computed here the way a worker does."""
    out: list[bytes] = []
    for idx in (30, 60, 90):
        img = video_frame(video, idx)
        dets = engine.detect(img)
        chips = engine.align(img, dets)
        for c, v in zip(chips, engine.embed_chips(chips) if chips else [], strict=False):
            out.append(np.ascontiguousarray(v, np.float32).tobytes()[:48])
            row = np.ascontiguousarray(c[c.shape[0] // 2]).tobytes()
            out += [row[:96], base64.b64encode(row[:96])]
    return out


class Beats:
    """The test listens to heartbeats on the broker too (what the centre sees)."""

    def __init__(self, settings: BrokerSettings) -> None:
        self.latest: dict[str, dict[str, Any]] = {}
        self.client = BrokerClient.from_settings(
            settings, name="test-beats", inbox_prefix=CENTRE_INBOX
        ).start(stream=False)
        self.client.subscribe(f"{HEARTBEAT_PREFIX}.*", self._on)

    def _on(self, data: bytes) -> None:
        d = json.loads(data)
        self.latest[d["worker_id"]] = d

    def camera(self, worker: str, cam: str) -> dict[str, Any]:
        return self.latest.get(worker, {}).get("cameras", {}).get(cam, {})


def test_centre_two_workers_three_cameras_two_deployments(
    rtsp_ok: None,  # noqa: F811
    pg_url: str,
    nats_server,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    lfw_dir: Path,
    video_path: Path,
    sface_engine: FaceEngine,
) -> None:
    w = real_time_world(pg_url)
    svc, contract = w.svc, sface_engine.contract
    threshold = default_threshold(contract)
    approve_model(w, approval_for(contract, floor=threshold - 0.05))
    photos, mated = _photos(lfw_dir, sface_engine), _mated_jpeg(video_path, sface_engine)
    common = dict(
        legal_basis="warrant", source_system="PND", image_captured_on=date(2025, 1, 1),
        reason="wanted on warrant", category="wanted_by_courts_or_police",
    )  # fmt: skip
    deps: dict[str, str] = {}
    for name, cams in (("A", ["a-rtsp", "a-file"]), ("B", ["b-file"])):
        dep = svc.deployments.create_deployment(
            w.ao1,
            name,
            **fields_now(w, model_contract_id=contract.id, threshold=threshold, cameras=cams,
                         expected_faces=5000),
        )  # fmt: skip
        svc.deployments.authorise(w.ao1, dep)
        for pname, jpg in [*photos, ("MISPER-1", mated)]:
            svc.watchlists.add_entry_from_photo(
                w.compiler, dep, sface_engine, jpg, subject_ref=pname, **common
            )
        svc.watchlists.sign_off(w.ao2, dep)
        deps[name] = dep
    for dep in deps.values():
        go_live(w, dep)
    templates = [svc.watchlists.load_watchlist(d).vectors for d in deps.values()]

    ws = WorkerService(svc)
    w1, tok1 = ws.issue(w.admin, "van-1")
    w2, tok2 = ws.issue(w.admin, "van-2")
    ws.assign(w.ao1, w1, deps["A"])  # by the deployments' officer (an administrator cannot)
    ws.assign(w.ao1, w1, deps["B"])
    ws.assign(w.ao1, w2, deps["A"])

    rtsp_port = _free_port()
    rtsp = _start_server(video_path, rtsp_port)
    centre = Centre(pg_url, nats_server, tmp_path / "centre").start()
    beats = Beats(nats_server.centre)  # the centre's credentials: it may hear heartbeats
    wdirs = [tmp_path / "w1", tmp_path / "w2"]
    # A lease well above one slow answer (5 s timeout) on a loaded machine.
    args = ("--no-realtime", "--lease-s", "8", "--poll-s", "0.5")
    p1 = start_worker(
        centre.url, nats_server, tok1,
        {"a-rtsp": f"rtsp://127.0.0.1:{rtsp_port}/walkers", "b-file": str(video_path)},
        wdirs[0], *args,
    )  # fmt: skip
    p2 = start_worker(centre.url, nats_server, tok2, {"a-file": str(video_path)}, wdirs[1], *args)
    procs = [p1, p2]
    try:
        with httpx.Client(base_url=centre.url, timeout=10) as c:
            tok = c.post("/api/v1/auth/token", json={"username": "op1", "password": PASSWORD})
            op = {"Authorization": f"Bearer {tok.json()['access_token']}"}

            def alerts(dep: str) -> list[dict[str, Any]]:
                return list(c.get(f"/api/v1/deployments/{dep}/alerts", headers=op).json())

            # Alerts from all three cameras, from both workers.
            wait_until(
                lambda: {a["camera"] for a in alerts(deps["A"])} >= {"a-rtsp", "a-file"}
                and alerts(deps["B"]),
                300, 1.0, "alerts from every camera",
            )  # fmt: skip
            recorded = alerts(deps["A"]) + alerts(deps["B"])
            _print_rescoring(w)
            evidence = []
            for a in recorded:
                ev = c.get(f"/api/v1/alerts/{a['id']}/evidence", headers=op).json()
                evidence.append(base64.b64decode(ev["probe_jpeg_b64"]))
                r = c.post(
                    f"/api/v1/alerts/{a['id']}/review",
                    json={"decision": "confirm", "reason": "same face and clothing"},
                    headers=op,
                )
                assert r.status_code == 200, r.text
            assert all(a["status"] == "confirmed" for a in alerts(deps["A"]) + alerts(deps["B"]))

            # The file cameras run to their end (every frame: not paced, nothing dropped).
            wait_until(
                lambda: beats.camera(w2, "a-file").get("stopped_by") == "end_of_source"
                and beats.camera(w1, "b-file").get("stopped_by") == "end_of_source",
                300, 1.0, "file cameras to finish",
            )  # fmt: skip
            # Cut off from the centre past its lease: the RTSP camera stops on its own.
            wait_until(lambda: beats.camera(w1, "a-rtsp").get("state") == "running", 60)
            centre.signal(signal.SIGSTOP)
            try:
                wait_until(
                    lambda: beats.camera(w1, "a-rtsp").get("stopped_by") == "lease_expired",
                    30, what="lease expiry",
                )  # fmt: skip
                # The centre consumes nothing now: what was published waits in the store.
                shutil.copytree(nats_server.store, tmp_path / "store-while-centre-away")
            finally:
                centre.signal(signal.SIGCONT)
            wait_until(lambda: beats.camera(w1, "a-rtsp").get("state") == "running", 60)

            # End A: its RTSP camera stops.
            t_end = time.monotonic()
            r = c.post(f"/api/v1/deployments/{deps['A']}/end", headers=op)
            assert r.status_code == 200, r.text
            wait_until(
                lambda: beats.camera(w1, "a-rtsp").get("state") == "stopped", 10, 0.05, "stop"
            )
            stop_s = time.monotonic() - t_end

            # Every frame and face from both workers is in the deployment records.
            def runs(dep: str) -> list[dict[str, Any]]:
                with svc.ctx.factory() as s:
                    rows = s.execute(
                        text("select after_json from audit_log where action = 'deployment.run' "
                             "and subject = :s"), {"s": f"deployment:{dep}"},
                    ).scalars()  # fmt: skip
                    return [json.loads(x) for x in rows]

            def flushed(wid: str) -> bool:
                b = beats.latest.get(wid, {})
                cams = b.get("cameras", {}).values()
                return b.get("outbox") == 0 and all(c["state"] == "stopped" for c in cams)

            # Both workers idle with nothing left to send; then the centre has it all.
            wait_until(lambda: flushed(w1) and flushed(w2), 60, what="workers flushed")

            def counted() -> bool:
                return all(
                    svc.deployments.deployment(d)["frames_processed"]
                    == sum(r["frames"] for r in runs(d))
                    for d in deps.values()
                )

            wait_until(counted, 30, what="counts ingested")
            time.sleep(1.5)
            for name, dep in deps.items():
                rs, d = runs(dep), svc.deployments.deployment(dep)
                assert d["frames_processed"] == sum(r["frames"] for r in rs), name
                assert d["faces_processed"] == sum(r["face_tracks"] for r in rs), name
            assert {r["worker"] for r in runs(deps["A"])} == {w1, w2}
            # A file camera, not paced, drops nothing: every one of the clip's 105 frames.
            assert any(
                r["stopped_by"] == "end_of_source" and r["frames"] == 105 for r in runs(deps["B"])
            ), runs(deps["B"])
            assert svc.deployments.deployment(deps["B"])["faces_processed"] > 0

            # A worker SIGKILLed: the centre marks it down within 10 s, its cameras listed.
            adm = c.post("/api/v1/auth/token", json={"username": "admin", "password": PASSWORD})
            admin = {"Authorization": f"Bearer {adm.json()['access_token']}"}
            p1.send_signal(signal.SIGKILL)
            p1.wait(10)
            t_kill = time.monotonic()

            def down() -> bool:
                ws_ = {x["id"]: x for x in c.get("/api/v1/workers", headers=admin).json()}
                return not ws_[w1]["up"] and ws_[w1]["down_since"] is not None

            wait_until(down, 15, 0.2, "worker marked down")
            down_s = time.monotonic() - t_kill
            assert down_s < 10.0, down_s
            with svc.ctx.factory() as s:
                *_, gap = s.execute(
                    text("select after_json from audit_log where action = 'worker.down' "
                         "and subject = :s"), {"s": f"worker:{w1}"},
                ).scalars().all()  # fmt: skip
            assert {"a-rtsp", "b-file"} <= set(json.loads(gap)["cameras"])
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(30)
            except Exception:
                p.kill()
        beats.client.close()
        centre.kill(signal.SIGTERM)
        rtsp.kill()
        rtsp.wait()
    print(f"stop after end: {stop_s:.2f} s; marked down after SIGKILL: {down_s:.1f} s")
    assert stop_s < 3.0  # heartbeat granularity is 1 s; the control message itself is < 1 s

    # Nothing in clear in the JetStream store or anything the workers wrote.
    needles = [*evidence[:4], *(e[200:264] for e in evidence)]
    for t in templates:
        needles += [np.ascontiguousarray(v, np.float32).tobytes()[:48] for v in t]
    needles += _non_match_needles(video_path, sface_engine)
    stores = (nats_server.store, tmp_path / "store-while-centre-away")
    files = [p for d in (*stores, *wdirs) for p in d.rglob("*") if p.is_file()]
    held = sum(p.stat().st_size for p in stores[1].rglob("*.blk"))
    assert held > 0, "nothing was waiting in the store while the centre was away"
    for p in files:
        raw = p.read_bytes()
        for m in IMAGE_MAGIC:
            assert m not in raw, f"image bytes in clear in {p}"
        for n in needles:
            assert n not in raw, f"biometric bytes in {p}"


def _print_rescoring(w: World) -> None:
    """The worker's score against the centre's re-computation from the crop (for the record of
    the tolerance in governance/alerts.py; shown with -s)."""
    from sqlalchemy import select

    from openlfr.storage import models as m

    with w.svc.ctx.factory() as s:
        for score, ref in s.execute(select(m.Alert.score, m.Alert.source_ref)):
            again = float(str(ref).rsplit("re-scored ", 1)[1].split()[0])
            print(f"rescore claimed={score:.4f} centre={again:.4f} diff={again - score:+.4f}")
