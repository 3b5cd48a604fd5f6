"""The configuration file: every settings class reads its table, flags > environment > file >
defaults, secrets from files, `openlfr config show` masks secrets, bad files are typed errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict
from typer.testing import CliRunner

from openlfr.config.file import CONFIG_ENV, FileSettings, section_of
from openlfr.config.process import ServeSettings, WorkerSettings
from openlfr.config.settings import Settings
from openlfr.errors import ConfigError

pytestmark = pytest.mark.usefixtures("log_levels_restored")


@pytest.fixture
def conf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("OPENLFR_DATA_DIR", "OPENLFR_DATABASE_URL", "OPENLFR_WORKER_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    (tmp_path / "token").write_text("s3cret-worker-token\n")
    (tmp_path / "metrics").write_text("metrics-bearer-value")
    path = tmp_path / "openlfr.toml"
    path.write_text(
        f"""
data_dir = "{tmp_path / "data"}"
database_url = "postgresql+psycopg://openlfr:dbpass@db.example/openlfr"

[governance]
eu_mode = true
watchlist_size_cap = 300

[api]
metrics_token_file = "{tmp_path / "metrics"}"

[serve]
port = 8443

[worker]
centre = "https://centre.example"
broker = "nats://nats.example:4222"
token_file = "{tmp_path / "token"}"
lease_s = 12.5

[worker.cameras]
cam-1 = "rtsp://viewer:campass@10.0.0.9/stream"

[broker]
user = "w1"
password = "natspass"
"""
    )
    monkeypatch.setenv(CONFIG_ENV, str(path))
    return path


def test_each_class_reads_its_table(conf: Path) -> None:
    s = Settings()
    assert s.data_dir == conf.parent / "data"
    assert s.governance.eu_mode is True and s.governance.watchlist_size_cap == 300
    assert s.api.metrics_token is not None
    assert s.api.metrics_token.get_secret_value() == "metrics-bearer-value"
    w = WorkerSettings()
    assert w.centre == "https://centre.example" and w.lease_s == 12.5
    assert w.token is not None and w.token.get_secret_value() == "s3cret-worker-token"
    assert w.cameras == {"cam-1": "rtsp://viewer:campass@10.0.0.9/stream"}
    assert ServeSettings().port == 8443


def test_precedence_flags_then_environment_then_file_then_defaults(
    conf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert WorkerSettings().poll_s == 1.0  # default: in no file, no variable
    monkeypatch.setenv("OPENLFR_WORKER_LEASE_S", "20")
    monkeypatch.setenv("OPENLFR_GOVERNANCE__EU_MODE", "false")
    assert WorkerSettings().lease_s == 20.0  # environment over file
    assert Settings().governance.eu_mode is False
    assert Settings().governance.watchlist_size_cap == 300  # the rest of the table still read
    assert WorkerSettings(lease_s=5.0).lease_s == 5.0  # a flag over the environment


def test_a_new_settings_class_gets_its_table_with_no_more_code(conf: Path) -> None:
    class BrokerSettings(FileSettings):  # what config/broker.py will be
        model_config = SettingsConfigDict(env_prefix="OPENLFR_BROKER_", extra="ignore")
        user: str | None = None
        password: SecretStr | None = None

    assert section_of(BrokerSettings) == ("broker",)
    b = BrokerSettings()
    assert b.user == "w1" and b.password is not None
    assert b.password.get_secret_value() == "natspass"
    FileSettings.registry.pop(f"{__name__}.{BrokerSettings.__qualname__}", None)


def test_bad_files_are_typed_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="not found"):
        Settings()
    bad = tmp_path / "bad.toml"
    bad.write_text("data_dir = [unclosed\n")
    monkeypatch.setenv(CONFIG_ENV, str(bad))
    with pytest.raises(ConfigError, match="not valid TOML"):
        WorkerSettings()
    bad.write_text(f'[worker]\ntoken_file = "{tmp_path / "nope"}"\n')
    with pytest.raises(ConfigError, match="worker.token_file"):
        WorkerSettings()


def test_config_show_masks_every_secret(conf: Path) -> None:
    from openlfr.cli.main import _register, app

    _register()
    r = CliRunner().invoke(app, ["--config", str(conf), "config", "show"])
    assert r.exit_code == 0, r.output
    out = r.output
    for secret in ("s3cret-worker-token", "metrics-bearer-value", "dbpass", "campass"):
        assert secret not in out
    assert 'metrics_token = "********"' in out and 'token = "********"' in out
    assert "postgresql+psycopg://***@db.example/openlfr" in out
    assert "watchlist_size_cap = 300" in out and "[worker.cameras]" in out
    import tomllib

    shown = tomllib.loads(out)  # it is TOML a site can start its own file from
    assert shown["worker"]["lease_s"] == 12.5


def test_names_that_look_secret_are_masked() -> None:
    from openlfr.config.show import MASK, masked

    assert masked("nkey_seed", "SUAXYZ") == MASK
    assert masked("password", "pw") == MASK
    assert masked("key_file", Path("/etc/openlfr/master.key")) == Path("/etc/openlfr/master.key")
    assert masked("host", "127.0.0.1") == "127.0.0.1"
