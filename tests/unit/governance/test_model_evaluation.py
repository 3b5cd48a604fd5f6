"""C.11: a model approval counts only while its evaluation is current (at most a year old), and
only a report with the per-group section can be recorded (CLI and API)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.errors import RuleViolation
from openlfr.governance.deployment import APPROVAL_MAX_AGE
from openlfr.services.approvals import approval_from_report
from openlfr.vision.mock import MOCK_CONTRACT
from tests.unit.governance._support import (
    T0,
    World,
    add_entries,
    approval_for,
    approve_model,
    draft,
    full_fields,
    report_for,
)
from tests.unit.governance.test_cli_scheduler import cli, run


def test_an_approval_older_than_its_limit_refuses_authorisation(world: World) -> None:
    dep = draft(world)  # approved at T0
    world.clock.advance(days=APPROVAL_MAX_AGE.days - 1)
    world.svc.deployments.update_deployment(
        world.ao1,
        dep,
        starts_at=world.clock() + timedelta(hours=1),
        ends_at=world.clock() + timedelta(hours=9),
    )
    world.clock.advance(days=2)  # now past the limit
    world.svc.deployments.update_deployment(
        world.ao1,
        dep,
        starts_at=world.clock() + timedelta(hours=1),
        ends_at=world.clock() + timedelta(hours=9),
    )
    with pytest.raises(RuleViolation, match="older than a year"):
        world.svc.deployments.authorise(world.ao1, dep)
    assert world.svc.deployments.deployment(dep)["state"] == "draft"
    approve_model(world, approval_for(MOCK_CONTRACT, at=world.clock()))  # a fresh evaluation
    world.svc.deployments.authorise(world.ao1, dep)
    assert world.svc.deployments.deployment(dep)["state"] == "authorised"


def test_an_approval_expiring_after_authorisation_refuses_the_start(world: World) -> None:
    old = T0 - APPROVAL_MAX_AGE + timedelta(hours=1)  # an hour of validity left
    approve_model(world, approval_for(MOCK_CONTRACT, at=old))
    dep = world.svc.deployments.create_deployment(world.ao1, "x", **full_fields())
    world.svc.deployments.authorise(world.ao1, dep)  # still current now
    add_entries(world, dep)
    world.svc.watchlists.sign_off(world.ao2, dep)
    world.clock.advance(hours=1, minutes=1)  # window open; evaluation now too old
    with pytest.raises(RuleViolation, match="older than a year"):
        world.svc.deployments.start(world.op1, dep)
    assert world.svc.deployments.deployment(dep)["state"] == "authorised"


def test_a_report_without_the_per_group_section_is_refused() -> None:
    good = report_for(approval_for(MOCK_CONTRACT))
    assert approval_from_report(good).contract_id == MOCK_CONTRACT.id
    with pytest.raises(RuleViolation, match="no per-group"):
        approval_from_report({k: v for k, v in good.items() if k != "demographics"})
    one_group = json.loads(json.dumps(good))
    one_group["demographics"][0]["groups"] = one_group["demographics"][0]["groups"][:1]
    with pytest.raises(RuleViolation, match="at least two groups"):
        approval_from_report(one_group)
    untested = json.loads(json.dumps(good))
    del untested["demographics"][0]["at_default_threshold"]["fisher_holm_p"]["group_b"]
    with pytest.raises(RuleViolation, match="no significance test for group_b"):
        approval_from_report(untested)
    no_rates = json.loads(json.dumps(good))
    no_rates["demographics"][0]["at_default_threshold"]["fmr"] = {}
    with pytest.raises(RuleViolation, match="no fmr for group_a, group_b"):
        approval_from_report(no_rates)


def test_model_approve_cli_refuses_a_report_without_the_per_group_section(
    cli: CliRunner, tmp_path: Path
) -> None:
    good = report_for(approval_for(MOCK_CONTRACT))
    bad = {k: v for k, v in good.items() if k != "demographics"}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    (tmp_path / "good.json").write_text(json.dumps(good))
    assert run(cli, "db", "upgrade")[0] == 0 and run(cli, "keys", "init")[0] == 0
    assert run(cli, "user", "add", "root", "--role", "administrator")[0] == 0
    assert run(cli, "user", "add", "ao", "--role", "authorising_officer", "--user", "root")[0] == 0
    from openlfr.cli.governance._common import open_service
    from tests.unit.governance._support import settle_accounts

    settle_accounts(open_service())  # "ao" as its own holder, roles confirmed: a second person
    code, out = run(cli, "model", "approve", str(tmp_path / "bad.json"), "--user", "root")
    assert code == 2 and "no per-group (demographic) section" in out, out
    # Nothing was recorded: there is no proposal to countersign.
    code, out = run(cli, "model", "countersign", str(tmp_path / "good.json"), "--user", "ao")
    assert code == 2 and "no approval recorded" in out, out
    code, out = run(cli, "model", "approve", str(tmp_path / "good.json"), "--user", "root")
    assert code == 0 and "pending" in out, out
    code, out = run(cli, "model", "countersign", str(tmp_path / "good.json"), "--user", "ao")
    assert code == 0 and "approved" in out, out


__all__ = ["cli"]  # the CLI fixture, shared with test_cli_scheduler
