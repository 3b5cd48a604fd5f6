"""At-least-once delivery + idempotent ingestion = every alert recorded once, through faults.

A synthetic generator publishes alerts the worker's way (sealed, durable, alert id as message
id) into a real centre process on PostgreSQL over a real nats-server with JetStream. The count
recorded must equal the count published, exactly, with the centre SIGKILLed and restarted
mid-run, or the NATS server restarted mid-run.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from openlfr.broker.auth import worker_inbox
from openlfr.broker.client import BrokerClient
from openlfr.edge.synthetic import synthetic_alerts
from tests.integration.distributed._support import (
    Centre,
    generator_target,
    real_time_world,
    wait_until,
)
from tests.unit.governance._support import World

pytestmark = [pytest.mark.postgres, pytest.mark.nats]
N, RATE = 240, 60.0


def _recorded(w: World, dep: str) -> tuple[int, int]:
    with w.svc.ctx.factory() as s:
        n, distinct = s.execute(
            text(
                "select count(*), count(distinct source_ref) from alerts where deployment_id = :d"
            ),
            {"d": dep},
        ).one()
    return int(n), int(distinct)


def _run(w: World, nats_server, centre: Centre, fault) -> int:  # type: ignore[no-untyped-def]
    t = generator_target(w, "Faults")
    # The generator publishes as the worker would: that worker's credentials, no stream rights.
    creds = nats_server.add_worker(t.worker_id)
    pub = BrokerClient.from_settings(creds, name="gen", inbox_prefix=worker_inbox(t.worker_id))
    pub.start(stream=False)
    sent: list = []
    gen = threading.Thread(target=lambda: sent.extend(synthetic_alerts(pub, t, N, RATE)))
    gen.start()
    wait_until(lambda: _recorded(w, t.deployment_id)[0] >= N // 4, 60, what="first alerts")
    fault()
    gen.join(60)
    assert pub.flush(60), "publisher could not deliver its outbox"
    pub.close()
    wait_until(lambda: _recorded(w, t.deployment_id)[0] >= N, 90, what="all alerts")
    time.sleep(2.0)  # anything redelivered late would show now
    n, distinct = _recorded(w, t.deployment_id)
    assert len(sent) == N
    assert (n, distinct) == (N, N), f"recorded {n}, distinct {distinct}, published {N}"
    return n


def test_centre_sigkill_mid_run_loses_and_duplicates_nothing(
    pg_url: str,
    nats_server,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    w = real_time_world(pg_url)
    centre = Centre(pg_url, nats_server, tmp_path / "centre").start()
    try:

        def fault() -> None:
            centre.kill()
            time.sleep(1.0)
            centre.start()

        assert _run(w, nats_server, centre, fault) == N
    finally:
        centre.kill()


def test_nats_restart_mid_run_loses_and_duplicates_nothing(
    pg_url: str,
    nats_server,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    w = real_time_world(pg_url)
    centre = Centre(pg_url, nats_server, tmp_path / "centre").start()
    try:
        assert _run(w, nats_server, centre, lambda: nats_server.restart(1.0)) == N
    finally:
        centre.kill()
