"""The adapter on a real nats-server with JetStream (its own, started per test)."""

from __future__ import annotations

import threading
import time

import pytest

from openlfr.broker.centre import CentreConsumer
from openlfr.broker.client import BrokerClient
from openlfr.broker.messages import CountersMessage
from openlfr.broker.subjects import counters_subject, heartbeat_subject

pytestmark = pytest.mark.nats


def test_durable_publish_survives_a_broker_restart_and_dedupes(nats_server) -> None:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    lock = threading.Lock()

    def ingest(items):  # type: ignore[no-untyped-def]
        out = []
        with lock:
            for ev, _ in items:
                out.append("duplicate" if ev.msg_id in seen else "recorded")
                if ev.msg_id not in seen:
                    seen.append(ev.msg_id)
        return out

    pub = BrokerClient(nats_server.url, name="w").start()
    n = 40
    for i in range(n // 2):
        m = CountersMessage(f"r:{i}", "dep1", "w1", "cam1", 1, 0)
        pub.publish_durable(counters_subject("dep1"), m.to_bytes(), m.msg_id)
    assert pub.flush(10)
    # Re-send one with the same id: JetStream's duplicate window drops it.
    m0 = CountersMessage("r:0", "dep1", "w1", "cam1", 1, 0)
    pub.publish_durable(counters_subject("dep1"), m0.to_bytes(), m0.msg_id)
    assert pub.flush(10)
    nats_server.restart(0.5)
    for i in range(n // 2, n):
        m = CountersMessage(f"r:{i}", "dep1", "w1", "cam1", 1, 0)
        pub.publish_durable(counters_subject("dep1"), m.to_bytes(), m.msg_id)
    assert pub.flush(20)

    centre = BrokerClient(nats_server.url, name="c").start()
    consumer = CentreConsumer(centre, ingest).start()
    deadline = time.monotonic() + 20
    while len(seen) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert sorted(seen) == sorted(f"r:{i}" for i in range(n))
    assert consumer.stats.outcomes.get("duplicate", 0) == 0
    consumer.stop()
    centre.close()
    pub.close()


def test_core_publish_reaches_subscribers_fast(nats_server) -> None:  # type: ignore[no-untyped-def]
    got = threading.Event()
    sub = BrokerClient(nats_server.url, name="s").start(stream=False)
    sub.subscribe(heartbeat_subject("w1"), lambda data: got.set())
    pub = BrokerClient(nats_server.url, name="p").start(stream=False)
    t0 = time.monotonic()
    pub.publish(heartbeat_subject("w1"), b"{}")
    assert got.wait(2)
    assert time.monotonic() - t0 < 1.0
    pub.close()
    sub.close()
