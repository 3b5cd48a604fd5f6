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
import ssl
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig

from openlfr.broker.auth import connect_options, require_url
from openlfr.broker.subjects import DUPLICATE_WINDOW_S, EVENTS_STREAM, event_subjects
from openlfr.config.broker import BrokerSettings, redact
from openlfr.errors import BrokerRefusedError, BrokerUnreachable

log = logging.getLogger(__name__)
# asyncio's SSL transport says this at WARNING whenever a TLS peer closes (the broker going
# away, or our own close): noise that would hide the warnings that matter.
logging.getLogger("asyncio").addFilter(
    lambda r: "eof_received() has no effect when using ssl" not in r.getMessage()
)
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
        self._closing = False
        self.last_error: str | None = None  # what the broker last refused, for health
        self._outbox: collections.deque[tuple[str, bytes, str]] = collections.deque()
        self._wake: asyncio.Event | None = None
        self._sender: asyncio.Task[None] | None = None
        self.published = 0
        self.dropped = 0
        self.connected = threading.Event()

    @classmethod
    def from_settings(
        cls, settings: BrokerSettings, *, name: str, inbox_prefix: str | None = None, **kw: Any
    ) -> BrokerClient:
        """The way `serve --broker` and `openlfr worker` connect: TLS and credentials from
        the one settings class both take."""
        opts = connect_options(settings, inbox_prefix=inbox_prefix)
        return cls(require_url(settings), name=name, **opts, **kw)

    # -- lifecycle ------------------------------------------------------------------------

    def start(
        self, *, stream: bool = True, retry_until: threading.Event | None = None
    ) -> BrokerClient:
        """Connect. A broker that cannot be reached raises BrokerUnreachable, or with
        `retry_until` is retried with back-off (each try logged at WARNING with why) until it
        answers or the event is set. A broker that refuses these credentials or whose
        certificate does not verify raises BrokerRefusedError at once: retrying cannot help."""
        self._thread.start()
        backoff = 0.5
        while True:
            try:
                self.call(self._connect(stream), timeout=self.connect_timeout_s + 10)
                return self
            except BrokerUnreachable as e:
                if retry_until is None:
                    raise
                log.warning("%s; retrying in %.1f s", e, backoff)
                if retry_until.wait(backoff):
                    raise
                backoff = min(30.0, backoff * 2)

    async def _connect(self, stream: bool) -> None:
        async def disconnected() -> None:
            self.connected.clear()
            if self.js is not None and not self._closing:
                log.warning("broker disconnected (%s)", self.name)

        async def reconnected() -> None:
            self.connected.set()
            log.info("broker reconnected (%s)", self.name)
            if self._wake is not None:
                self._wake.set()

        first: list[BaseException] = []
        failed = asyncio.Event()
        servers = [u.strip() for u in self.url.split(",") if u.strip()]  # a cluster: any

        async def error(e: Exception) -> None:
            why = _why(e, self.options)
            if self.js is None:  # still connecting
                first.append(e)
                if _refused(e) or len(first) >= len(servers):
                    failed.set()
            elif "violation" in why.lower():
                # The broker refused something this client tried: a misconfigured permission
                # (or an attack from these credentials) the operator must see.
                self.last_error = why
                log.warning("broker refused (%s): %s", self.name, why)
            else:
                self.last_error = why
                log.debug("broker error (%s): %s", self.name, why)

        nc = Client()
        kw: dict[str, Any] = dict(
            name=self.name,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            connect_timeout=self.connect_timeout_s,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
        connecting = asyncio.ensure_future(nc.connect(servers, **kw, **self.options))
        waiting = asyncio.ensure_future(failed.wait())
        await asyncio.wait(
            {connecting, waiting}, timeout=self.connect_timeout_s, return_when="FIRST_COMPLETED"
        )
        waiting.cancel()
        if not connecting.done() or connecting.exception() is not None:
            # nats-py retries a first connection forever with max_reconnect_attempts=-1; the
            # errors it met say whether to try again later or to stop.
            connecting.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(nc.close(), 2)
            if not connecting.cancelled() and connecting.done() and connecting.exception():
                first.append(connecting.exception())  # type: ignore[arg-type]
            e = next((x for x in first if _refused(x)), first[-1] if first else None)
            why = _why(e, self.options) if e is not None else "no answer"
            cls = BrokerRefusedError if e is not None and _refused(e) else BrokerUnreachable
            raise cls(f"cannot connect to the broker: {why}", source=redact(self.url))
        self.nc = nc
        self.connected.set()
        self.js = self.nc.jetstream()
        if stream:
            await ensure_stream(self.js)
        self._wake = asyncio.Event()
        self._sender = asyncio.create_task(self._send_loop())

    def ping(self, timeout: float = 1.0) -> bool:
        """A round trip to the broker now: the truth about the link, where `connected` only
        says no disconnection has been noticed yet."""

        async def rtt() -> None:
            assert self.nc is not None
            await self.nc.flush(timeout=max(1, int(timeout)))

        if self.nc is None or not self.nc.is_connected:
            return False
        try:
            self.call(rtt(), timeout=timeout + 1)
            return True
        except Exception:
            return False

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self, drain_s: float = 5.0) -> None:
        """Send what the outbox holds (up to `drain_s`), then disconnect."""
        if not self._thread.is_alive():
            return

        self._closing = True

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


def _refused(e: BaseException) -> bool:
    """The broker answered and said no (credentials, permissions, TLS trust): final."""
    if isinstance(e, nats.errors.AuthorizationError | ssl.SSLCertVerificationError):
        return True
    if isinstance(e, nats.errors.SecureConnRequiredError | nats.errors.SecureConnWantedError):
        return True
    text = str(e).lower()
    return "authorization" in text or "authentication" in text or "certificate" in text


def _why(e: BaseException, options: dict[str, Any]) -> str:
    """An error as an operator may read it: its type and the broker's words (e.g.
    'Authorization Violation'), with any secret this client holds cut out."""
    text = str(e).strip()
    for secret in (options.get("password"), options.get("token")):
        if isinstance(secret, str) and secret:
            text = text.replace(secret, "***")
    text = redact(text) if "://" in text else text
    name = type(e).__name__
    return f"{name}: {text[:200]}" if text and text != name else name
