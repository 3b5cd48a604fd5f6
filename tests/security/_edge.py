"""An edge worker as the centre sees it: registered by the administrator, enrolled with its own
Ed25519 key, assigned to deployment A by A's officer; and alerts it signs the worker's way."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sqlalchemy import func, select

from openlfr.broker.messages import AlertMessage, AlertPayload
from openlfr.broker.protocol import SigningKey
from openlfr.services.workers import WorkerIdentity, WorkerService
from openlfr.storage import models as m
from openlfr.vision.mock import MOCK_CONTRACT
from tests.security._two import Two, two_deployments
from tests.unit.api._support import CAMERA
from tests.unit.governance._support import World


@dataclass
class Edge:
    w: World
    two: Two
    ws: WorkerService
    wid: str
    token: str
    key: SigningKey
    alert_key: bytes  # deployment A's X25519 public key

    @property
    def me(self) -> WorkerIdentity:
        return WorkerIdentity(self.wid, "van")

    def probe(self, entry: str | None = None) -> np.ndarray:
        """The entry's own (first) template row: what a true match re-scores to."""
        wl = self.w.svc.watchlists.load_watchlist(self.two.a.dep)
        return np.asarray(wl.vectors[wl.entry_ids.index(entry or self.two.a.entry)])

    def alert(self, **over: Any) -> AlertMessage:
        """A true alert of A's entry, signed by this worker; `over` changes its payload."""
        now = self.w.clock.now.timestamp()  # in the deployment's window (the world's clock)
        p = AlertPayload(
            self.two.a.entry, 1.0, 0.5, MOCK_CONTRACT.id, now, now, 3, 0.12,
            b"\xff\xd8probe", b"\xff\xd8scene", template=self.probe(),
            template_contract=MOCK_CONTRACT.to_dict(),
        )  # fmt: skip
        p = replace(p, **over)
        msg = AlertMessage.seal(
            self.alert_key, alert_id=uuid.uuid4().hex, deployment_id=self.two.a.dep,
            worker_id=self.wid, camera_id=CAMERA, payload=p,
        )  # fmt: skip
        return msg.signed(self.key)

    def alerts_recorded(self) -> int:
        with self.w.svc.ctx.factory() as s:
            q = (
                select(func.count())
                .select_from(m.Alert)
                .where(m.Alert.deployment_id == self.two.a.dep)
            )
            return int(s.scalar(q) or 0) - 1  # less the one `two_deployments` recorded in-process


def edge(w: World) -> Edge:
    two = two_deployments(w)
    ws = WorkerService(w.svc)
    wid, token = ws.issue(w.admin, "van")
    key = SigningKey.generate()
    ws.enrol(WorkerIdentity(wid, "van"), key.public)
    ws.assign(w.people["ao1"], wid, two.a.dep)
    (a,) = ws.assignments(WorkerIdentity(wid, "van"))
    return Edge(w, two, ws, wid, token, key, bytes.fromhex(a["alert_public_key"]))


def heartbeat(key: SigningKey, wid: str, at: float | None = None, **extra: Any) -> dict[str, Any]:
    beat = {"worker_id": wid, "at": time.time() if at is None else at, "nonce": uuid.uuid4().hex,
            "cameras": {}, **extra}  # fmt: skip
    return {**beat, "sig": key.sign(beat)}
