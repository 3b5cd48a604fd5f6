from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.unit.api._support import app_for, world
from tests.unit.governance._support import World


@pytest.fixture
def w(tmp_path: Path) -> World:
    return world(tmp_path)


@pytest.fixture
def client(w: World) -> Iterator[TestClient]:
    with TestClient(app_for(w)) as c:
        yield c
