"""The centre's ingestion of broker events into governance, idempotent on the worker's ids.

A fetched batch of alerts is one transaction: each alert is opened with its deployment's
transport key and recorded by `Alerts.record_alert` (the very code in-process alerts go
through) inside its own savepoint, together with its `ingested_events` ledger row. So an alert
and the record that it was ingested commit together or not at all, and a redelivery after a
crash at any point finds the ledger row and records nothing twice. Counter deltas are applied
in one transaction with their ledger row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.broker.messages import AlertMessage, CountersMessage
from openlfr.errors import OpenLFRError, PermissionDeniedError
from openlfr.services.alerts import AlertIn, Alerts
from openlfr.services.context import ServiceContext
from openlfr.services.governance import GovernanceService
from openlfr.services.workers import SYSTEM_ACTOR, WorkerService
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw
from openlfr.vision.contract import EmbeddingContract, Template

log = logging.getLogger(__name__)
Outcome = str | BaseException


class _InBatch(ServiceContext):
    """The service context, but every `tx()` is a savepoint of one open batch transaction."""

    def __init__(self, base: ServiceContext, session: Session) -> None:
        self.__dict__.update(base.__dict__)
        self._session = session

    @contextmanager
    def tx(self) -> Iterator[Session]:
        with self._session.begin_nested():
            yield self._session


class Ingestor:
    def __init__(self, gov: GovernanceService, workers: WorkerService | None = None) -> None:
        self.gov = gov
        self.ctx = gov.ctx
        self.workers = workers or WorkerService(gov)

    def __call__(self, event: AlertMessage | CountersMessage, redelivered: bool = True) -> str:
        (r,) = self.batch([(event, redelivered)])
        if isinstance(r, BaseException):
            raise r
        return r

    @staticmethod
    def _check_worker(s: Session, msg: AlertMessage | CountersMessage) -> None:
        """Only a current worker assigned to the deployment can add to its record, and only
        with a message it signed itself."""
        w = s.get(mw.Worker, msg.worker_id)
        if w is None or w.revoked_at is not None:
            raise PermissionDeniedError("unknown or revoked worker", source=msg.worker_id)
        if not msg.verify(w.token_digest.encode()):
            raise PermissionDeniedError("message not signed by its worker", source=w.id)
        if s.get(mw.WorkerAssignment, (w.id, msg.deployment_id)) is None:
            raise PermissionDeniedError("worker not assigned", source=msg.deployment_id)

    def batch(self, items: list[tuple[AlertMessage | CountersMessage, bool]]) -> list[Outcome]:
        """Each item's outcome ("recorded" | "duplicate") or the error it met. `redelivered`
        is not needed for correctness (the ledger is exact); it is kept for the caller's stats."""
        out: list[Outcome] = ["" for _ in items]
        alerts = [(i, ev) for i, (ev, _) in enumerate(items) if isinstance(ev, AlertMessage)]
        for i, (ev, _) in enumerate(items):
            if isinstance(ev, CountersMessage):
                try:
                    out[i] = self.counters(ev)
                except Exception as e:
                    out[i] = e
        if not alerts:
            return out
        try:
            with self.ctx.tx() as s:
                self._alerts(s, alerts, out)
        except Exception as e:  # the batch did not commit: every alert of it comes back
            for i, _ in alerts:
                out[i] = e
        return out

    def _alerts(
        self, s: Session, alerts: list[tuple[int, AlertMessage]], out: list[Outcome]
    ) -> None:
        q = select(mw.IngestedEvent.msg_id).where(
            mw.IngestedEvent.msg_id.in_([msg.alert_id for _, msg in alerts])
        )
        done = set(s.execute(q).scalars())
        room = Alerts(_InBatch(self.ctx, s))
        keys: dict[str, bytes] = {}
        for i, msg in alerts:
            if msg.alert_id in done:
                out[i] = "duplicate"
                continue
            try:
                self._check_worker(s, msg)  # per message: each carries its own MAC
                if msg.deployment_id not in keys:
                    keys[msg.deployment_id] = self.workers.transport_private_key(
                        s, msg.deployment_id, create=False
                    )
                aid = room.record_alert(
                    msg.deployment_id, self._alert_in(msg, keys[msg.deployment_id])
                )
                # Flushed with the next savepoint or the commit: cannot conflict (checked above).
                s.add(
                    mw.IngestedEvent(
                        msg_id=msg.alert_id, kind="alert", deployment_id=msg.deployment_id,
                        worker_id=msg.worker_id, ref=aid, frames=0, faces=0, at=self.ctx.now(),
                    )
                )  # fmt: skip
            except OpenLFRError as e:
                out[i] = e  # its savepoint is rolled back; the rest of the batch goes on
                continue
            done.add(msg.alert_id)
            out[i] = "recorded"

    @staticmethod
    def _alert_in(msg: AlertMessage, key: bytes) -> AlertIn:
        p = msg.open(key)
        template = None
        if p.template is not None and p.template_contract:
            # record_alert checks it is the deployment's contract.
            template = Template(p.template, EmbeddingContract.from_dict(p.template_contract))
        return AlertIn(
            camera_id=msg.camera_id,
            entry_id=p.subject_id,
            score=float(p.score),
            threshold=float(p.threshold),
            contract_id=p.contract_id,
            detected_at=datetime.fromtimestamp(p.frame_time, UTC),
            template=template,
            probe_jpeg=p.probe_jpeg,
            scene_jpeg=p.scene_jpeg,
            latency_ms=(p.raised_at - p.frame_time) * 1000.0,
            source_ref=f"edge {msg.alert_id}: frame {p.frame_index} ({p.media_s:.2f} s)",
        )

    def counters(self, msg: CountersMessage) -> str:
        with self.ctx.tx() as s:
            self._check_worker(s, msg)
            if s.get(mw.IngestedEvent, msg.msg_id) is not None:
                return "duplicate"
            d = s.get(m.Deployment, msg.deployment_id)
            if d is None:
                raise PermissionDeniedError("no such deployment", source=msg.deployment_id)
            # Faces processed are a count only (E.15), as for in-process runs.
            d.frames_processed += int(msg.frames)
            d.faces_processed += int(msg.faces)
            s.add(
                mw.IngestedEvent(
                    msg_id=msg.msg_id, kind="counters", deployment_id=d.id,
                    worker_id=msg.worker_id, ref=None, frames=int(msg.frames),
                    faces=int(msg.faces), at=self.ctx.now(),
                )
            )  # fmt: skip
            if msg.final:
                self.ctx.audit(
                    s, SYSTEM_ACTOR, "deployment.run", f"deployment:{d.id}",
                    after={"camera": msg.camera_id, "worker": msg.worker_id, **msg.summary},
                )  # fmt: skip
        return "recorded"
