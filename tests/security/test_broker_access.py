"""Issue 19, finding 2: the broker was open, and anyone on the network could stop alerts.

The attacker is someone who reaches the broker's port: with no credentials at all, or with one
worker's credentials (a stolen van). Against the server docs/nats-server.conf describes
(tests/nats_secure.py starts it from that file), they are refused: no anonymous session, no
publishing as another worker or on its control subject, no reading everything (`>`) or the
centre's replies, and no managing streams or consumers (delete the centre's consumer, purge
the stream, read their info).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig

from openlfr.broker.auth import CENTRE_INBOX, connect_options, worker_inbox
from openlfr.broker.client import BrokerClient, ensure_stream
from openlfr.broker.subjects import (
    CENTRE_CONSUMER,
    EVENTS_STREAM,
    alert_subject,
    control_subject,
    heartbeat_subject,
)
from openlfr.config.broker import BrokerSettings
from openlfr.errors import BrokerRefusedError
from tests.nats_secure import SecureNats, secure_nats  # noqa: F401

pytestmark = [pytest.mark.nats]


class Seen:
    """What a connection received and which refusals the broker sent it."""

    def __init__(self) -> None:
        self.msgs: list[tuple[str, bytes]] = []
        self.errors: list[str] = []

    async def on_msg(self, msg: Any) -> None:
        self.msgs.append((msg.subject, msg.data))

    async def on_error(self, e: Exception) -> None:
        self.errors.append(str(e))


async def _connect(s: BrokerSettings, inbox: str, seen: Seen) -> Any:
    return await nats.connect(
        s.urls, error_cb=seen.on_error, allow_reconnect=False, connect_timeout=5,
        **connect_options(s, inbox_prefix=inbox),
    )  # fmt: skip


def _run(srv: SecureNats, body: Callable[..., Awaitable[None]]) -> None:
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    sa, sb = srv.add_worker(a), srv.add_worker(b)

    async def main() -> None:
        seen = {k: Seen() for k in ("centre", "a", "b")}
        centre = await _connect(srv.centre, CENTRE_INBOX, seen["centre"])
        js = centre.jetstream()
        await ensure_stream(js)
        await js.add_consumer(
            EVENTS_STREAM,
            ConsumerConfig(durable_name=CENTRE_CONSUMER, ack_policy=AckPolicy.EXPLICIT),
        )
        wa = await _connect(sa, worker_inbox(a), seen["a"])
        wb = await _connect(sb, worker_inbox(b), seen["b"])
        try:
            await body(centre, wa, wb, a, b, seen)
        finally:
            for c in (wa, wb, centre):
                await c.close()

    asyncio.run(main())


def _refusals(seen: Seen) -> str:
    return " | ".join(seen.errors).lower()


def test_anonymous_clients_are_refused(secure_nats: SecureNats) -> None:  # noqa: F811
    srv = secure_nats
    centre = srv.centre
    attempts = {
        # No TLS, no credentials: what `nats://host:4222` with nothing else does.
        "plain": BrokerSettings(url=f"nats://127.0.0.1:{srv.port}"),
        # TLS, trusting the CA, but no client certificate and no nkey.
        "tls only": BrokerSettings(url=srv.url, ca_file=centre.ca_file),
        # A certificate from the CA (a stolen one, say) but no nkey.
        "certificate, no nkey": BrokerSettings(
            url=srv.url,
            ca_file=centre.ca_file,
            cert_file=centre.cert_file,
            key_file=centre.key_file,
        ),
    }
    for what, s in attempts.items():
        c = BrokerClient.from_settings(s, name=f"anon-{what}")
        c.connect_timeout_s = 5.0
        with pytest.raises(BrokerRefusedError):
            c.start(stream=False)
        c.close(0)
    # The centre's own settings do get in (the refusals above are not a broken server).
    ok = BrokerClient.from_settings(centre, name="centre", inbox_prefix=CENTRE_INBOX).start()
    ok.close(0)


def test_a_worker_cannot_speak_for_another(secure_nats: SecureNats) -> None:  # noqa: F811
    async def body(centre: Any, wa: Any, wb: Any, a: str, b: str, seen: dict[str, Seen]) -> None:
        await centre.subscribe("openlfr.heartbeat.*", cb=seen["centre"].on_msg)
        await wb.subscribe(control_subject(b), cb=seen["b"].on_msg)
        await centre.flush()
        await wb.flush()
        own = (heartbeat_subject(a), b"own beat")
        # The baseline: a's own beat gets through. Sent until seen (up to 10 s): on a busy
        # machine the broker may still be reloading the config that added the workers.
        for _ in range(20):
            await wa.publish(*own)
            await wa.flush()
            await asyncio.sleep(0.5)
            if own in seen["centre"].msgs:
                break
        await wa.publish(heartbeat_subject(b), b"forged beat")
        await wa.publish(control_subject(b), b'{"action":"revoked"}')
        await wa.flush()
        await asyncio.sleep(0.5)
        assert own in seen["centre"].msgs
        assert set(seen["centre"].msgs) == {own}, "a forged beat reached the centre"
        assert seen["b"].msgs == [], "worker a reached worker b's control subject"
        refused = _refusals(seen["a"])
        assert "permissions violation for publish" in refused
        assert heartbeat_subject(b).lower() in refused and control_subject(b).lower() in refused

    _run(secure_nats, body)


def test_a_worker_cannot_listen_to_everything(secure_nats: SecureNats) -> None:  # noqa: F811
    async def body(centre: Any, wa: Any, wb: Any, a: str, b: str, seen: dict[str, Seen]) -> None:
        for subject in (">", "openlfr.>", "openlfr.heartbeat.*", control_subject(b), "_INBOX.>",
                        f"{CENTRE_INBOX}.>", f"{worker_inbox(b)}.>"):  # fmt: skip
            await wa.subscribe(subject, cb=seen["a"].on_msg)
        await wa.flush()
        await asyncio.sleep(0.3)
        await wb.publish(heartbeat_subject(b), b"b beat")
        await centre.publish(control_subject(b), b'{"action":"stop"}')
        js = centre.jetstream()
        await js.stream_info(EVENTS_STREAM)  # a reply into the centre's inbox
        await asyncio.sleep(0.5)
        assert seen["a"].msgs == [], f"worker a heard {[s for s, _ in seen['a'].msgs]}"
        assert _refusals(seen["a"]).count("permissions violation for subscription") >= 7

    _run(secure_nats, body)


def test_a_worker_cannot_manage_streams_or_consumers(secure_nats: SecureNats) -> None:  # noqa: F811
    async def body(centre: Any, wa: Any, wb: Any, a: str, b: str, seen: dict[str, Seen]) -> None:
        ja = wa.jetstream(timeout=1.0)
        # What a worker may do: publish an event into the stream (acked into its own inbox).
        ack = await ja.publish(alert_subject("dep1"), b"sealed alert", timeout=5)
        assert ack.stream == EVENTS_STREAM
        attacks = {
            "delete the centre's consumer": ja.delete_consumer(EVENTS_STREAM, CENTRE_CONSUMER),
            "purge the stream": ja.purge_stream(EVENTS_STREAM),
            "delete the stream": ja.delete_stream(EVENTS_STREAM),
            "read the stream": ja.stream_info(EVENTS_STREAM),
            "read the consumer": ja.consumer_info(EVENTS_STREAM, CENTRE_CONSUMER),
            "add a consumer": ja.add_consumer(
                EVENTS_STREAM, ConsumerConfig(durable_name="thief", ack_policy=AckPolicy.NONE)
            ),
            "pull the centre's messages": wa.request(
                f"$JS.API.CONSUMER.MSG.NEXT.{EVENTS_STREAM}.{CENTRE_CONSUMER}", b"1", timeout=1
            ),
        }
        for what, attack in attacks.items():
            with pytest.raises(Exception):  # noqa: B017 (refused: no reply, or an error)
                await attack
            assert what  # each refused
        jc = centre.jetstream()
        info = await jc.stream_info(EVENTS_STREAM)
        assert info.state.messages == 1, "the stream lost what was in transit"
        consumers = [c.name for c in await jc.consumers_info(EVENTS_STREAM)]
        assert consumers == [CENTRE_CONSUMER]
        assert 'permissions violation for publish to "$js.api' in _refusals(seen["a"])

    _run(secure_nats, body)
