"""Finding 6: a day-old signed heartbeat, replayed, marked a dead worker "up". Now a heartbeat
must be signed by the worker's enrolled key, recent, and newer than the last one kept.
"""

from __future__ import annotations

import time

import pytest

from openlfr.services.workers import WorkerIdentity, WorkerService
from tests.security._edge import heartbeat
from tests.unit.governance._support import World


def test_a_stale_or_replayed_heartbeat_is_ignored(w: World) -> None:
    from openlfr.broker.protocol import SigningKey

    ws = WorkerService(w.svc)
    wid, _ = ws.issue(w.admin, "van")
    key = SigningKey.generate()
    ws.enrol(WorkerIdentity(wid, "van"), key.public)
    day_old = heartbeat(key, wid, at=time.time() - 86400)
    assert not ws.heartbeat(wid, day_old)
    assert ws.workers()[0]["last_heartbeat"] is None  # still never seen
    beat = heartbeat(key, wid)
    assert ws.heartbeat(wid, beat)
    w.clock.advance(seconds=60)
    assert ws.mark_down(5.0) == [wid]
    # The last good heartbeat, replayed (even within the window), does not bring it back.
    assert not ws.heartbeat(wid, beat)
    assert not ws.workers()[0]["up"]
    # Nor one signed by any other key, nor one from further ahead than the clocks may differ.
    assert not ws.heartbeat(wid, heartbeat(SigningKey.generate(), wid))
    assert not ws.heartbeat(wid, heartbeat(key, wid, at=time.time() + 3600))
    assert ws.heartbeat(wid, heartbeat(key, wid))  # a fresh one does
    assert ws.workers()[0]["up"]


@pytest.mark.parametrize("field", ["at", "cameras"])
def test_a_heartbeat_changed_after_signing_is_ignored(w: World, field: str) -> None:
    from openlfr.broker.protocol import SigningKey

    ws = WorkerService(w.svc)
    wid, _ = ws.issue(w.admin, "van")
    key = SigningKey.generate()
    ws.enrol(WorkerIdentity(wid, "van"), key.public)
    beat = heartbeat(key, wid)
    beat[field] = time.time() + 1 if field == "at" else {"cam-9": {"state": "running"}}
    assert not ws.heartbeat(wid, beat)
