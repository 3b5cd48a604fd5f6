"""`openlfr deployment update --set`: one-item and comma lists, never a string split into
characters (issue 21: `--set officers=ao2` read as officers a, o, 2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.errors import PermissionDeniedError, RuleViolation
from tests.unit.governance._support import World, cli_world
from tests.unit.governance._support import run_cli as run


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, World]]:
    with cli_world(tmp_path, monkeypatch) as setup:
        yield setup


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
