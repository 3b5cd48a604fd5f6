"""Health and metrics of the processes on the broker: a collector for the centre's registry
(ingestion, broker link, each worker's heartbeat age) and a worker's own small endpoint.

Counts and states only: worker and camera ids name devices, never a person.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

if TYPE_CHECKING:
    from openlfr.edge.worker import Worker


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    g = GaugeMetricFamily(name, doc)
    g.add_metric([], value)
    return g


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    c = CounterMetricFamily(name, doc)
    c.add_metric([], value)
    return c


class WorkerCollector:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[Metric]:
        w = self.worker
        yield _gauge("openlfr_worker_broker_connected", "1 while the broker link is up",
                     w.broker.connected.is_set())  # fmt: skip
        yield _gauge("openlfr_worker_centre_ok", "1 while the centre answers", w.centre_ok)
        yield _gauge("openlfr_worker_outbox", "Events waiting for the broker", w.broker.outbox_size)
        yield _counter("openlfr_worker_published", "Events the broker acked", w.broker.published)
        yield _counter(
            "openlfr_worker_outbox_dropped", "Events dropped from a full outbox", w.broker.dropped
        )
        fams = {
            k: GaugeMetricFamily(f"openlfr_worker_camera_{k}", doc, labels=["camera"])
            for k, doc in (("frames", "Frames processed in the current run"),
                           ("dropped", "Frames dropped to stay live in the current run"),
                           ("alerts", "Alerts raised in the current run"),
                           ("fps", "Frames per second"),
                           ("running", "1 while the camera runs"))
        }  # fmt: skip
        for cam, c in w.status()["cameras"].items():
            for k in ("frames", "dropped", "alerts", "fps"):
                fams[k].add_metric([cam], float(c[k]))
            fams["running"].add_metric([cam], float(c["state"] == "running"))
        yield from fams.values()


class WorkerEndpoint:
    """`/healthz` (JSON; 503 unless the broker link is up and the centre answers within the
    lease) and `/metrics` (Prometheus), on loopback unless told otherwise."""

    def __init__(self, worker: Worker, port: int, host: str = "127.0.0.1") -> None:
        self.worker = worker
        self.registry = CollectorRegistry()
        self.registry.register(WorkerCollector(worker))
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/metrics":
                    body, ctype, code = generate_latest(endpoint.registry), CONTENT_TYPE_LATEST, 200
                elif self.path == "/healthz":
                    h = endpoint.health()
                    body, ctype = json.dumps(h).encode(), "application/json"
                    code = 200 if h["ok"] else 503
                else:
                    body, ctype, code = b"not found\n", "text/plain", 404
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:  # requests are not worth a log line
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="worker-health", daemon=True
        )

    def health(self) -> dict[str, Any]:
        w = self.worker
        broker = w.broker.connected.is_set()
        centre_age = time.monotonic() - w.last_ok
        st = w.status()
        why = []
        if not broker:
            why.append("broker unreachable")
        if not w.centre_ok:
            why.append(f"centre unanswered for {centre_age:.0f} s")
        return {
            "ok": not why,
            "why": why,
            "worker_id": w.worker_id,
            "broker_connected": broker,
            "outbox": st["outbox"],
            "cameras": {c: v["state"] for c, v in st["cameras"].items()},
        }

    def start(self) -> WorkerEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
