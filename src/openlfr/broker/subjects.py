"""Names on the broker: one durable stream for alerts and counters, core subjects for the rest.

Alerts and counter deltas must survive a centre or broker restart, so they go on the JetStream
stream `EVENTS` (file storage, work-queue retention: a message is deleted once the centre acks
it). Heartbeats and control messages are live state, worthless when stale, so they use core
NATS: no storage, sub-millisecond fan-out.
"""

from __future__ import annotations

EVENTS_STREAM = "OPENLFR_EVENTS"
CENTRE_CONSUMER = "centre"
ALERT_PREFIX = "openlfr.alert"
COUNTERS_PREFIX = "openlfr.counters"
HEARTBEAT_PREFIX = "openlfr.heartbeat"
CONTROL_PREFIX = "openlfr.control"
# JetStream drops a re-publish with the same Nats-Msg-Id inside this window (seconds); the
# centre's own idempotency covers redeliveries after it.
DUPLICATE_WINDOW_S = 600.0


def _token(s: str) -> str:
    """Ids become subject tokens: no dots, spaces or wildcards."""
    bad = set(" .*>\t\r\n")
    if not s or any(ch in bad for ch in s):
        raise ValueError(f"not a valid subject token: {s!r}")
    return s


def alert_subject(deployment_id: str) -> str:
    return f"{ALERT_PREFIX}.{_token(deployment_id)}"


def counters_subject(deployment_id: str) -> str:
    return f"{COUNTERS_PREFIX}.{_token(deployment_id)}"


def heartbeat_subject(worker_id: str) -> str:
    return f"{HEARTBEAT_PREFIX}.{_token(worker_id)}"


def control_subject(worker_id: str) -> str:
    return f"{CONTROL_PREFIX}.{_token(worker_id)}"


def event_subjects() -> list[str]:
    return [f"{ALERT_PREFIX}.>", f"{COUNTERS_PREFIX}.>"]
