"""The centre's link to its workers over the broker (`openlfr serve --broker`).

Consumes the events stream into governance (services/ingest.py), records heartbeats and marks
a silent worker down after `down_after_s` (its cameras' gap audited), and pushes control
messages: `stop` the moment a deployment stops being live (ended, cancelled, window closed) or
is unassigned, `revoked` when a worker's token is revoked, `refresh` when one becomes live.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from typing import Any

from openlfr.broker.auth import CENTRE_INBOX
from openlfr.broker.centre import CentreConsumer
from openlfr.broker.client import BrokerClient
from openlfr.broker.messages import dumps, loads
from openlfr.broker.subjects import HEARTBEAT_PREFIX, control_subject
from openlfr.config.broker import BrokerSettings
from openlfr.errors import OpenLFRError
from openlfr.services.governance import GovernanceService
from openlfr.services.ingest import Ingestor
from openlfr.services.workers import WorkerService

log = logging.getLogger(__name__)


class CentreLink:
    def __init__(
        self,
        gov: GovernanceService,
        broker: str | BrokerSettings,
        *,
        down_after_s: float = 5.0,
        watch_every_s: float = 0.25,
    ) -> None:
        self.gov = gov
        self.workers = WorkerService(gov)
        settings = BrokerSettings(url=broker) if isinstance(broker, str) else broker
        self.client = BrokerClient.from_settings(
            settings, name="openlfr-centre", inbox_prefix=CENTRE_INBOX
        )
        self.consumer = CentreConsumer(self.client, Ingestor(gov, self.workers).batch)
        self.down_after_s, self.watch_every_s = down_after_s, watch_every_s
        self._beats: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=10_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="centre-link", daemon=True)
        self._live: dict[tuple[str, str], tuple[float | None, str]] = {}

    def start(self) -> CentreLink:
        self.client.start()
        self.consumer.start()
        self.client.subscribe(f"{HEARTBEAT_PREFIX}.*", self._on_heartbeat)
        self._live = self.workers.live_assignments()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.consumer.stop()
        self.client.close(drain_s=1)

    def control(self, worker_id: str, action: str, deployment_id: str | None = None) -> None:
        msg = {"action": action, "deployment_id": deployment_id, "at": time.time()}
        self.client.publish(control_subject(worker_id), dumps(msg))

    def _on_heartbeat(self, data: bytes) -> None:
        # On the broker's loop: hand over, never touch the database here.
        with contextlib.suppress(OpenLFRError, queue.Full):
            self._beats.put_nowait(loads(data))

    def _loop(self) -> None:
        last_down = prev = time.monotonic()
        grace_until = 0.0
        while not self._stop.wait(self.watch_every_s):
            now = time.monotonic()
            if now - prev - self.watch_every_s > 1.0:
                # This process itself was stalled (paused, overloaded): the silence was ours,
                # not the workers'. Let their queued heartbeats arrive before judging them.
                grace_until = now + 2.0
            try:
                self._drain_beats()
                self._watch_deployments()
                if now >= grace_until and now - last_down >= 1.0:
                    last_down = now
                    for wid in self.workers.mark_down(self.down_after_s):
                        log.warning(
                            "worker %s down: no heartbeat for %.0f s", wid, self.down_after_s
                        )
            except Exception as e:  # the database away for a moment must not end the link
                log.warning("centre link: %s", type(e).__name__)
            prev = time.monotonic()

    def _drain_beats(self) -> None:
        latest: dict[str, dict[str, Any]] = {}
        while True:
            try:
                b = self._beats.get_nowait()
            except queue.Empty:
                break
            if isinstance(b.get("worker_id"), str):
                latest[b["worker_id"]] = b
        for wid, b in latest.items():
            self.workers.heartbeat(wid, b)

    def _watch_deployments(self) -> None:
        live = self.workers.live_assignments()
        for wid, dep in self._live.keys() - live.keys():
            self.control(wid, "stop", dep)
        for key, state in live.items():
            # Newly live, another threshold, or an entry added or removed: re-poll now.
            if key not in self._live or self._live[key] != state:
                self.control(key[0], "refresh", key[1])
        self._live = live
