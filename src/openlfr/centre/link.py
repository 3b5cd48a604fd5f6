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
from collections.abc import Callable
from datetime import datetime
from typing import Any

from openlfr.broker.auth import CENTRE_INBOX
from openlfr.broker.centre import CentreConsumer
from openlfr.broker.client import BrokerClient
from openlfr.broker.messages import dumps, loads
from openlfr.broker.subjects import CENTRE_CONSUMER, HEARTBEAT_PREFIX, control_subject
from openlfr.config.broker import BrokerSettings
from openlfr.errors import OpenLFRError
from openlfr.services.governance import GovernanceService
from openlfr.services.ingest import Ingestor
from openlfr.services.workers import SYSTEM_ACTOR, WorkerService

log = logging.getLogger(__name__)


class CentreLink:
    def __init__(
        self,
        gov: GovernanceService,
        broker: str | BrokerSettings,
        *,
        down_after_s: float = 5.0,
        watch_every_s: float = 0.25,
        engine: Callable[[], Any] | None = None,
    ) -> None:
        self.gov = gov
        self.workers = WorkerService(gov)
        settings = BrokerSettings(url=broker) if isinstance(broker, str) else broker
        self.client = BrokerClient.from_settings(
            settings, name="openlfr-centre", inbox_prefix=CENTRE_INBOX
        )
        # `engine`: the centre's own face engine, to re-score each alert's crop (the worker's
        # arithmetic is not taken on trust).
        ingest = Ingestor(gov, self.workers, engine=engine)
        self.consumer = CentreConsumer(self.client, ingest.batch)
        self.down_after_s, self.watch_every_s = down_after_s, watch_every_s
        self._beats: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=10_000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="centre-link", daemon=True)
        self._live: dict[tuple[str, str], tuple[float | None, str]] = {}
        # (wall time, monotonic time) the broker went away; None while it answers.
        self._gap: tuple[datetime, float] | None = None
        self.check_every_s = 5.0
        self.consumer_state = "unknown"  # "ok" | "unreachable"; for /readyz
        self.alive_at = time.monotonic()  # the link's loop last turned

    def start(self) -> CentreLink:
        self.client.start()
        self.consumer.start()
        self.consumer_state = "ok"
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
        """Signed with the centre's key: a worker obeys nothing else on its control subject."""
        msg = self.workers.control_message(worker_id, action, deployment_id)
        self.client.publish(control_subject(worker_id), dumps(msg))

    def _on_heartbeat(self, data: bytes) -> None:
        # On the broker's loop: hand over, never touch the database here.
        with contextlib.suppress(OpenLFRError, queue.Full):
            self._beats.put_nowait(loads(data))

    def _loop(self) -> None:
        last_down = last_check = prev = time.monotonic()
        grace_until = 0.0
        while not self._stop.wait(self.watch_every_s):
            now = self.alive_at = time.monotonic()
            if now - prev - self.watch_every_s > 1.0:
                # This process itself was stalled (paused, overloaded): the silence was ours,
                # not the workers'. Let their queued heartbeats arrive before judging them.
                grace_until = now + 2.0
            try:
                if not self._broker_ok(now):
                    # Every worker's silence is the broker's, not theirs: judge no one until
                    # it is back and their heartbeats have had time to arrive.
                    grace_until = max(grace_until, now + self.down_after_s + 1.0)
                    prev = time.monotonic()
                    continue
                self._drain_beats()
                self._watch_deployments()
                if now >= grace_until and now - last_down >= 1.0:
                    last_down = now
                    # Asked of the broker itself first: a link that has not yet noticed it
                    # is cut would otherwise pass a broker outage off as workers dying.
                    if not self.client.ping(1.0):
                        self._gap_begins(now)
                        continue
                    for wid in self.workers.mark_down(self.down_after_s):
                        log.warning(
                            "worker %s down: no heartbeat for %.0f s", wid, self.down_after_s
                        )
                if now - last_check >= self.check_every_s:
                    last_check = now
                    self._check_consumer()
            except Exception as e:  # the database away for a moment must not end the link
                log.warning("centre link: %s", type(e).__name__)
            prev = time.monotonic()

    # -- the broker itself ----------------------------------------------------------------------

    def _broker_ok(self, now: float) -> bool:
        if self._gap is None:
            if self.client.connected.is_set():
                return True
            self._gap_begins(now)
            return False
        if not (self.client.connected.is_set() and self.client.ping(1.0)):
            return False
        since, t0 = self._gap
        self._gap = None
        gap_s = round(now - t0, 1)
        log.warning("broker reachable again after %.1f s", gap_s)
        self._audit("broker.gap", {"from": since.isoformat(timespec="milliseconds"),
                                   "seconds": gap_s})  # fmt: skip
        return False  # one more round of grace for the workers' heartbeats

    def _gap_begins(self, now: float) -> None:
        if self._gap is None:
            self._gap = (self.gov.ctx.now(), now)
            log.warning(
                "broker unreachable (%s): no worker is marked down while it is away",
                self.client.last_error or "disconnected",
            )

    @property
    def broker_gap_since(self) -> datetime | None:
        return self._gap[0] if self._gap is not None else None

    def _check_consumer(self) -> None:
        """The durable consumer must exist: without it alerts wait in the stream unrecorded.
        Gone (deleted by someone with stream rights, or the stream was recreated): made again,
        and audited."""
        self.consumer_state = self.consumer.ensure()
        if self.consumer_state == "recreated":
            log.warning("the broker's consumer %r was missing: recreated", CENTRE_CONSUMER)
            self._audit("broker.consumer_recreated", {"consumer": CENTRE_CONSUMER})
            self.consumer_state = "ok"

    def _audit(self, action: str, after: dict[str, Any]) -> None:
        with self.gov.ctx.tx() as s:
            self.gov.ctx.audit(s, SYSTEM_ACTOR, action, "broker", after=after)

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
