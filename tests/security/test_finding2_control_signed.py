"""Finding 2 (control): anyone on the broker published `{"action":"revoked"}` on a worker's
control subject and the worker obeyed. Now control messages carry the centre's Ed25519
signature (its public key handed to the worker at enrolment), the worker's id, a time and a
nonce; the worker ignores anything else, and a replay of a genuine one.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from openlfr.broker.protocol import SigningKey, control_message
from openlfr.edge.worker import Worker, WorkerConfig
from openlfr.services.workers import WorkerIdentity, WorkerService
from tests.unit.governance._support import World


@pytest.fixture
def worker(w: World) -> tuple[Worker, WorkerService, list[str]]:
    ws = WorkerService(w.svc)
    wid, tok = ws.issue(w.admin, "van")
    wk = Worker(WorkerConfig(centre="http://127.0.0.1:9", broker="nats://127.0.0.1:9",
                             token=tok, cameras={}))  # fmt: skip
    # What the worker's enrolment gives it: the centre's public key.
    wk.control.centre_key = ws.enrol(WorkerIdentity(wid, "van"), wk.key.public)
    stopped: list[str] = []
    wk._stop_where = lambda pred, why: stopped.append(why)  # type: ignore[method-assign]
    return wk, ws, stopped


def _send(wk: Worker, msg: dict[str, Any]) -> None:
    wk._on_control(json.dumps(msg).encode())


def test_forged_control_is_ignored(
    w: World, worker: tuple[Worker, WorkerService, list[str]]
) -> None:
    wk, ws, stopped = worker
    wid = wk.worker_id
    _send(wk, {"action": "revoked", "deployment_id": None})  # the finding's message
    _send(wk, control_message(SigningKey.generate(), wid, "revoked", None))  # another key
    genuine = ws.control_message(wid, "revoked", None)
    _send(wk, {**genuine, "action": "stop"})  # changed after signing
    _send(wk, {**ws.control_message("f" * 32, "revoked", None), "worker_id": wid})  # another's
    with w.svc.ctx.tx() as s:
        centre = ws.centre_key(s)
    stale = control_message(centre, wid, "revoked", None, at=time.time() - 3600)
    _send(wk, stale)
    assert stopped == []
    _send(wk, genuine)
    assert stopped == ["revoked"]
    _send(wk, genuine)  # replayed: ignored
    assert stopped == ["revoked"]
    wk.engine.close()
    wk.centre.close()
