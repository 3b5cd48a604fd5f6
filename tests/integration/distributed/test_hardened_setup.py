"""docs/deployment.md's hardened setup, step by step, from process start.

1. The operator makes a CA, the broker's certificate, a certificate and an nkey per client,
   and starts nats-server on docs/nats-server.conf (tests/nats_secure.py does exactly that).
2. The centre starts: `openlfr serve --broker tls://... --broker-ca --broker-cert
   --broker-key --broker-nkey-seed` (no secret on its command line).
3. An administrator registers a worker and the deployment's authorising officer assigns it over
   HTTPS (`POST /api/v1/workers`, `PUT /api/v1/workers/W/deployments/D`); the operator adds its
   block to the broker's config and reloads; the token goes in a mode-600 file.
4. `openlfr worker` starts with the same broker options and a camera: alerts are recorded end
   to end and reviewed.
5. The broker stops for longer than a worker may be silent and comes back: the audit log has a
   broker gap, no worker down, and the worker carries on.
"""

from __future__ import annotations

import json
import signal
import threading
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from openlfr.vision.engine import FaceEngine, default_threshold
from tests.integration.distributed._support import (
    Centre,
    fields_now,
    go_live,
    real_time_world,
    start_worker,
    wait_until,
)
from tests.integration.distributed.test_centre_workers import _mated_jpeg, _photos
from tests.nats_secure import SecureNats
from tests.unit.governance._support import PASSWORD, approval_for, approve_model

pytestmark = [pytest.mark.data, pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow]


def _audit(w: Any, action: str) -> list[dict[str, Any]]:
    with w.svc.ctx.factory() as s:
        rows = s.execute(
            text("select after_json from audit_log where action = :a"), {"a": action}
        ).scalars()
        return [json.loads(r or "{}") for r in rows]


def test_hardened_setup_step_by_step(
    pg_url: str,
    nats_server: SecureNats,
    tmp_path: Path,
    lfw_dir: Path,
    video_path: Path,
    sface_engine: FaceEngine,
) -> None:
    # 1. The broker, from the documented config (mutual TLS, nkey users, least privilege).
    nats = nats_server
    assert nats.url.startswith("tls://")

    # A live deployment on camera "gate", its watchlist holding someone the clip shows.
    w = real_time_world(pg_url)
    svc, contract = w.svc, sface_engine.contract
    threshold = default_threshold(contract)
    approve_model(w, approval_for(contract, floor=threshold - 0.05))
    dep = svc.deployments.create_deployment(
        w.ao1, "Gate",
        **fields_now(w, model_contract_id=contract.id, threshold=threshold, cameras=["gate"],
                     expected_faces=5000),
    )  # fmt: skip
    svc.deployments.authorise(w.ao1, dep)
    common = dict(
        legal_basis="warrant", source_system="PND", image_captured_on=date(2025, 1, 1),
        reason="wanted on warrant", category="wanted_by_courts_or_police",
    )  # fmt: skip
    photos = _photos(lfw_dir, sface_engine, 2)
    for name, jpg in [*photos, ("MISPER-1", _mated_jpeg(video_path, sface_engine))]:
        svc.watchlists.add_entry_from_photo(
            w.compiler, dep, sface_engine, jpg, subject_ref=name, **common
        )
    svc.watchlists.sign_off(w.ao2, dep)
    go_live(w, dep)

    # 2. The centre, logged in to the broker with its certificate and nkey.
    centre = Centre(pg_url, nats, tmp_path / "centre").start()
    worker = None
    try:
        assert centre.proc is not None
        cmdline = Path(f"/proc/{centre.proc.pid}/cmdline").read_bytes()
        seed = nats.clients["centre"][1].read_bytes().strip()
        assert seed not in cmdline  # a path to the seed, never the seed
        with httpx.Client(base_url=centre.url, timeout=10) as c:
            r = httpx.get(centre.url + "/readyz", timeout=5)
            assert r.status_code == 200, r.text

            # 3. Register and assign the worker as the docs show; the broker learns of it.
            def bearer(user: str) -> dict[str, str]:
                t = c.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
                return {"Authorization": f"Bearer {t.json()['access_token']}"}

            admin = bearer("admin")
            made = c.post("/api/v1/workers", json={"name": "gate-1"}, headers=admin)
            assert made.status_code in (200, 201), made.text
            wid, token = made.json()["id"], made.json()["token"]
            # Only the deployment's authorising officer may route a worker to it.
            r = c.put(f"/api/v1/workers/{wid}/deployments/{dep}", headers=admin)
            assert r.status_code == 403, r.text
            r = c.put(f"/api/v1/workers/{wid}/deployments/{dep}", headers=bearer("ao1"))
            assert r.status_code == 200, r.text
            nats.add_worker(wid)  # its block in nats-server.conf, then a reload
            token_file = tmp_path / "worker.token"
            token_file.write_text(token)
            token_file.chmod(0o600)

            # 4. The worker, with the same broker options: alerts arrive and are reviewed.
            worker = start_worker(
                centre.url, nats, "", {"gate": str(video_path)}, tmp_path / "w",
                "--no-realtime", "--token-file", str(token_file), worker_id=wid,
            )  # fmt: skip
            op = bearer("op1")

            def alerts() -> list[dict[str, Any]]:
                return list(c.get(f"/api/v1/deployments/{dep}/alerts", headers=op).json())

            got = wait_until(alerts, 300, 1.0, "an alert through the authenticated broker")
            r = c.post(
                f"/api/v1/alerts/{got[0]['id']}/review",
                json={"decision": "confirm", "reason": "same face and clothing"},
                headers=op,
            )
            assert r.status_code == 200, r.text
            log = (tmp_path / "w" / "worker.log").read_text()
            assert f"broker {nats.url} (mutual TLS, nkey)" in log, log
            assert token not in log and "refused" not in log, log

            # 5. The broker away for longer than a worker may be silent: a gap, not a death.
            nats.kill()
            threading.Event().wait(8.0)
            assert httpx.get(centre.url + "/readyz", timeout=5).status_code == 503
            nats.start()
            wait_until(lambda: httpx.get(centre.url + "/readyz", timeout=5).status_code == 200, 60)
            threading.Event().wait(7.0)
            assert worker.poll() is None
            assert _audit(w, "worker.down") == []
            (gap,) = _audit(w, "broker.gap")
            assert gap["seconds"] >= 5
            ws_ = {x["id"]: x for x in c.get("/api/v1/workers", headers=admin).json()}
            assert ws_[wid]["up"], ws_[wid]
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        centre.kill(signal.SIGTERM)
