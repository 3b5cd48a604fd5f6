"""The Alembic migrations build exactly the ORM's schema, and go down again."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from openlfr.storage.db import alembic_config, current_revision, make_engine, upgrade


def test_upgrade_matches_models_and_downgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm' / 'db.sqlite3'}"
    upgrade(url)  # creates the missing folder too
    engine = make_engine(url)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None and current_revision(engine) == head  # one head: chained migrations
    command.check(alembic_config(url))  # raises if models and migrations differ
    assert "audit_log" in inspect(engine).get_table_names()
    command.downgrade(alembic_config(url), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}


def _schema(url: str) -> list[tuple[str, str, str]]:
    engine = make_engine(url)
    with engine.connect() as c:
        rows = c.exec_driver_sql("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")
        schema = sorted((str(t), str(n), str(s)) for t, n, s in rows)
    engine.dispose()
    return schema


def test_downgrade_then_upgrade_rebuilds_the_same_schema(tmp_path: Path) -> None:
    # Every downgrade undoes exactly its upgrade: tables, constraint and index names, and DDL
    # text all come back the same (the migrations build tables through local helpers).
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    first = _schema(url)
    assert ("index", "ix_monitor_events_deployment_id") in {(t, n) for t, n, _ in first}
    command.downgrade(alembic_config(url), "base")
    upgrade(url)
    assert _schema(url) == first
