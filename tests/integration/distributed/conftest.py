from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.nats_secure import SecureNats
from tests.unit.governance._support import postgres_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def nats_server(tmp_path):  # type: ignore[no-untyped-def]
    """The distributed tests run on the broker docs/deployment.md prescribes: mutual TLS,
    nkey users, each worker allowed its own subjects only (docs/nats-server.conf)."""
    import signal

    srv = SecureNats(tmp_path / "nats").start()
    try:
        yield srv
    finally:
        srv.kill(signal.SIGTERM)
