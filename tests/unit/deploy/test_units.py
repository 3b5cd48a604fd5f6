"""deploy/: the systemd units are valid and hardened (systemd-analyze verify where it exists,
a parser everywhere), and the processes start with exactly the arguments the units give
(ExecStart read from the unit; only the /etc/openlfr and /opt/openlfr prefixes are moved into
a temporary directory), reading the example configuration files shipped beside them."""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.nats_server import nats_server  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
UNITS = ("openlfr-centre.service", "openlfr-worker.service")
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "User": "openlfr",
    "Restart": "on-failure",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
}


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """systemd's syntax as far as these units use it: sections, Key=Value, repeated keys."""
    out: dict[str, dict[str, list[str]]] = {}
    section = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = out.setdefault(line[1:-1], {})
            continue
        assert section is not None and "=" in line, f"{path.name}: not a unit line: {raw!r}"
        key, value = line.split("=", 1)
        section.setdefault(key.strip(), []).append(value.strip())
    return out


def openlfr_exe() -> str:
    exe = Path(sys.executable).parent / "openlfr"
    return str(exe) if exe.exists() else shutil.which("openlfr") or "openlfr"


def moved(argv: list[str], root: Path) -> list[str]:
    """The unit's argv with the install prefixes moved under `root` and the real executable."""
    out = [openlfr_exe()]
    for a in argv[1:]:
        out.append(a.replace("/etc/openlfr/", f"{root}/etc/openlfr/"))
    return out


@pytest.mark.parametrize("name", UNITS)
def test_units_are_hardened(name: str) -> None:
    unit = parse_unit(DEPLOY / name)
    svc = unit["Service"]
    for key, want in HARDENING.items():
        assert svc.get(key) == [want], f"{name}: {key}"
    argv = shlex.split(svc["ExecStart"][0])
    assert argv[0] == "/opt/openlfr/bin/openlfr" and argv[1] == "--config"
    assert argv[2].startswith("/etc/openlfr/") and (DEPLOY / Path(argv[2]).name).is_file()
    assert svc["ReadWritePaths"] == ["/var/lib/openlfr"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
@pytest.mark.parametrize("name", UNITS)
def test_systemd_analyze_verify(name: str, tmp_path: Path) -> None:
    # verify checks that the executable exists: point it at this installation's.
    text = (DEPLOY / name).read_text().replace("/opt/openlfr/bin/openlfr", openlfr_exe())
    (tmp_path / name).write_text(text)
    r = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / name)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0 and r.stderr.strip() == "", r.stderr


def _install_configs(root: Path, **subst: str) -> None:
    etc = root / "etc" / "openlfr"
    etc.mkdir(parents=True)
    for name in ("centre.toml", "worker.toml"):
        text = (DEPLOY / name).read_text()
        text = text.replace("/etc/openlfr/", f"{etc}/").replace("/var/lib/openlfr", f"{root}/data")
        for old, new in subst.items():
            text = text.replace(old, new)
        (etc / name).write_text(text)
    (etc / "metrics.token").write_text("scrape-token\n")


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENLFR_")}
    env.update(extra)
    return env


@pytest.mark.nats
def test_processes_start_with_the_units_arguments(tmp_path: Path, nats_server) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from tests.integration.distributed._support import free_port

    port = free_port()
    _install_configs(
        tmp_path,
        **{"port = 8000": f"port = {port}", "nats://127.0.0.1:4222": nats_server.url,
           "nats://lfr.example.org:4222": nats_server.url,
           "https://lfr.example.org": f"http://127.0.0.1:{port}"},
    )  # fmt: skip
    db = f"sqlite:///{tmp_path / 'centre.sqlite3'}"
    centre_argv = moved(
        shlex.split(parse_unit(DEPLOY / UNITS[0])["Service"]["ExecStart"][0]), tmp_path
    )
    worker_argv = moved(
        shlex.split(parse_unit(DEPLOY / UNITS[1])["Service"]["ExecStart"][0]), tmp_path
    )
    # The database is the one thing the example file leaves to the site: the environment
    # overrides it here (it wins over the file).
    env = _env(tmp_path, OPENLFR_DATABASE_URL=db, OPENLFR_NEW_PASSWORD="admin-pass-1234567",
               OPENLFR_PASSWORD="admin-pass-1234567")  # fmt: skip
    cfg = ["--config", str(tmp_path / "etc/openlfr/centre.toml")]
    subprocess.run([openlfr_exe(), *cfg, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([openlfr_exe(), *cfg, "user", "add", "admin", "--role", "administrator"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    tok = tmp_path / "etc/openlfr/worker.token"
    subprocess.run([openlfr_exe(), *cfg, "workers", "issue", "w1", "--token-out", str(tok),
                    "--user", "admin"], env=env, check=True, capture_output=True)  # fmt: skip
    logs = tmp_path / "logs"
    logs.mkdir()
    out = {"stderr": subprocess.STDOUT, "cwd": tmp_path}
    centre = subprocess.Popen(centre_argv, env=env, stdout=(logs / "centre").open("wb"), **out)
    worker = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert centre.poll() is None, (logs / "centre").read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError("centre did not answer: " + (logs / "centre").read_text())
        r = httpx.get(f"http://127.0.0.1:{port}/metrics",
                      headers={"Authorization": "Bearer scrape-token"})  # fmt: skip
        assert r.status_code == 200  # the metrics token came from the file the config names
        wlog = (logs / "worker").open("wb")
        worker = subprocess.Popen(worker_argv, env=_env(tmp_path), stdout=wlog, **out)
        deadline = time.monotonic() + 60
        while "started: centre" not in (logs / "worker").read_text():
            assert worker.poll() is None, (logs / "worker").read_text()
            assert time.monotonic() < deadline, (logs / "worker").read_text()
            time.sleep(0.2)
        time.sleep(1.5)  # a poll or two against the centre with the token from the file
        assert worker.poll() is None, (logs / "worker").read_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, (logs / "worker").read_text()
        assert "worker stopped: shutdown" in (logs / "worker").read_text()
        # The example files ask for JSON logs: every log line of the worker is one object.
        records = [
            json.loads(x) for x in (logs / "worker").read_text().splitlines() if x.startswith("{")
        ]
        assert any("started: centre" in r["message"] for r in records)
        assert all(r["level"] in ("INFO", "WARNING") for r in records), records
        text = (logs / "worker").read_text() + (logs / "centre").read_text()
        assert tok.read_text().strip() not in text
        assert base64.b64encode(b"scrape-token").decode() not in text
    finally:
        for p in (worker, centre):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
    assert centre.returncode in (0, -signal.SIGTERM), (logs / "centre").read_text()


def test_the_proxies_pass_the_clients_address_on() -> None:
    """Sign-in throttling is per client address; behind a proxy on 127.0.0.1 the centre sees the
    address only in X-Forwarded-For (Caddy sets it itself; nginx must be told, with the peer's
    address rather than a chain the client could seed)."""
    nginx = (DEPLOY / "nginx-openlfr.conf").read_text()
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in nginx
    assert "$proxy_add_x_forwarded_for" not in nginx
