"""The CLI end to end without models (users, drafts, refusals, audit, reports) and the scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openlfr.services.scheduler import RetentionScheduler
from tests.unit.governance._support import PASSWORD, World, governance_cli
from tests.unit.governance._support import run_cli as run


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    from openlfr.config.settings import get_settings

    monkeypatch.setenv("OPENLFR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENLFR_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("OPENLFR_PASSWORD", PASSWORD)
    monkeypatch.setenv("OPENLFR_NEW_PASSWORD", PASSWORD)
    monkeypatch.delenv("OPENLFR_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENLFR_MASTER_KEY", raising=False)
    get_settings.cache_clear()
    yield governance_cli()
    get_settings.cache_clear()


def test_cli_refuses_with_clear_messages(cli: CliRunner, tmp_path: Path) -> None:
    code, out = run(cli, "user", "list")
    assert code == 2 and "openlfr db upgrade" in out
    assert run(cli, "db", "upgrade")[0] == 0
    assert run(cli, "keys", "init")[0] == 0
    code, out = run(cli, "keys", "init")
    assert code == 2 and "refusing to overwrite" in out
    assert (tmp_path / "keys" / "master.key").exists()  # apart from the data directory
    code, out = run(cli, "user", "add", "root", "--role", "operator")
    assert code == 2 and "first user must be an administrator" in out
    assert run(cli, "user", "add", "root", "--role", "administrator")[0] == 0
    code, out = run(cli, "user", "add", "ao", "--role", "authorising_officer", "--user", "root")
    assert code == 0, out
    code, out = run(cli, "user", "add", "x", "--role", "operator", "--user", "ao")
    assert code == 2 and "ao needs one of the roles: administrator" in out
    code, dep = run(
        cli,
        "deployment",
        "create",
        "Test",
        "--user",
        "ao",
        "--set",
        "location=Leeds",
        "--set",
        "cameras=cam-1,cam-2",
        "--set",
        "starts_at=2099-01-01T09:00+00:00",
    )
    assert code == 0, dep
    dep = dep.strip()
    code, out = run(cli, "deployment", "authorise", dep, "--user", "ao")
    assert code == 2 and "authorisation refused" in out
    for missing in (
        "missing DPIA reference",
        "missing purpose",
        "missing operator",
        "missing end time",
    ):
        assert missing in out
    code, out = run(
        cli, "deployment", "update", dep, "--user", "ao", "--set", "starts_at=2099-01-01"
    )
    assert code == 2 and "needs a time zone" in out
    code, out = run(cli, "deployment", "show", dep, "--user", "ao")
    assert code == 0 and '"cam-2"' in out
    code, out = run(cli, "report", "notice", dep, "--format", "html")
    assert code == 0 and "Leeds" in out and "signs at every approach" in out
    code, out = run(cli, "report", "deployment", dep, "--format", "xml")
    assert code == 2 and "not one of json, csv, html" in out
    code, out = run(cli, "report", "annual", "2099", "--format", "csv")
    assert code == 0
    assert run(cli, "purge")[0] == 0
    code, out = run(cli, "audit", "verify")
    assert code == 0 and "intact" in out
    # Starting is refused by the service's rule (typed message, exit 2), not by the parser.
    code, out = run(cli, "deployment", "start", dep, "--user", "ao")
    assert code == 2 and "ao is not an operator or the authoriser of this deployment" in out
    code, out = run(cli, "deployment", "show", dep, "--user", "ao")
    assert code == 0 and '"state": "draft"' in out


def test_scheduler_runs_and_survives_errors(world: World) -> None:
    sch = RetentionScheduler(world.svc, interval_s=0.05)
    assert sch.run_once() is not None
    calls = []

    def boom() -> None:
        calls.append(1)
        raise RuntimeError("db down")

    world.svc.retention.purge = boom  # type: ignore[method-assign, assignment]
    assert sch.run_once() is None and calls
    sch.start()
    sch.stop()
    assert sch.runs >= 3


def test_cli_entry_photos_and_expected_hits(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:

    from openlfr.cli.governance._common import open_service
    from openlfr.vision.mock import MOCK_CONTRACT, mock_engine
    from tests.unit.governance._support import (
        approval_for,
        full_fields,
        proposal,
        settle_accounts,
        template,
    )

    assert run(cli, "db", "upgrade")[0] == 0
    assert run(cli, "keys", "init")[0] == 0
    svc = open_service()
    admin = svc.accounts.create_user(None, "admin", PASSWORD, ["administrator"])
    for name, role in (("ao1", "authorising_officer"), ("ao2", "authorising_officer")):
        svc.accounts.create_user(admin, name, PASSWORD, [role])
    for name, role in (("compiler", "watchlist_compiler"), ("compiler2", "watchlist_compiler")):
        svc.accounts.create_user(admin, name, PASSWORD, [role])
    for name in ("op1", "op2"):
        svc.accounts.create_user(admin, name, PASSWORD, ["operator"])
    settle_accounts(svc)  # as if each had set their password, a second admin confirmed
    from openlfr.services.approvals import report_digest

    svc.approvals.record_model_approval(admin, approval_for(MOCK_CONTRACT))
    svc.approvals.countersign(  # a second person: only then does the approval count
        svc.accounts.actor("ao2"), MOCK_CONTRACT.id, report_digest(approval_for(MOCK_CONTRACT))
    )
    ao1, comp = svc.accounts.actor("ao1"), svc.accounts.actor("compiler")
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)  # the CLI's service runs on the real clock
    when = dict(
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=9),
        public_notice_at=now - timedelta(days=1),
    )
    dep = svc.deployments.create_deployment(ao1, "CLI", **full_fields(**when))
    svc.deployments.create_deployment(ao1, "Other", **full_fields(compiler="compiler2", **when))
    eid, _ = svc.watchlists.add_entry(comp, dep, proposal(), template(3), b"img")
    monkeypatch.setattr("openlfr.vision.build_engine", lambda *a, **k: mock_engine())
    from tests.unit.api._support import face_png  # textured: passes the B.6 sharpness rule

    photo = tmp_path / "second.png"
    photo.write_bytes(face_png((0, 0, 255)))

    code, out = run(cli, "watchlist", "list", dep, "--user", "compiler")
    assert code == 0 and "single_photo" in out and "1 of 1 entries have a single photo" in out
    add = ("watchlist", "add-photo", eid, str(photo), "--captured-on", "2024-02-01")
    code, out = run(cli, *add, "--user", "compiler2")
    assert code == 2 and "compiler2 is not assigned to this deployment" in out
    code, out = run(cli, *add, "--user", "op1")
    assert code == 2 and "not a watchlist compiler" in out
    code, out = run(cli, *add, "--user", "compiler")
    assert code == 0 and "now has 2 photos; expected hit rate 59%" in out, out
    code, out = run(cli, "watchlist", "photos", eid, "--user", "compiler")
    assert code == 0 and out.count('"first"') == 2
    code, out = run(cli, "watchlist", "photos", eid, "--user", "admin")
    assert code == 2 and "needs one of the roles" in out
    code, out = run(cli, "watchlist", "projection", dep, "--user", "ao2")
    assert code == 0 and "listed people found if they pass a camera: 59%" in out
    code, out = run(cli, "deployment", "authorise", dep, "--user", "ao1")
    assert code == 0 and "found if they pass a camera: 59%" in out, out
    pid = svc.entry_photos.photos(comp, eid)[1]["id"]
    code, out = run(cli, "watchlist", "remove-photo", pid, "--reason", "x", "--user", "compiler2")
    assert code == 2 and "compiler2 is not assigned to this deployment" in out
    code, out = run(cli, "watchlist", "remove-photo", pid, "--reason", "x", "--user", "compiler")
    assert code == 0 and "removed" in out
