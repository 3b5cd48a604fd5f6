"""Builders shared by the governance tests: a service on a fresh database, people, a ready draft."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from openlfr.config.governance import GovernanceSettings
from openlfr.eval.approval import FpirPoint, ModelApproval, TpirPoint
from openlfr.governance.clock import FrozenClock
from openlfr.governance.deployment import Actor
from openlfr.governance.watchlist import EntryProposal
from openlfr.services.alerts import AlertIn
from openlfr.services.governance import GovernanceService
from openlfr.storage import models as m
from openlfr.storage.crypto import MasterKey
from openlfr.storage.db import make_engine, session_factory, upgrade
from openlfr.vision.contract import EmbeddingContract, Template, l2_normalise
from openlfr.vision.mock import MOCK_CONTRACT

T0 = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
TRAINED = (date(2026, 1, 12), date(2027, 1, 12))  # the operators' course: completed, expires
KEY = bytes(range(32))
POSTGRES_URL = os.environ.get(
    "OPENLFR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("OPENLFR_REQUIRE_POSTGRES") == "1"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def approval_for(
    contract: EmbeddingContract, *, floor: float = 0.4, at: datetime = T0
) -> ModelApproval:
    curve = tuple(
        FpirPoint(n, t, fpir, fpir * 1.5)
        for n, scale in ((10, 1.0), (100, 8.0), (1000, 60.0))
        for t, fpir in (
            (0.3, 1e-2 * scale),
            (0.4, 1e-3 * scale),
            (0.5, 1e-4 * scale),
            (0.6, 1e-5 * scale),
        )
    )
    return ModelApproval(
        contract.id, at.isoformat(), floor, 0.5, 1e-3, curve, "test", tpir_curve=TPIR_CURVE
    )


# TPIR (point, lower bound) by (enrolment photos, probe shots) at thresholds 0.4 / 0.5 / 0.6:
# the shape of issue 11's measured table (more photos, more shots: more people found).
TPIR_TABLE = {
    (1, 1): ((0.50, 0.46), (0.38, 0.34), (0.25, 0.21)),
    (2, 1): ((0.75, 0.71), (0.63, 0.59), (0.50, 0.46)),
    (1, 3): ((0.88, 0.85), (0.80, 0.77), (0.68, 0.65)),
    (2, 3): ((0.98, 0.96), (0.95, 0.93), (0.90, 0.88)),
}
TPIR_CURVE = tuple(
    TpirPoint(k, m, 1000, t, tp, lo)
    for (k, m), vals in TPIR_TABLE.items()
    for t, (tp, lo) in zip((0.4, 0.5, 0.6), vals, strict=True)
)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database; skipped (or failed in CI) when the server is absent."""
    import psycopg

    base = make_url(POSTGRES_URL)
    name = f"openlfr_test_{uuid.uuid4().hex[:10]}"
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        msg = f"PostgreSQL not answering at {POSTGRES_URL} ({e.__class__.__name__})"
        if REQUIRE_POSTGRES:
            pytest.fail(msg + "; OPENLFR_REQUIRE_POSTGRES=1 makes this a failure", pytrace=False)
        pytest.skip(msg)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'gov.sqlite3'}"
    else:
        with postgres_database() as url:
            yield url


@dataclass
class World:
    svc: GovernanceService
    clock: FrozenClock
    url: str
    people: dict[str, Actor]

    def __getattr__(self, name: str) -> Actor:
        try:
            return self.people[name]
        except KeyError:
            raise AttributeError(name) from None


def make_world(
    url: str, *, settings: GovernanceSettings | None = None, key: bool = True, migrate: bool = True
) -> World:
    if migrate:
        upgrade(url)
    engine = make_engine(url)
    clock = FrozenClock(T0)
    loader = (lambda: MasterKey(KEY)) if key else (lambda: MasterKey.load(None))
    svc = GovernanceService(
        session_factory(engine),
        settings=settings or GovernanceSettings(),
        clock=clock,
        master_key=loader,
        hasher=FAST_HASHER,
    )
    people: dict[str, Actor] = {}
    people["admin"] = svc.accounts.create_user(None, "admin", PASSWORD, ["administrator"])
    for name, roles in (
        ("ao1", ["authorising_officer"]),
        ("ao2", ["authorising_officer"]),
        ("compiler", ["watchlist_compiler"]),
        ("compiler2", ["watchlist_compiler"]),
        ("op1", ["operator"]),
        ("op2", ["operator"]),
        ("dpo", ["auditor"]),
        ("multi", ["authorising_officer", "operator", "watchlist_compiler"]),
    ):
        people[name] = svc.accounts.create_user(people["admin"], name, PASSWORD, roles)
    for name in ("op1", "op2", "multi"):  # only trained staff may review alerts
        svc.training.record(people["admin"], name, "LFR operator", *TRAINED)
    settle_accounts(svc)
    return World(svc, clock, url, people)


def full_fields(**over: Any) -> dict[str, Any]:
    f: dict[str, Any] = dict(
        purpose="locate_wanted_persons",
        location="High Street, Cardiff",
        cameras=["cam-1", "cam-2"],
        starts_at=T0 + timedelta(hours=1),
        ends_at=T0 + timedelta(hours=9),
        dpia_ref="DPIA-2026-01",
        policy_ref="APD-7",
        eia_ref="EIA-2026-03",
        necessity="serious violent offences in the area; officers cannot identify on sight",
        alternatives="patrols and CCTV review considered; insufficient for a crowd of this size",
        model_contract_id=MOCK_CONTRACT.id,
        threshold=0.5,
        expected_faces=20000,
        public_notice_at=T0 - timedelta(days=2),
        compiler="compiler",
        operators=["op1", "op2"],
        officers=["ao2"],  # a second authorising officer named on it (sign-off, countersign)
    )
    f.update(over)
    return f


