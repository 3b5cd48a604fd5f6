"""`openlfr deployment update --set`: one-item and comma lists, never a string split into
characters (issue 21: `--set officers=ao2` read as officers a, o, 2)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.errors import PermissionDeniedError, RuleViolation
from tests.unit.governance._support import KEY, PASSWORD, World, make_world


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


def test_one_item_and_comma_lists(setup: tuple[CliRunner, World]) -> None:
    cli, w = setup
    dep = w.svc.deployments.create_deployment(w.ao1, "Lists")
    with pytest.raises(PermissionDeniedError):
        w.svc.deployments.view(w.ao2, dep)  # not named on it yet
    code, out = run(
        cli, "deployment", "update", dep, "--user", "ao1",
        "--set", "officers=ao2", "--set", "cameras=cam-1", "--set", "operators=op1,op2",
    )  # fmt: skip
    assert code == 0, out
    d = w.svc.deployments.deployment(dep)
    assert d["cameras"] == ["cam-1"]
    assert len(d["operator_ids"]) == 2
    assert w.svc.deployments.view(w.ao2, dep)["name"] == "Lists"  # ao2 is named on it now
    code, out = run(cli, "deployment", "update", dep, "--user", "ao1", "--set", "cameras=a, b,")
    assert code == 0, out
    assert w.svc.deployments.deployment(dep)["cameras"] == ["a", "b"]
    code, out = run(cli, "deployment", "update", dep, "--user", "ao1", "--set", "cameras=")
    assert code == 0, out
    assert w.svc.deployments.deployment(dep)["cameras"] == []


def test_a_bare_string_for_a_list_is_refused_by_the_service(setup: tuple[CliRunner, World]) -> None:
    _, w = setup
    dep = w.svc.deployments.create_deployment(w.ao1, "Lists")
    with pytest.raises(RuleViolation, match="officers must be a list"):
        w.svc.deployments.update_deployment(w.ao1, dep, officers="ao2")
