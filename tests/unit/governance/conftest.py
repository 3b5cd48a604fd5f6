from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from openlfr.storage.db import upgrade
from tests.unit.governance._support import World, make_world


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database file; each test gets a copy (migrating each time is the slow part)."""
    path = tmp_path_factory.mktemp("gov") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def world(tmp_path: Path, migrated_sqlite: Path) -> World:
    """A service on a fresh SQLite file with one user of each role (PostgreSQL: integration)."""
    db = tmp_path / "gov.sqlite3"
    shutil.copy(migrated_sqlite, db)
    return make_world(f"sqlite:///{db}", migrate=False)
