"""The first administrator's one-time password never goes into a log: printed on a terminal,
otherwise written to a file only this user can read (a systemd unit's stdout is the journal)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from openlfr.cli import serve


def test_not_a_terminal_writes_a_private_file_and_logs_only_its_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    serve.first_admin_notice("s3cret-one-time", tmp_path / "keys")
    out = capsys.readouterr().out
    path = tmp_path / "keys" / "first-admin-password"
    assert "s3cret-one-time" not in out and str(path) in out
    assert path.read_text().strip() == "s3cret-one-time"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_terminal_gets_it_printed_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve.sys.stdout, "isatty", lambda: True)
    serve.first_admin_notice("s3cret-one-time", tmp_path)
    assert "s3cret-one-time" in capsys.readouterr().out
    assert not (tmp_path / "first-admin-password").exists()
