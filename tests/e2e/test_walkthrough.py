"""docs/deployment.md, run as written: its ```bash walkthrough blocks, in order, in one shell,
from an empty folder to a first alert (PostgreSQL, nats-server, centre, worker, real models,
the walkers video as the rehearsal camera and a face from it as the volunteer's photo).

Only the variables of step 1 are set (a scratch SITE, a fresh database name, free ports, the
video and photo); everything else is the page's own text. Afterwards no log line carries a
password, the worker token, an image or a template (issue 21: logs say what happens, never
who or with what secret)."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.distributed._support import free_port
from tests.nats_server import nats_binary

DOC = ROOT / "docs" / "deployment.md"
BLOCK = re.compile(r"```bash walkthrough\n(.*?)```", re.S)


def walkthrough_script() -> str:
    blocks = BLOCK.findall(DOC.read_text())
    assert len(blocks) >= 10, "docs/deployment.md lost its walkthrough blocks"
    return "set -euo pipefail\n" + "\n".join(blocks)


def test_the_page_has_the_steps_the_issue_names() -> None:
    script = walkthrough_script()
    for step in ("openlfr db upgrade", "nats-server -c", "openlfr user add admin",
                 "openlfr deployment authorise", "openlfr watchlist sign-off",
                 "openlfr workers issue", "openlfr workers assign", " worker ",
                 "openlfr alert list"):  # fmt: skip
        assert step in script, step


def _postgres_or_skip() -> None:
    import psycopg

    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
    except psycopg.OperationalError:
        if os.environ.get("OPENLFR_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL not answering at 127.0.0.1:5432", pytrace=False)
        pytest.skip("PostgreSQL not answering at 127.0.0.1:5432")


@pytest.mark.data
@pytest.mark.postgres
@pytest.mark.nats
@pytest.mark.slow
def test_walkthrough_reaches_a_first_alert(tmp_path: Path, video_path: Path, sface_engine) -> None:  # type: ignore[no-untyped-def]
    import cv2

    from openlfr.eval.calibration import shipped_report_path
    from tests.integration.pipeline.conftest import video_frame

    if not shipped_report_path().is_file():
        pytest.skip(f"this build ships no evaluation report at {shipped_report_path()}")
    _postgres_or_skip()
    nats_binary()
    found = sface_engine.best_face_crop(video_frame(video_path, 12))
    assert found is not None
    photo = tmp_path / "volunteer.jpg"
    cv2.imwrite(str(photo), found[1])
    site, db = tmp_path / "site", f"openlfr_walk_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLFR_")}
    password = f"walkthrough-{uuid.uuid4().hex}"  # the page's own default is random
    env.update(
        OPENLFR_NEW_PASSWORD=password,
        SITE=str(site), DB_NAME=db, DB_USER="postgres", DB_ADMIN="postgres",
        CENTRE_PORT=str(free_port()), NATS_PORT=str(free_port()),
        DEPLOY=str(ROOT / "deploy"), VIDEO=str(video_path), PHOTO=str(photo),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )  # fmt: skip
    log = tmp_path / "walkthrough.log"
    proc = subprocess.Popen(
        ["bash", "-c", walkthrough_script()], env=env, cwd=ROOT,
        stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        rc = proc.wait(480)
    except subprocess.TimeoutExpired:
        rc = None
    finally:
        pids = site / "var/lib/openlfr/rehearsal.pids"
        for pid in pids.read_text().split() if pids.exists() else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGTERM)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        _drop(db)
    out = log.read_text()
    assert rc == 0, out[-6000:]
    alerts = json.loads(out[out.rindex("\n[") + 1 : out.rindex("]") + 1])
    assert alerts and alerts[0]["camera"] == "cam-1"
    assert "recommendation: the model's evidence is the supplier's" in out

    logs = {p.name: p.read_text() for p in (site / "var/lib/openlfr").glob("*.log")}
    assert "camera cam-1 started" in logs["worker.log"]
    assert "watchlist fetched" in logs["worker.log"]
    assert re.search(r"alert \w+ sealed and queued deployment=\w+ camera=cam-1", logs["worker.log"])
    assert re.search(r"alert \w+ raised deployment=\w+ camera=cam-1", logs["centre.log"])
    token = (site / "etc/openlfr/worker.token").read_text().strip()
    with open(photo, "rb") as f:
        photo_b64 = base64.b64encode(f.read()[:48]).decode()
    for name, text in logs.items():
        for secret in (token, password, photo_b64, "/9j/", "data:image"):
            assert secret not in text, f"{secret[:8]}... in {name}"
        # An embedding printed as numbers would be a long run of floats.
        assert not re.search(r"(-?\d\.\d{4,}[, ]+){16}", text), f"a vector in {name}"


def _drop(db: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
