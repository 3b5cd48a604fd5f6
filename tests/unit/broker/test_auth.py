"""BrokerSettings and the one helper both sides log in with (no broker needed)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from openlfr.broker.auth import connect_options, worker_inbox
from openlfr.config.broker import BrokerSettings
from openlfr.config.settings import Settings
from openlfr.errors import BrokerError
from tests.nats_secure import Pki


def test_inconsistent_settings_are_refused_without_echoing_secrets(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("hunter2\n")
    for bad in (
        dict(cert_file=tmp_path / "c.pem"),  # a certificate without its key
        dict(nkey_seed_file=pw, user="van"),  # two ways to log in
        dict(password=SecretStr("hunter2")),  # a password for no one
        dict(user="van", password_file=pw, password=SecretStr("hunter2")),
    ):
        s = BrokerSettings(url="tls://h:4222", **bad)  # type: ignore[arg-type]
        assert s.problems()
        with pytest.raises(BrokerError) as e:
            connect_options(s)
        assert "hunter2" not in str(e.value)
    # A value of the wrong type: the error does not repeat what it was given.
    with pytest.raises(ValidationError) as v:
        BrokerSettings(url="tls://h:4222", user={"hunter2": 1})  # type: ignore[arg-type]
    assert "hunter2" not in str(v.value)


def test_user_and_password_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pw = tmp_path / "pw"
    pw.write_text("from-file\n")
    opts = connect_options(BrokerSettings(url="nats://h:4222", user="van", password_file=pw))
    assert (opts["user"], opts["password"]) == ("van", "from-file")
    assert "tls" not in opts
    monkeypatch.setenv("OPENLFR_BROKER__URL", "nats://h:4222")
    monkeypatch.setenv("OPENLFR_BROKER__USER", "van")
    monkeypatch.setenv("OPENLFR_BROKER__PASSWORD", "from-env")
    s = Settings().broker
    assert connect_options(s)["password"] == "from-env"
    assert "from-env" not in repr(s) and "from-env" not in s.describe()


def test_tls_and_nkey(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    cert, key = pki.issue("centre", server=False)
    seed = tmp_path / "centre.nk"
    seed.write_text("SU...\n")
    s = BrokerSettings(
        url="tls://h:4222", ca_file=pki.ca_file, cert_file=cert, key_file=key, nkey_seed_file=seed
    )
    opts = connect_options(s, inbox_prefix=worker_inbox("w1"))
    assert isinstance(opts["tls"], ssl.SSLContext)
    assert opts["nkeys_seed"] == str(seed) and opts["inbox_prefix"] == "_INBOX.w1"
    assert s.describe() == "tls://h:4222 (mutual TLS, nkey)"
    # A missing file is named, and a broken one says so without its contents.
    with pytest.raises(BrokerError, match="no such file"):
        connect_options(s.model_copy(update={"nkey_seed_file": tmp_path / "gone"}))
    key.write_text("-----BEGIN PRIVATE KEY-----\nsecretstuff\n")
    with pytest.raises(BrokerError) as e:
        connect_options(s)
    assert "secretstuff" not in str(e.value)
