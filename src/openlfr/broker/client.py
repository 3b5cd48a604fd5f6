"""A NATS connection on its own asyncio thread, for the synchronous pipeline and service code.

`publish_durable` is at least once: the message waits in a bounded in-memory outbox (never on
disk: it is an alert) and is re-sent until JetStream acks it, under a Nats-Msg-Id that lets
the stream drop a re-send it already holds. Core publishes (heartbeats) are fire and forget.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from openlfr.broker.subjects import DUPLICATE_WINDOW_S, EVENTS_STREAM, event_subjects
from openlfr.errors import BrokerError

log = logging.getLogger(__name__)
REPLICAS_ENV = "OPENLFR_BROKER_REPLICAS"  # JetStream replicas of a new events stream
T = TypeVar("T")
Handler = Callable[[bytes], Awaitable[None] | None]


async def ensure_stream(js: JetStreamContext, replicas: int | None = None) -> None:
    """Create the events stream if it is missing; an existing one (e.g. made R3 by the
    operator in a cluster) is left as it is."""
    try:
        await js.stream_info(EVENTS_STREAM)
        return
    except nats.js.errors.NotFoundError:
        pass
    cfg = StreamConfig(
        name=EVENTS_STREAM,
        subjects=event_subjects(),
        storage=StorageType.FILE,
        # Deleted once the centre acks: the broker keeps nothing it no longer has to.
        retention=RetentionPolicy.WORK_QUEUE,
        duplicate_window=DUPLICATE_WINDOW_S,
        num_replicas=replicas or int(os.environ.get(REPLICAS_ENV, "1")),
    )
    with contextlib.suppress(nats.js.errors.BadRequestError):  # made meanwhile by another
        await js.add_stream(cfg)


class BrokerClient:
    def __init__(
        self,
        url: str,
        *,
        name: str,
        outbox_max: int = 10_000,
        connect_timeout_s: float = 10.0,
        **options: Any,
    ) -> None:
        self.url, self.name, self.options = url, name, options
        self.outbox_max = outbox_max
        self.connect_timeout_s = connect_timeout_s
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name=f"nats:{name}", daemon=True
        )
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._outbox: collections.deque[tuple[str, bytes, str]] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._sender: asyncio.Task[None] | None = None
        self.published = 0
        self.dropped = 0
        self.connected = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, *, stream: bool = True) -> BrokerClient:
        self._thread.start()
        self.call(self._connect(stream), timeout=self.connect_timeout_s + 5)
        return self

    async def _connect(self, stream: bool) -> None:
        async def disconnected() -> None:
            self.connected.clear()
            log.warning("broker disconnected (%s)", self.name)

        async def reconnected() -> None:
            self.connected.set()
            log.info("broker reconnected (%s)", self.name)
            if self._wake is not None:
                self._wake.set()

        async def error(e: Exception) -> None:
            log.debug("broker error (%s): %s", self.name, type(e).__name__)

        try:
            self.nc = await nats.connect(
                [u.strip() for u in self.url.split(",") if u.strip()],  # a cluster: any of them
                name=self.name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=self.connect_timeout_s,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=error,
                **self.options,
            )
        except Exception as e:
            raise BrokerError(f"cannot connect: {type(e).__name__}", source=self.url) from None
        self.connected.set()
        self.js = self.nc.jetstream()
        if stream:
            await ensure_stream(self.js)
        self._wake = asyncio.Event()
        self._sender = asyncio.create_task(self._send_loop())

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self, drain_s: float = 5.0) -> None:
        """Send what the outbox holds (up to `drain_s`), then disconnect."""
        if not self._thread.is_alive():
            return

        async def _close() -> None:
            deadline = self.loop.time() + drain_s
            while self._outbox and self.loop.time() < deadline:
                await asyncio.sleep(0.05)
            if self._sender is not None:
                self._sender.cancel()
            if self.nc is not None and not self.nc.is_closed:
                # Closing a dead link must not hang shutdown.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.nc.close(), 3)

        try:
            self.call(_close(), timeout=drain_s + 5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)

    # -- publishing -------------------------------------------------------------------------

    @property
    def outbox_size(self) -> int:
        return len(self._outbox)

    def publish_durable(self, subject: str, data: bytes, msg_id: str) -> None:
        """Queue for JetStream; returns at once. The oldest message is dropped (and counted)
        only when the outbox is full, i.e. the broker has been away for a long time."""

        def put() -> None:
            if len(self._outbox) >= self.outbox_max:
                self._outbox.popleft()
                self.dropped += 1
            self._outbox.append((subject, data, msg_id))
            if self._wake is not None:
                self._wake.set()

        self.loop.call_soon_threadsafe(put)

    async def _send_loop(self) -> None:
        assert self._wake is not None
        backoff = 0.1
        while True:
            if not self._outbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            subject, data, msg_id = self._outbox[0]
            try:
                assert self.js is not None
                await self.js.publish(subject, data, timeout=2.0, headers={"Nats-Msg-Id": msg_id})
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.debug("publish retry (%s): %s", self.name, type(e).__name__)
                await asyncio.sleep(backoff)
                backoff = min(2.0, backoff * 2)
                continue
            backoff = 0.1
            self._outbox.popleft()
            self.published += 1

    def publish(self, subject: str, data: bytes) -> None:
        """Core NATS, fire and forget (heartbeats, control)."""

        async def pub() -> None:
            if self.nc is not None and self.nc.is_connected:
                try:
                    await self.nc.publish(subject, data)
                except Exception as e:
                    log.debug("core publish failed (%s): %s", self.name, type(e).__name__)

        asyncio.run_coroutine_threadsafe(pub(), self.loop)

    def subscribe(self, subject: str, handler: Handler) -> None:
        async def cb(msg: Msg) -> None:
            try:
                r = handler(msg.data)
                if asyncio.iscoroutine(r):
                    await r
            except Exception:
                log.exception("handler failed on %s", msg.subject)

        async def sub() -> None:
            assert self.nc is not None
            await self.nc.subscribe(subject, cb=cb)

        self.call(sub())

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the outbox is empty; False on timeout."""

        async def wait() -> bool:
            deadline = self.loop.time() + timeout
            while self._outbox:
                if self.loop.time() > deadline:
                    return False
                await asyncio.sleep(0.02)
            return True

        return self.call(wait(), timeout=timeout + 5)
