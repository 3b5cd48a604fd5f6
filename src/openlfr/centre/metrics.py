"""The centre's link metrics, read at scrape time (the centre side of edge/health.py: it reads
the database, which nothing a worker loads may do)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from openlfr.edge.health import _counter, _gauge

if TYPE_CHECKING:
    from openlfr.centre.link import CentreLink


class CentreCollector:
    """Read at scrape time from the link's own state (and one query for heartbeat ages)."""

    def __init__(self, link: CentreLink) -> None:
        self.link = link

    def collect(self) -> Iterator[Metric]:
        st = self.link.consumer.stats
        yield _counter("openlfr_ingest_received", "Events fetched from the broker", st.received)
        yield _counter(
            "openlfr_ingest_redelivered", "Events fetched again (not acked in time)",
            st.redelivered,
        )  # fmt: skip
        out = CounterMetricFamily(
            "openlfr_ingest_outcomes", "Events by outcome: recorded, duplicate, held, refused",
            labels=["outcome"],
        )  # fmt: skip
        for k, v in sorted(st.outcomes.items()):
            out.add_metric([k], v)
        yield out
        ref = CounterMetricFamily(
            "openlfr_ingest_refused", "Events refused for good, by reason", labels=["reason"]
        )
        for k, v in sorted(st.refused.items()):
            ref.add_metric([k], v)
        yield ref
        yield _counter(
            "openlfr_ingest_retried", "Batches that failed (database away): redelivered",
            st.retried,
        )  # fmt: skip
        yield _counter("openlfr_ingest_invalid", "Messages that were no OpenLFR event", st.invalid)
        up = self.link.broker_gap_since is None and self.link.client.connected.is_set()
        yield _gauge("openlfr_broker_connected", "1 while the centre's broker link is up", up)
        yield _gauge(
            "openlfr_broker_consumer_ok", "1 while the durable consumer exists",
            self.link.consumer_state == "ok",
        )  # fmt: skip
        ages = GaugeMetricFamily(
            "openlfr_worker_heartbeat_age_seconds",
            "Seconds since each current worker's last accepted heartbeat",
            labels=["worker"],
        )
        try:
            for wid, age in self._ages():
                ages.add_metric([wid], age)
        except Exception:  # the database away: the scrape still answers
            pass
        yield ages

    def _ages(self) -> list[tuple[str, float]]:
        from sqlalchemy import select

        from openlfr.storage import models_workers as mw

        ctx = self.link.gov.ctx
        now = ctx.now()
        with ctx.factory() as s:
            q = select(mw.Worker.id, mw.Worker.last_seen_at).where(
                mw.Worker.revoked_at.is_(None), mw.Worker.last_seen_at.is_not(None)
            )
            rows = s.execute(q).all()
        out = []
        for wid, seen in rows:
            if seen is None:
                continue
            seen = seen if seen.tzinfo else seen.replace(tzinfo=UTC)
            out.append((wid, max(0.0, (now - seen).total_seconds())))
        return out
