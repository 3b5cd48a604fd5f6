"""Issue 19, finding 8 (and the end of finding 2): a broker outage looked like every worker
dying, health said all was well, a worker started before the broker died of a bare
TimeoutError, and a deleted consumer left alerts unrecorded for good.

Real processes (`openlfr serve` with its broker options, `openlfr worker`) on the docs'
broker (mutual TLS, nkey users). While the broker is away: /readyz says so with the reason,
the worker's own /healthz says so, a worker started meanwhile waits and says why, and no
worker is marked down; afterwards the audit log has a `broker.gap`, not `worker.down`. A
consumer deleted behind the centre's back is made again, audited, and the alerts waiting in
the stream are recorded.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from openlfr.broker.auth import CENTRE_INBOX, worker_inbox
from openlfr.broker.client import BrokerClient
from openlfr.broker.subjects import CENTRE_CONSUMER, EVENTS_STREAM
from openlfr.edge.synthetic import synthetic_alerts
from openlfr.services.workers import WorkerService
from tests.integration.distributed._support import (
    Centre,
    free_port,
    generator_target,
    real_time_world,
    start_worker,
    wait_until,
)
from tests.nats_secure import SecureNats, secure_nats  # noqa: F401
from tests.unit.governance._support import World, postgres_database

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


def _audit(w: World, action: str) -> list[tuple[str, dict[str, Any]]]:
    with w.svc.ctx.factory() as s:
        rows = s.execute(
            text("select subject, after_json from audit_log where action = :a"),
            {"a": action},
        ).all()
    return [(subj, json.loads(a or "{}")) for subj, a in rows]


def _seen(w: World, wid: str) -> tuple[Any, Any]:
    with w.svc.ctx.factory() as s:
        return tuple(  # type: ignore[return-value]
            s.execute(
                text("select last_seen_at, down_since from workers where id = :i"), {"i": wid}
            ).one()
        )


METRICS_TOKEN = "scrape-" + "x" * 24
METRICS = {"OPENLFR_API__METRICS_TOKEN": METRICS_TOKEN}


def _metrics(base: str) -> dict[str, float]:
    r = httpx.get(
        base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
    )
    assert r.status_code == 200, r.text
    out = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        r = httpx.get(url, timeout=3)
    except httpx.HTTPError:
        return 0, {}
    return r.status_code, r.json()


def test_a_broker_gap_is_not_workers_dying(
    pg_url: str,
    secure_nats: SecureNats,  # noqa: F811
    tmp_path: Path,
) -> None:
    nats = secure_nats
    w = real_time_world(pg_url)
    ws = WorkerService(w.svc)
    w1, tok1 = ws.issue(w.admin, "van-1")
    w2, tok2 = ws.issue(w.admin, "van-2")
    centre = Centre(pg_url, nats, tmp_path / "centre", METRICS).start()
    hp1 = free_port()
    p1 = start_worker(centre.url, nats, tok1, {}, tmp_path / "w1", "--health-port", str(hp1))
    p2 = None
    try:
        wait_until(lambda: _seen(w, w1)[0] is not None, 60, what="first heartbeat")
        wait_until(lambda: _get(f"http://127.0.0.1:{hp1}/healthz")[0] == 200, 30)
        code, ready = _get(centre.url + "/readyz")
        assert code == 200 and ready["checks"]["broker"]["ok"], ready
        m = _metrics(centre.url)
        assert m["openlfr_broker_connected"] == 1.0
        assert m[f'openlfr_worker_heartbeat_age_seconds{{worker="{w1}"}}'] < 5.0
        wm = httpx.get(f"http://127.0.0.1:{hp1}/metrics", timeout=5).text
        assert "openlfr_worker_broker_connected 1.0" in wm

        nats.kill()
        # The centre says what is wrong, and so does the worker.
        code, ready = wait_until(
            lambda: (r := _get(centre.url + "/readyz"))[0] == 503 and r, 15, what="not ready"
        )
        assert "broker unreachable" in ready["checks"]["broker"]["why"], ready
        assert _metrics(centre.url)["openlfr_broker_connected"] == 0.0
        code, h = wait_until(
            lambda: (r := _get(f"http://127.0.0.1:{hp1}/healthz"))[0] == 503 and r, 15
        )
        assert "broker unreachable" in h["why"], h
        # A worker started now waits for the broker instead of dying.
        p2 = start_worker(centre.url, nats, tok2, {}, tmp_path / "w2")
        wait_until(
            lambda: "retrying in" in (tmp_path / "w2" / "worker.log").read_text(), 30,
            what="the late worker to say why it waits",
        )  # fmt: skip
        log2 = (tmp_path / "w2" / "worker.log").read_text()
        assert "WARNING" in log2 and "cannot connect to the broker" in log2, log2
        assert "Traceback" not in log2
        # Longer than a worker may be silent (5 s) before it is marked down.
        threading.Event().wait(8.0)
        assert p1.poll() is None and p2.poll() is None

        nats.start()
        wait_until(lambda: _get(centre.url + "/readyz")[0] == 200, 60, what="ready again")
        wait_until(lambda: _seen(w, w2)[0] is not None, 60, what="the late worker's heartbeat")
        threading.Event().wait(7.0)  # past the grace a worker gets after a gap
        assert _audit(w, "worker.down") == [], "a broker gap was audited as workers down"
        (gap,) = _audit(w, "broker.gap")
        assert gap[0] == "broker" and gap[1]["seconds"] >= 5, gap
        assert _seen(w, w1)[1] is None and _seen(w, w2)[1] is None
        assert _get(f"http://127.0.0.1:{hp1}/healthz")[0] == 200
    finally:
        for p in (p1, p2):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)
        centre.kill(signal.SIGTERM)


def test_a_deleted_consumer_is_made_again_and_nothing_is_lost(
    pg_url: str,
    secure_nats: SecureNats,  # noqa: F811
    tmp_path: Path,
) -> None:
    nats = secure_nats
    w = real_time_world(pg_url)
    t = generator_target(w, "Consumer")
    centre = Centre(pg_url, nats, tmp_path / "centre", METRICS).start()
    try:
        # Someone with stream rights (an operator's slip, or the centre's stolen credentials)
        # deletes the durable consumer.
        admin = BrokerClient.from_settings(nats.centre, name="slip", inbox_prefix=CENTRE_INBOX)
        admin.start(stream=False)
        assert admin.js is not None
        js = admin.js
        assert admin.call(js.delete_consumer(EVENTS_STREAM, CENTRE_CONSUMER))
        admin.close(0)
        creds = nats.add_worker(t.worker_id)
        pub = BrokerClient.from_settings(creds, name="gen", inbox_prefix=worker_inbox(t.worker_id))
        pub.start(stream=False)
        sent = synthetic_alerts(pub, t, 5, 50.0)
        assert pub.flush(30)
        pub.close()

        def recorded() -> int:
            with w.svc.ctx.factory() as s:
                return int(
                    s.execute(
                        text("select count(*) from alerts where deployment_id = :d"),
                        {"d": t.deployment_id},
                    ).scalar_one()
                )

        wait_until(lambda: recorded() == len(sent), 60, what="alerts after the consumer is back")
        (event,) = _audit(w, "broker.consumer_recreated")
        assert event[1]["consumer"] == CENTRE_CONSUMER
        assert _get(centre.url + "/readyz")[0] == 200
        m = _metrics(centre.url)
        assert m['openlfr_ingest_outcomes_total{outcome="recorded"}'] == len(sent)
        assert m["openlfr_ingest_received_total"] >= len(sent)
        assert m["openlfr_broker_consumer_ok"] == 1.0
    finally:
        centre.kill(signal.SIGTERM)
