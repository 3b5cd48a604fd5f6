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

from openlfr.broker.client import BrokerClient
from openlfr.broker.messages import AlertMessage, CountersMessage, parse_event
from openlfr.broker.subjects import CENTRE_CONSUMER, EVENTS_STREAM
from openlfr.errors import BrokerMessageError, GovernanceError

log = logging.getLogger(__name__)

Event = AlertMessage | CountersMessage
# (event, redelivered) -> "recorded" | "duplicate"; raises GovernanceError when refused.
Ingest = Callable[[Event, bool], str]


@dataclass
class ConsumerStats:
    outcomes: dict[str, int] = field(default_factory=dict)
    invalid: int = 0
    retried: int = 0

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


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
            for msg in msgs:
                await self._handle(loop, msg)

    async def _handle(self, loop: asyncio.AbstractEventLoop, msg: Any) -> None:
        try:
            event = parse_event(msg.data)
        except BrokerMessageError:
            self.stats.invalid += 1
            log.warning("dropping a message that is not an OpenLFR event on %s", msg.subject)
            await msg.term()
            return
        try:
            redelivered = msg.metadata.num_delivered > 1
            outcome = await loop.run_in_executor(None, self.ingest, event, redelivered)
        except GovernanceError as e:
            # Refused for good (deployment ended, camera not allowed): nothing kept, acked.
            outcome = f"refused:{e.code}"
        except Exception as e:
            self.stats.retried += 1
            log.warning("ingestion failed (%s); redelivering", type(e).__name__)
            with contextlib.suppress(Exception):
                await msg.nak(delay=1.0)
            return
        self.stats.add(outcome.split(":")[0])
        try:
            await msg.ack_sync(timeout=5)
        except Exception:
            # The ack was lost: the message comes back and ingestion finds it a duplicate.
            log.info("ack lost for %s", msg.subject)

    def stop(self) -> None:
        async def cancel() -> None:
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._task

        with contextlib.suppress(Exception):
            self.client.call(cancel(), timeout=5)
