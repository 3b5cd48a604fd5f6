from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nats_server import nats_server  # noqa: F401
from tests.unit.governance._support import postgres_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url
