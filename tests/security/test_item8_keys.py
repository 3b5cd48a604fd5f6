"""Item 8: master key rotation re-wraps every data key; keys live apart from the database
(ASVS V6.4 secret management)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import select

from openlfr.config.settings import Settings
from openlfr.errors import KeyUnavailableError
from openlfr.services.keys import rotate_master_key, same_volume_warning
from openlfr.storage import models as m
from openlfr.storage.crypto import MasterKey, generate_key_file
from openlfr.storage.db import make_engine, session_factory, upgrade


def _wrapped(factory: object) -> dict[tuple[str, str], bytes]:
    with factory() as s:  # type: ignore[operator]
        return {
            (r.deployment_id, r.purpose): r.wrapped for r in s.execute(select(m.DataKey)).scalars()
        }


def test_rotate_rewraps_every_data_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENLFR_MASTER_KEY", raising=False)
    monkeypatch.delenv("OPENLFR_AUDIT_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    factory = session_factory(make_engine(url))
    key_file = generate_key_file(tmp_path / "keys" / "master.key")
    old = MasterKey.load(key_file)
    data_keys = {
        ("d1", "watchlist"): b"A" * 32,
        ("d1", "alerts"): b"B" * 32,
        ("d2", "alerts"): b"C" * 32,
    }
    from datetime import UTC, datetime

    with factory() as s, s.begin():
        for (dep, purpose), dk in data_keys.items():
            s.add(
                m.DataKey(
                    deployment_id=dep,
                    purpose=purpose,
                    wrapped=old.wrap(dk, f"{dep}/{purpose}"),
                    created_at=datetime.now(UTC),
                )
            )
    before = _wrapped(factory)
    old_text = key_file.read_text()
    rot = rotate_master_key(factory, key_file, tmp_path / "keys" / "audit.key", actor="admin")
    assert rot.data_keys == 3 and key_file.read_text() != old_text
    assert not list(key_file.parent.glob("*.rotating"))
    new = MasterKey.load(key_file)
    after = _wrapped(factory)
    for (dep, purpose), dk in data_keys.items():
        label = f"{dep}/{purpose}"
        assert after[(dep, purpose)] != before[(dep, purpose)]
        assert new.unwrap(after[(dep, purpose)], label) == dk
        with pytest.raises(KeyUnavailableError):
            old.unwrap(after[(dep, purpose)], label)
    # The audit key stays put, so the chain (with its rotation record) still verifies.
    from openlfr.storage import audit
    from openlfr.storage.crypto import load_key_text

    akey = load_key_text("OPENLFR_AUDIT_KEY", tmp_path / "keys" / "audit.key")
    assert akey == old.derive("audit chain v1")
    with factory() as s:
        rep = audit.verify(s, akey)
    assert rep.ok and rep.records == 1


def test_rotate_with_env_key_needs_an_output_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    monkeypatch.setenv("OPENLFR_MASTER_KEY", base64.b64encode(bytes(32)).decode())
    factory = session_factory(make_engine(url))
    with pytest.raises(KeyUnavailableError):
        rotate_master_key(factory, tmp_path / "k", tmp_path / "a", actor="admin")
    rot = rotate_master_key(
        factory, tmp_path / "k", tmp_path / "a", actor="admin", out=tmp_path / "new.key"
    )
    assert rot.key_file == tmp_path / "new.key" and (tmp_path / "new.key").is_file()


def test_default_key_location_is_apart_from_the_data(tmp_path: Path) -> None:
    st = Settings(data_dir=tmp_path / "data", key_dir=tmp_path / "conf")
    assert st.resolved_key_file == tmp_path / "conf" / "master.key"
    assert tmp_path / "data" not in st.resolved_key_file.parents
    assert Settings(data_dir=tmp_path / "d").resolved_key_file.parent != tmp_path / "d"
    assert st.resolved_audit_key_file == tmp_path / "conf" / "audit.key"


def test_warning_when_key_and_database_share_a_volume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENLFR_MASTER_KEY", raising=False)
    from openlfr.api.server import bootstrap

    st = Settings(data_dir=tmp_path / "data", key_dir=tmp_path / "conf", database_url=None)
    b = bootstrap(st)
    assert b.key_file == tmp_path / "conf" / "master.key"
    assert any("same volume" in w for w in b.warnings)
    # The audit key is the instance's own, beside the master key (issue 19, finding 9).
    (audit_key,) = (tmp_path / "conf" / "instances").glob("*/audit.key")
    assert b.service.ctx.settings.audit_key_file == audit_key
    assert same_volume_warning(b.key_file, "postgresql+psycopg://db.example/openlfr") is None


def test_readme_is_honest_about_crypto_shredding() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text().lower()
    assert "crypto-shredding" in readme
    assert "backup" in readme and "master key" in readme and "keys rotate" in readme
