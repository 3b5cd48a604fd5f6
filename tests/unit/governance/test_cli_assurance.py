"""`openlfr assurance` commands: what they show and what they refuse (wrong person or role)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.governance._support import T0, World, cli_world, live, template
from tests.unit.governance._support import run_cli as run


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, World]]:
    with cli_world(tmp_path, monkeypatch) as setup:
        yield setup


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