def approve_model(w: World, approval: ModelApproval | None = None) -> None:
    """Record (admin) and countersign (ao2) a model approval: only then does it count."""
    from openlfr.governance.evaluation import per_group_summary

    a = approval or approval_for(MOCK_CONTRACT)
    per_group = per_group_summary({"demographics": per_group_section()})
    w.svc.approvals.record_model_approval(w.admin, a, None, per_group)
    from openlfr.services.approvals import report_digest

    w.svc.approvals.countersign(w.ao2, a.contract_id, report_digest(a))


def draft(w: World, **over: Any) -> str:
    approve_model(w)
    return w.svc.deployments.create_deployment(w.ao1, "Cardiff centre", **full_fields(**over))


def template(seed: int, contract: EmbeddingContract = MOCK_CONTRACT) -> Template:
    rng = np.random.default_rng(seed)
    return Template(l2_normalise(rng.standard_normal(contract.dim).astype(np.float32)), contract)


def record_alert(w: World, dep: str, entry: str, seed: int = 0, **over: Any) -> str:
    """One alert on cam-1 at 0.7 against the mock model; a test names only what it cares about."""
    fields: dict[str, Any] = dict(
        camera_id="cam-1",
        entry_id=entry,
        score=0.7,
        threshold=0.5,
        contract_id=MOCK_CONTRACT.id,
        detected_at=w.clock(),
        template=template(seed),
    )
    return w.svc.alerts.record_alert(dep, AlertIn(**(fields | over)))


def proposal(**over: Any) -> EntryProposal:
    kw: dict[str, Any] = dict(
        category="wanted_by_courts_or_police",
        legal_basis="PACE s.64A custody image; warrant 123",
        source_system="PND",
        image_captured_on=date(2025, 9, 1),
        quality_score=0.8,
        reason="wanted on warrant for robbery",
        subject_ref="PND/0001",
    )
    kw.update(over)
    return EntryProposal(**kw)


MARKER = b"OPENLFR-TEST-IMAGE-MARKER-"


def settle_accounts(svc: GovernanceService) -> None:
    """The fixture's people as if each had set their own password and a second administrator
    had confirmed their roles (tests of the two-person rule itself start from scratch)."""
    from sqlalchemy import update

    with svc.ctx.tx() as s:
        s.execute(
            update(m.User)
            .where(m.User.roles_granted_by.is_not(None), m.User.roles_confirmed_by.is_(None))
            .values(roles_confirmed_by="fixture")
        )
        s.execute(update(m.User).values(password_by_holder=True))


def add_entries(w: World, dep: str, n: int = 3, by: Actor | None = None) -> list[str]:
    ids = []
    for i in range(n):
        eid, _ = w.svc.watchlists.add_entry(
            by or w.compiler,
            dep,
            proposal(subject_ref=f"PND/{i}"),
            template(i),
            MARKER + str(i).encode() * 40,
        )
        ids.append(eid)
    return ids


def live(w: World, **over: Any) -> tuple[str, list[str]]:
    """A deployment authorised, compiled, signed off and started."""
    dep = draft(w, **over)
    if over.get("urgent") and not over.get("judicial_authorisation_id"):
        # A.3: going live before the authority has decided is two officers' decision.
        w.svc.deployments.countersign(w.ao2, dep, "urgent", "imminent threat to life")
    w.svc.deployments.authorise(w.ao1, dep)
    ids = add_entries(w, dep)
    w.svc.watchlists.sign_off(w.ao2, dep)
    w.clock.advance(hours=1)
    w.svc.deployments.start(w.op1, dep)
    return dep, ids


def per_group_section() -> list[dict[str, Any]]:
    """The smallest per-group (demographic) section an evaluation report must carry (C.11)."""
    groups = ("group_a", "group_b")
    return [
        {
            "grouped_by": ["race"],
            "groups": [{"group": g, "images": 100, "identities": 10} for g in groups],
            "at_default_threshold": {
                "fmr": {g: {"value": 1e-4} for g in groups},
                "fnmr": {g: {"value": 0.02} for g in groups},
                "fisher_holm_p": dict.fromkeys(groups, 0.8),
            },
        }
    ]


def report_for(approval: ModelApproval) -> dict[str, Any]:
    """A full evaluation report (JSON object) carrying `approval` and the per-group section."""
    from openlfr.eval.approval import REPORT_KIND

    return {
        "kind": REPORT_KIND,
        "approval": approval.to_dict(),
        "demographics": per_group_section(),
    }


def governance_cli() -> CliRunner:
    """A runner over the governance commands; the app rides on it as `runner.app`."""
    import typer

    from openlfr.cli import governance

    app = typer.Typer()
    governance.register(app)
    runner = CliRunner()
    runner.app = app  # type: ignore[attr-defined]
    return runner


def run_cli(cli: CliRunner, *args: str) -> tuple[int, str]:
    r = cli.invoke(cli.app, list(args))  # type: ignore[attr-defined]
    return r.exit_code, r.output


@contextmanager
def cli_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CliRunner, World]]:
    """The CLI and a world on the same SQLite file, with the world's master key and password."""
    from openlfr.config.settings import get_settings

    monkeypatch.setenv("OPENLFR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPENLFR_PASSWORD", PASSWORD)
    monkeypatch.setenv("OPENLFR_MASTER_KEY", base64.b64encode(KEY).decode())
    monkeypatch.delenv("OPENLFR_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    w = make_world(f"sqlite:///{tmp_path / 'openlfr.sqlite3'}")
    try:
        yield governance_cli(), w
    finally:
        get_settings.cache_clear()
