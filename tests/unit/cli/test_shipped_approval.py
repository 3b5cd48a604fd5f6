"""`openlfr model approve --shipped`: the packaged report recorded as the supplier's evidence,
countersigned like any report, with the recommendation to re-run locally shown at
authorisation; refused by a profile that requires local evaluation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import RuleViolation
from openlfr.eval.approval import LOCAL, SUPPLIER
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import (
    World,
    approval_for,
    cli_world,
    full_fields,
    make_world,
    report_for,
)
from tests.unit.governance._support import (
    run_cli as run,
)


def _report(path: Path) -> Path:
    """A small report of the shape `openlfr eval report` writes (kind, approval, provenance)."""
    full = report_for(approval_for(MOCK_CONTRACT))  # with its per-group section (C.11)
    path.write_text(json.dumps({**full, "provenance": {"data": "synthetic", "openlfr": "test"}}))
    return path


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, World]]:
    from openlfr.eval import calibration

    report = _report(tmp_path / "shipped.json")
    monkeypatch.setattr(calibration, "shipped_report_path", lambda *_: report)

    with cli_world(tmp_path, monkeypatch) as setup:
        yield setup


def test_shipped_report_is_the_suppliers_evidence(cli: tuple[CliRunner, World]) -> None:
    runner, w = cli
    code, out = run(runner, "model", "approve", "--shipped", "--user", "admin")
    assert code == 0, out
    assert "recommendation" in out and "openlfr eval report" in out
    code, out = run(runner, "model", "countersign", "--shipped", "--user", "admin")
    assert code == 2 and "second person" in out
    code, out = run(runner, "model", "countersign", "--shipped", "--user", "ao2")
    assert code == 0, out
    assert w.svc.approvals.status(MOCK_CONTRACT.id) == "approved"
    assert w.svc.approvals.evidence(MOCK_CONTRACT.id) == SUPPLIER
    now = datetime.now(UTC)  # the command runs on the real clock
    window = dict(
        starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=9),
        public_notice_at=now - timedelta(days=2),
    )  # fmt: skip
    dep = w.svc.deployments.create_deployment(w.ao1, "Pilot", **full_fields(**window))
    code, out = run(runner, "deployment", "authorise", dep, "--user", "ao1")
    assert code == 0, out
    assert "recommendation: the model's evidence is the supplier's" in out


def test_report_or_shipped_not_both(cli: tuple[CliRunner, World], tmp_path: Path) -> None:
    runner, _ = cli
    code, out = run(runner, "model", "approve", "--user", "admin")
    assert code == 2 and "either REPORT or --shipped" in out
    code, out = run(
        runner, "model", "approve", str(_report(tmp_path / "r.json")), "--shipped", "-u", "admin"
    )
    assert code == 2


def test_a_local_report_stays_local(cli: tuple[CliRunner, World], tmp_path: Path) -> None:
    runner, w = cli
    code, out = run(runner, "model", "approve", str(_report(tmp_path / "r.json")), "-u", "admin")
    assert code == 0 and "recommendation" not in out
    assert w.svc.approvals.evidence(MOCK_CONTRACT.id) == LOCAL


def test_a_profile_requiring_local_evaluation_refuses_it(tmp_path: Path) -> None:
    import dataclasses

    w = make_world(
        f"sqlite:///{tmp_path / 'eu.sqlite3'}",
        settings=GovernanceSettings(controller_profile="eu_law_enforcement"),
    )
    shipped = dataclasses.replace(approval_for(MOCK_CONTRACT), evidence=SUPPLIER)
    with pytest.raises(RuleViolation, match="requires the model evaluated on local data"):
        w.svc.approvals.record_model_approval(w.admin, shipped)
    w.svc.approvals.record_model_approval(w.admin, approval_for(MOCK_CONTRACT))  # local: fine
