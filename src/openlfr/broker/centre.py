"""The centre's side of the broker: a durable pull consumer of the events stream.

Each message is acked only after its effect is committed (recorded, or found already recorded,
or refused by governance), so a centre killed mid-batch gets the rest redelivered and the
idempotent ingestion turns at-least-once delivery into exactly-once effect. A failure that may
pass (database away) is nak'ed with a delay, never acked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from openlfr.broker.client import BrokerClient, ensure_stream
from openlfr.broker.messages import AlertMessage, CountersMessage, parse_event
from openlfr.broker.subjects import CENTRE_CONSUMER, EVENTS_STREAM
from openlfr.errors import BrokerMessageError, OpenLFRError

log = logging.getLogger(__name__)

Event = AlertMessage | CountersMessage
# [(event, redelivered)] -> per item "recorded" | "duplicate", or the error it met
# (an OpenLFRError is a refusal for good; anything else may pass and is retried).
Ingest = Callable[[list[tuple[Event, bool]]], list[str | BaseException]]


@dataclass
class ConsumerStats:
    outcomes: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)  # by error code
    invalid: int = 0
    retried: int = 0
    received: int = 0
    redelivered: int = 0

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome.startswith("refused:"):
            code = outcome.split(":", 1)[1]
            self.refused[code] = self.refused.get(code, 0) + 1


class CentreConsumer:
    def __init__(
        self, client: BrokerClient, ingest: Ingest, *, batch: int = 64, ack_wait_s: float = 30.0
    ) -> None:
        self.client, self.ingest, self.batch, self.ack_wait_s = client, ingest, batch, ack_wait_s
        self.stats = ConsumerStats()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> CentreConsumer:
        self.client.call(self._start())
        return self

    def ensure(self, timeout: float = 5.0) -> str:
        """Check the durable consumer is there: "ok", "recreated" (it, or the stream, was
        gone: someone deleted it; made again, and what the stream still holds is delivered
        to it), or "unreachable" (the broker did not answer)."""
        try:
            return self.client.call(self._ensure(), timeout=timeout)
        except Exception:
            return "unreachable"

    async def _ensure(self) -> str:
        js = self.client.js
        assert js is not None
        try:
            await js.consumer_info(EVENTS_STREAM, CENTRE_CONSUMER, timeout=2.0)
            return "ok"
        except NotFoundError:
            pass
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await ensure_stream(js)
        await self._start()
        return "recreated"

    async def _start(self) -> None:
        js = self.client.js
        assert js is not None
        psub = await js.pull_subscribe(
            "",
            durable=CENTRE_CONSUMER,
            stream=EVENTS_STREAM,
            config=ConsumerConfig(
                durable_name=CENTRE_CONSUMER,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                ack_wait=self.ack_wait_s,
                max_ack_pending=self.batch * 4,
            ),
        )
        self._task = asyncio.create_task(self._loop(psub))

    async def _loop(self, psub: Any) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                msgs = await psub.fetch(self.batch, timeout=0.5)
            except asyncio.CancelledError:
                raise
            except Exception:  # nats TimeoutError when idle, or a broker restart
                await asyncio.sleep(0.05)
                continue
            await self._handle(loop, msgs)

    async def _handle(self, loop: asyncio.AbstractEventLoop, msgs: list[Any]) -> None:
        batch: list[tuple[Any, Event]] = []
        for msg in msgs:
            try:
                batch.append((msg, parse_event(msg.data)))
            except BrokerMessageError:
                self.stats.invalid += 1
                log.warning("dropping a message that is not an OpenLFR event on %s", msg.subject)
                await msg.term()
        if not batch:
            return
        items = [(ev, msg.metadata.num_delivered > 1) for msg, ev in batch]
        self.stats.received += len(items)
        self.stats.redelivered += sum(r for _, r in items)
        try:
            results = await loop.run_in_executor(None, self.ingest, items)
        except Exception as e:  # the whole batch failed (database away): all come back
            results = [e] * len(batch)
        for (msg, _), r in zip(batch, results, strict=True):
            if isinstance(r, OpenLFRError):
                # Refused for good (deployment ended, camera not allowed, wrong model): nothing
                # kept, acked. Anything else (database away) may pass: redelivered.
                r = f"refused:{r.code}"
            if isinstance(r, BaseException):
                self.stats.retried += 1
                log.warning("ingestion failed (%s); redelivering", type(r).__name__)
                with contextlib.suppress(Exception):
                    await msg.nak(delay=1.0)
                continue
            self.stats.add(r.split(":")[0])
            # A lost ack only means a redelivery, which ingestion finds to be a duplicate.
            with contextlib.suppress(Exception):
                await msg.ack()

    def stop(self) -> None:
        async def cancel() -> None:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task

        with contextlib.suppress(Exception):
            self.client.call(cancel(), timeout=5)
