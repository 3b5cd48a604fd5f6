"""A centre (`openlfr serve --broker`) as a real process on PostgreSQL, workers as processes,
and a world whose clock is the real one (the centre's clock is the wall clock)."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.nats_secure import SecureNats
from tests.unit.governance._support import KEY, World, full_fields, make_world

Broker = SecureNats | str  # an authenticated TLS broker (the docs' setup), or a bare URL


def broker_args(broker: Broker, client: str) -> list[str]:
    """The command-line options that client (`centre` or a worker id) connects with."""
    return ["--broker", broker] if isinstance(broker, str) else broker.cli_args(client)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def real_time_world(url: str) -> World:
    w = make_world(url)
    w.clock.now = datetime.now(UTC) - timedelta(hours=1)
    return w


def fields_now(w: World, **over: Any) -> dict[str, Any]:
    """A complete draft whose window (from the world's clock) is open an hour from now."""
    base = w.clock.now
    return full_fields(
        starts_at=base + timedelta(minutes=59),
        ends_at=base + timedelta(hours=9),
        public_notice_at=base - timedelta(days=2),
        **over,
    )


def go_live(w: World, dep: str) -> None:
    """Into the window (the world's clock catches up with the wall clock) and start."""
    w.clock.now = datetime.now(UTC)
    w.svc.deployments.start(w.op1, dep)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[3] / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


class Centre:
    def __init__(
        self, db_url: str, broker: Broker, workdir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.db_url, self.broker, self.workdir = db_url, broker, workdir
        self.env = env or {}
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Centre:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        log = (self.workdir / f"centre-{self.starts}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openlfr.cli.main",
                "serve",
                "--port",
                str(self.port),
                *broker_args(self.broker, "centre"),
            ],
            env=_env(
                OPENLFR_DATABASE_URL=self.db_url,
                OPENLFR_MASTER_KEY=base64.b64encode(KEY).decode(),
                OPENLFR_DATA_DIR=str(self.workdir / "data"),
                **self.env,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"centre exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("centre did not start")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(20)
        self.proc = None

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)


def start_worker(
    centre: str,
    broker: Broker,
    token: str,
    cameras: dict[str, str],
    workdir: Path,
    *args: str,
    worker_id: str | None = None,
) -> subprocess.Popen[bytes]:
    """`openlfr worker` as a process; on a SecureNats, with its own block in the broker's
    config and its own certificate and nkey (what docs/deployment.md has an operator do)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if not isinstance(broker, str):
        from openlfr.broker.protocol import parse_token

        wid = worker_id or parse_token(token)[0]
        broker.add_worker(wid)
    else:
        wid = worker_id or ""
    cmd = [sys.executable, "-m", "openlfr.cli.main", "-v", "worker", "--centre", centre,
           *broker_args(broker, wid), "--key-file", str(workdir / "worker.key"), *args]  # fmt: skip
    for cam, src in cameras.items():
        cmd += ["--camera", f"{cam}={src}"]
    return subprocess.Popen(
        cmd,
        env=_env(OPENLFR_WORKER_TOKEN=token),
        stdout=(workdir / "worker.log").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )


def wait_until(fn: Any, timeout: float, every: float = 0.2, what: str = "condition") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def generator_target(w: World, name: str = "Generator") -> Any:
    """A live deployment on camera cam-1 with a worker assigned, as the synthetic alert
    generator needs it (`edge.synthetic.Target`): for the fault tests and bench/scale.py."""
    from openlfr.broker.protocol import SigningKey
    from openlfr.edge.synthetic import Target
    from openlfr.services.workers import WorkerIdentity, WorkerService
    from openlfr.vision.mock import MOCK_CONTRACT
    from tests.unit.governance._support import add_entries, approval_for, approve_model

    approve_model(w, approval_for(MOCK_CONTRACT))
    dep = w.svc.deployments.create_deployment(w.ao1, name, **fields_now(w, cameras=["cam-1"]))
    w.svc.deployments.authorise(w.ao1, dep)
    entries = add_entries(w, dep)
    w.svc.watchlists.sign_off(w.ao2, dep)
    go_live(w, dep)
    ws = WorkerService(w.svc)
    wid, _ = ws.issue(w.admin, "gen")
    signing = SigningKey.generate()
    ws.enrol(WorkerIdentity(wid, "gen"), signing.public)
    ws.assign(w.ao1, wid, dep)
    (a,) = ws.assignments(WorkerIdentity(wid, "gen"))
    key = bytes.fromhex(a["alert_public_key"])
    wl = w.svc.watchlists.load_watchlist(dep)
    probes = tuple(wl.vectors[wl.entry_ids.index(e)] for e in entries)  # each entry's own face
    return Target(
        wid,
        dep,
        key,
        "cam-1",
        tuple(entries),
        MOCK_CONTRACT.id,
        0.5,
        signing,
        probes,
        MOCK_CONTRACT,
    )
