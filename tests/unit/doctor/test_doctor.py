"""`openlfr doctor` finds what issue 21 names, each with its fix: wrong key permissions, a
database behind on migrations, an unreachable broker, wrong broker credentials (a real
nats-server with a user and password), an expired model approval; and its exit status."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.doctor import checks, network
from openlfr.doctor.findings import Finding, Level
from tests.nats_server import _free_port, nats_binary

pytestmark = pytest.mark.usefixtures("log_levels_restored")


def codes(findings: list[Finding]) -> dict[str, Level]:
    return {f.code: f.level for f in findings}


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installation in tmp_path: its own data and key directories, no configuration file."""
    from openlfr.config.settings import get_settings

    for var in ("OPENLFR_MASTER_KEY", "OPENLFR_DATABASE_URL", "OPENLFR_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OPENLFR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OPENLFR_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_key_permissions_owner_only(site: Path) -> None:
    from openlfr.config.settings import Settings
    from openlfr.storage.crypto import generate_key_file

    key = generate_key_file(site / "keys" / "master.key")
    os.chmod(key.parent, 0o700)
    s = Settings()
    assert "key-permissions" not in codes(checks.check_keys(s))
    os.chmod(key, 0o644)
    found = [f for f in checks.check_keys(s) if f.code == "key-permissions"]
    assert found and found[0].level == Level.FAIL
    assert f"chmod 600 {key}" in found[0].fix
    os.remove(key)
    assert codes(checks.check_keys(s))["key-missing"] == Level.FAIL


def test_database_behind_on_migrations(site: Path) -> None:
    from openlfr.config.settings import Settings
    from openlfr.storage.db import upgrade

    s = Settings()
    found, _ = checks.check_database(s)
    assert codes(found) == {"database-empty": Level.FAIL}
    upgrade(s.resolved_database_url, "0004_assurance")
    found, engine = checks.check_database(s)
    assert codes(found) == {"database-behind": Level.FAIL}
    assert "0004_assurance" in found[0].message and "openlfr db upgrade" in found[0].fix
    engine.dispose()
    upgrade(s.resolved_database_url, "head")
    found, engine = checks.check_database(s)
    assert [f.level for f in found] == [Level.OK]
    engine.dispose()


def test_unreachable_database(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openlfr.config.settings import Settings

    monkeypatch.setenv(
        "OPENLFR_DATABASE_URL", f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/x"
    )
    found, engine = checks.check_database(Settings())
    assert codes(found) == {"database-unreachable": Level.FAIL} and engine is None


def test_expired_and_expiring_model_approval(site: Path) -> None:
    from openlfr.storage.db import make_engine
    from openlfr.vision.mock import MOCK_CONTRACT
    from tests.unit.governance._support import approval_for, approve_model, make_world

    url = f"sqlite:///{site / 'a.sqlite3'}"
    w = make_world(url)
    made = datetime(2025, 1, 10, tzinfo=UTC)
    approve_model(w, approval_for(MOCK_CONTRACT, at=made))
    engine = make_engine(url)
    assert codes(checks.check_approvals(engine, made + timedelta(days=100))) == {"ok": Level.OK}
    soon = checks.check_approvals(engine, made + timedelta(days=350))
    assert codes(soon) == {"approval-expiring": Level.WARN}
    late = checks.check_approvals(engine, made + timedelta(days=400))
    assert codes(late) == {"approval-expired": Level.FAIL}
    assert "openlfr eval report" in late[0].fix


def test_unreachable_broker() -> None:
    found = network.check_broker(f"nats://127.0.0.1:{_free_port()}", timeout=1.0)
    assert codes(found) == {"broker-unreachable": Level.FAIL}
    assert "nats-server" in found[0].fix


@pytest.fixture
def nats_with_password(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    conf = tmp_path / "nats.conf"  # the password in a file, not in `ps`
    conf.write_text(
        f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{tmp_path / "js"}" }}\n'
        'authorization { user: "worker1", password: "right-password" }\n'
    )
    proc = subprocess.Popen(
        [nats_binary(), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        # A refused connection fails at once: wait between tries (up to 15 s) for the server.
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                assert proc.poll() is None, "nats-server exited"
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.nats
def test_wrong_broker_credentials(
    nats_with_password: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = nats_with_password
    monkeypatch.setenv("OPENLFR_BROKER__USER", "worker1")
    secret = tmp_path / "nats-password"
    secret.write_text("wrong-password\n")
    monkeypatch.setenv("OPENLFR_BROKER__PASSWORD_FILE", str(secret))
    found = network.check_broker(url)
    assert codes(found) == {"broker-credentials": Level.FAIL}
    assert "wrong-password" not in found[0].line()
    monkeypatch.delenv("OPENLFR_BROKER__USER")
    assert codes(network.check_broker(url)) == {"broker-credentials": Level.FAIL}  # none given
    monkeypatch.setenv("OPENLFR_BROKER__USER", "worker1")
    secret.write_text("right-password\n")
    assert codes(network.check_broker(url)) == {"ok": Level.OK}


def test_doctor_exit_status_for_scripts(site: Path) -> None:
    from openlfr.cli.main import _register, app

    _register()
    key = base64.b64encode(os.urandom(32)).decode()
    r = CliRunner().invoke(app, ["doctor"], env={"OPENLFR_MASTER_KEY": key})
    assert r.exit_code == 1 and "database-empty" in r.output  # no schema yet
    from openlfr.config.settings import get_settings
    from openlfr.storage.db import upgrade

    get_settings.cache_clear()
    upgrade(get_settings().resolved_database_url)
    r = CliRunner().invoke(app, ["doctor"], env={"OPENLFR_MASTER_KEY": key})
    assert r.exit_code == 0, r.output  # warnings only: no approval yet
    assert "approval-none" in r.output
    r = CliRunner().invoke(app, ["doctor", "--strict"], env={"OPENLFR_MASTER_KEY": key})
    assert r.exit_code == 1
