"""`openlfr workers`: administrators register workers, only a deployment's authorising officer
assigns one to it; anyone else is refused; the token goes to an owner-only file and never to the
terminal."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from openlfr.services.workers import WorkerIdentity, WorkerService
from tests.unit.cli.test_deployment_lists import run, setup  # noqa: F401
from tests.unit.governance._support import World


def test_issue_assign_revoke_and_who_may(setup: tuple[CliRunner, World], tmp_path: Path) -> None:  # noqa: F811
    cli, w = setup
    tok = tmp_path / "van-1.token"
    code, out = run(cli, "workers", "issue", "van-1", "--token-out", str(tok), "--user", "op1")
    assert code == 2 and "permission_denied" in out and not tok.exists()
    code, out = run(cli, "workers", "issue", "van-1", "--token-out", str(tok), "--user", "admin")
    assert code == 0, out
    wid = out.strip()
    token = tok.read_text().strip()
    assert token and token not in out
    assert stat.S_IMODE(tok.stat().st_mode) == 0o600
    code, out = run(cli, "workers", "issue", "again", "--token-out", str(tok), "--user", "admin")
    assert code == 2 and "never overwritten" in out
    dep = w.svc.deployments.create_deployment(w.ao1, "Van")
    # An administrator cannot route a worker (and so the deployment's watchlist) anywhere.
    code, out = run(cli, "workers", "assign", wid, dep, "--user", "admin")
    assert code == 2 and "permission_denied" in out
    assert WorkerService(w.svc).assigned_workers(dep) == []
    code, out = run(cli, "workers", "assign", wid, dep, "--user", "ao1")
    assert code == 0, out
    assert WorkerService(w.svc).assigned_workers(dep) == [wid]
    code, out = run(cli, "workers", "list", "--user", "op2")  # sees no deployment of it
    assert code == 0 and wid not in out
    code, out = run(cli, "workers", "revoke", wid, "--reason", "van sold", "--user", "admin")
    assert code == 0, out
    assert WorkerService(w.svc).assignments(WorkerIdentity(wid, "van-1")) == []
