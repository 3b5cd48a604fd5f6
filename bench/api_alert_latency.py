"""How long from a frame's capture to its alert reaching a console over SSE.

Runs the demo's world (real YuNet + SFace engine, the synthetic astronaut scene paced in real
time at 10 fps, one crossing every `--period` seconds) behind a real uvicorn server, listens to
/api/v1/events as the operator, and reports capture -> SSE-received latency per alert (the
requirement: within 2 s). Usage: python bench/api_alert_latency.py [--alerts 5] [--period 6]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.unit.api._support import running_server  # noqa: E402

from openlfr.api import create_app  # noqa: E402
from openlfr.api.demo import CAMERA, AstronautScene, prepare  # noqa: E402
from openlfr.api.server import bootstrap  # noqa: E402
from openlfr.config.settings import Settings  # noqa: E402
from openlfr.pipeline import PipelineConfig  # noqa: E402
from openlfr.vision.engine import build_engine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=5)
    ap.add_argument("--period", type=float, default=6.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        b = bootstrap(Settings(data_dir=Path(tmp), database_url=None))
        assert b.admin_password
        world = prepare(b.service, b.admin_password, build_engine())
        app = create_app(
            b.service,
            engine_factory=build_engine,
            sources={CAMERA: lambda: AstronautScene(period_s=args.period, visible_s=4.0)},
            # Every crossing alerts (the demo keeps the 30 s per-subject cooldown).
            pipeline_config=PipelineConfig(cooldown_s=0.0),
            retention=False,
        )
        with running_server(app) as base, httpx.Client(base_url=base, timeout=60) as c:
            r = c.post(
                "/api/v1/auth/token",
                json={"username": "operator", "password": world.passwords["operator"]},
            )
            h = {"Authorization": f"Bearer {r.json()['access_token']}"}
            lat: list[float] = []
            done = threading.Event()

            def listen() -> None:
                with c.stream("GET", "/api/v1/events", headers=h) as resp:
                    for line in resp.iter_lines():
                        if line.startswith("data: ") and '"detected_at"' in line:
                            a = json.loads(line[6:])
                            t = datetime.fromisoformat(a["detected_at"]).timestamp()
                            lat.append(time.time() - t)
                            print(
                                f"alert {a['id'][:8]} score {a['score']:.3f} "
                                f"capture->console {lat[-1] * 1000:.0f} ms",
                                flush=True,
                            )
                            if len(lat) >= args.alerts:
                                done.set()
                                return

            threading.Thread(target=listen, daemon=True).start()
            time.sleep(1.0)
            c.post(f"/api/v1/deployments/{world.deployment_id}/start", headers=h)
            done.wait(args.alerts * args.period + 60)
            c.post(f"/api/v1/deployments/{world.deployment_id}/end", headers=h)
    if lat:
        print(
            f"n={len(lat)} median {statistics.median(lat) * 1000:.0f} ms, "
            f"max {max(lat) * 1000:.0f} ms (SSE poll interval 500 ms)"
        )


if __name__ == "__main__":
    main()
