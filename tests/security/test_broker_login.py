"""Issue 19, finding 1: the centre could not log in to an authenticated broker, and the one
login that worked (user:password in the URL) printed the password and showed it in `ps`.

Centre and worker now take the same options (config/broker.py, cli/broker_options.py): TLS CA,
client certificate and key, nkey seed file, credentials file, user with a password from a file
or the environment. The attacker here reads what the processes print and what `ps` shows: the
password is in neither, and a refused login says why in one line, without it.
"""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main

from openlfr.broker.auth import CENTRE_INBOX
from openlfr.broker.client import BrokerClient
from openlfr.cli.broker_options import broker_settings
from openlfr.config.broker import redact
from openlfr.config.settings import get_settings
from openlfr.services.workers import WorkerService
from tests.integration.distributed._support import free_port
from tests.nats_secure import PasswordNats, SecureNats, secure_nats  # noqa: F401
from tests.unit.governance._support import KEY, World

pytestmark = [pytest.mark.nats]
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _options(command: str) -> set[str]:
    from openlfr.cli import serve, worker

    app = typer.Typer()
    serve.register(app)
    worker.register(app)
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    return {o for p in cmd.params for o in p.opts if o.startswith("--broker")}


def test_centre_and_worker_take_the_same_broker_options() -> None:
    serve, worker = _options("serve"), _options("worker")
    assert serve == worker
    assert {"--broker", "--broker-ca", "--broker-cert", "--broker-key", "--broker-nkey-seed",
            "--broker-creds", "--broker-user", "--broker-password-file"} <= serve  # fmt: skip
    # No option takes a secret's value: `ps` would show it.
    assert not {"--broker-password", "--broker-token", "--broker-seed"} & serve


def test_redact_hides_passwords_and_tokens() -> None:
    assert redact("nats://van:s3cret@h:4222") == "nats://van:***@h:4222"
    assert (
        redact("nats://TOKEN@h:4222,tls://a:b@h2:4222") == "nats://***@h:4222,tls://a:***@h2:4222"
    )
    assert redact("tls://h:4222") == "tls://h:4222"


@pytest.fixture
def env_clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for k in list(os.environ):
        if k.startswith("OPENLFR_BROKER"):
            monkeypatch.delenv(k)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_the_environment_alone_logs_in(
    secure_nats: SecureNats,  # noqa: F811
    env_clean: pytest.MonkeyPatch,
) -> None:
    """TLS + nkey from OPENLFR_BROKER__* (what a systemd unit sets), no option given."""
    s = secure_nats.centre
    for k, v in {"URL": s.url, "CA_FILE": s.ca_file, "CERT_FILE": s.cert_file,
                 "KEY_FILE": s.key_file, "NKEY_SEED_FILE": s.nkey_seed_file}.items():  # fmt: skip
        env_clean.setenv(f"OPENLFR_BROKER__{k}", str(v))
    got = broker_settings(*[None] * 8)
    assert got == s
    c = BrokerClient.from_settings(got, name="centre", inbox_prefix=CENTRE_INBOX).start()
    c.close(0)


class Proc:
    """A CLI process whose output (stdout and stderr) a thread collects as it comes."""

    def __init__(self, args: list[str], tmp: Path, **env: str) -> None:
        e = {k: v for k, v in os.environ.items() if not k.startswith("OPENLFR_")}
        e["PYTHONPATH"] = os.pathsep.join([SRC, e.get("PYTHONPATH", "")])
        e.update(env)
        self.p = subprocess.Popen(
            [sys.executable, "-m", "openlfr.cli.main", "-v", *args],
            env=e, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            self.lines.append(line)

    @property
    def out(self) -> str:
        return "".join(self.lines)

    def until(self, needle: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end and needle not in self.out and self.p.poll() is None:
            time.sleep(0.1)
        return self.out

    def stop(self) -> str:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(10)
        self._reader.join(10)
        return self.out


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_the_password_is_never_printed_nor_in_ps(w: World, tmp_path: Path) -> None:
    secret = "pw-" + secrets.token_urlsafe(16)
    srv = PasswordNats(tmp_path / "nats", {"van": secret, "centre": secret + "c"}).start()
    try:
        _, token = WorkerService(w.svc).issue(w.admin, "van-1")
        (tmp_path / "token").write_text(token)
        (tmp_path / "pw").write_text(secret + "\n")
        nowhere = f"http://127.0.0.1:{free_port()}"  # no centre there: the worker must say so
        base = ["worker", "--centre", nowhere, "--token-file", str(tmp_path / "token")]

        # 1. From a file: logs in, says how, and neither its output nor `ps` holds it.
        p = Proc([*base, "--broker", srv.url, "--broker-user", "van",
                  "--broker-password-file", str(tmp_path / "pw")], tmp_path)  # fmt: skip
        p.until("unreachable")
        assert secret not in _cmdline(p.p.pid)
        out = p.stop()
        assert f"broker {srv.url} (no TLS, user van)" in out, out
        assert f"centre {nowhere} unreachable" in out, out  # a wrong --centre is reported
        assert secret not in out

        # 2. From the environment, and wrong: refused in one line that does not repeat it.
        p = Proc([*base, "--broker", srv.url, "--broker-user", "van"], tmp_path,
                 OPENLFR_BROKER__PASSWORD=secret + "-wrong")  # fmt: skip
        p.p.wait(60)
        out = p.stop()
        assert p.p.returncode == 2, out
        assert "broker_refused" in out and "Authorization" in out, out
        assert "Traceback" not in out and secret not in out

        # 3. In the URL: it works, but the start-up line shows it redacted, with a warning
        # that `ps` shows it (it is on the command line: the one place we cannot hide it).
        p = Proc([*base, "--broker", f"nats://van:{secret}@127.0.0.1:{srv.port}"], tmp_path)
        p.until("unreachable")
        out = p.stop()
        assert f"nats://van:***@127.0.0.1:{srv.port} (no TLS, password in URL)" in out, out
        assert "`ps` and shell history show" in out
        assert out.count(secret) == 0, out

        # 4. The centre: the same options, the same discipline.
        (tmp_path / "cpw").write_text(secret + "c")
        port = free_port()
        p = Proc(
            ["serve", "--port", str(port), "--broker", srv.url, "--broker-user", "centre",
             "--broker-password-file", str(tmp_path / "cpw")],
            tmp_path, OPENLFR_DATABASE_URL=w.url,
            OPENLFR_MASTER_KEY=base64.b64encode(KEY).decode(),
            OPENLFR_DATA_DIR=str(tmp_path / "data"),
        )  # fmt: skip
        p.until("OpenLFR on")
        assert secret not in _cmdline(p.p.pid)
        out = p.stop()
        assert f"consuming alerts and counters from {srv.url} (no TLS, user centre)" in out, out
        assert secret not in out
    finally:
        srv.kill()
