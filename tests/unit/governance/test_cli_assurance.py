"""`openlfr assurance` commands: what they show and what they refuse (wrong person or role)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.governance._support import KEY, PASSWORD, T0, World, live, make_world, template


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, World]]:
    import typer

    from openlfr.cli import governance
    from openlfr.config.settings import get_settings

    monkeypatch.setenv("OPENLFR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENLFR_PASSWORD", PASSWORD)
    monkeypatch.setenv("OPENLFR_MASTER_KEY", base64.b64encode(KEY).decode())
    monkeypatch.delenv("OPENLFR_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    w = make_world(f"sqlite:///{tmp_path / 'openlfr.sqlite3'}")
    app = typer.Typer()
    governance.register(app)
    runner = CliRunner()
    runner.app = app  # type: ignore[attr-defined]
    yield runner, w
    get_settings.cache_clear()


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    r = cli.invoke(cli.app, list(args))  # type: ignore[attr-defined]
    return r.exit_code, r.output


def test_assurance_commands_show_refuse_and_acknowledge(setup: tuple[CliRunner, World]) -> None:
    cli, w = setup
    code, out = run(cli, "assurance", "profile")
    assert code == 0 and '"police_uk"' in out
    dep, _ = live(w)
    tid = w.svc.assurance.walkbys.add_test_subject(
        w.op1, dep, template(50), subject_ref="PC 1", consent_ref="CF-1", consented_on=T0.date()
    )
    w.svc.assurance.walkbys.record_walkby(w.op1, dep, "cam-1", [tid], [])
    code, out = run(cli, "assurance", "show", dep, "--user", "op1")
    assert code == 0, out
    assert json.loads(out)["walkby_runs"][0]["tpir"] == 0.0
    code, out = run(cli, "assurance", "acknowledge", dep, "--reason", "ok", "--user", "op1")
    assert code == 2 and "permission_denied" in out
    code, out = run(cli, "assurance", "acknowledge", dep, "--reason", "ok", "--user", "ao1")
    assert code == 2 and "no walk-by flag" in out  # no minimum was set: nothing to acknowledge
    code, out = run(cli, "assurance", "decide", dep, "resume", "--reason", "x", "--user", "ao2")
    assert code == 2 and "permission_denied" in out
    code, out = run(cli, "assurance", "equality", "2026", "--user", "op1")
    assert code == 2 and "needs one of the roles" in out
    code, out = run(cli, "assurance", "equality", "2026", "--user", "dpo")
    assert code == 0 and json.loads(out) == []
    solo = w.svc.deployments.create_deployment(w.ao1, "Solo")
    code, out = run(cli, "assurance", "show", solo, "--user", "op2")
    assert code == 2 and "no part in deployment" in out
