"""A throw-away nats-server with JetStream for tests: own port, own store dir, killable.

The machine's shared server (127.0.0.1:4222) is left alone so tests can kill and restart theirs.
Skips when nats-server is absent, and fails under OPENLFR_REQUIRE_NATS=1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_binary() -> str:
    exe = shutil.which("nats-server") or (
        "/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists() else None
    )
    if exe is None:
        why = "nats-server not installed (apt-get install nats-server)"
        if os.environ.get("OPENLFR_REQUIRE_NATS") == "1":
            pytest.fail(why + "; OPENLFR_REQUIRE_NATS=1 makes this a failure", pytrace=False)
        pytest.skip(why)
    return exe


class NatsServer:
    def __init__(self, store: Path) -> None:
        self.exe = nats_binary()
        self.store = store
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        self.store.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.exe, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_listening()
        return self

    def _wait_listening(self, log: Path | None = None) -> None:
        """Until the port answers; with `log`, a server that exits says why (its config)."""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if log is not None and self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError("nats-server refused its config:\n" + log.read_text()[-2000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 1.0) -> None:
        self.kill()
        time.sleep(down_s)
        self.start()


@pytest.fixture
def nats_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    srv = NatsServer(tmp_path / "jetstream").start()
    try:
        yield srv
    finally:
        srv.kill(signal.SIGTERM)
