"""The centre's ingestion of broker events into governance, idempotent on the worker's ids.

A fetched batch of alerts is one transaction: each alert is checked against its worker (MAC,
assignment), opened with its deployment's transport key and recorded by `alert_record.record_alerts`
(the very checks and records in-process alerts go through), together with its
`ingested_events` ledger row. So an alert and the record that it was ingested commit together
or not at all, and a redelivery after a crash at any point finds the ledger row and records
nothing twice. What the batch shares (its workers, their assignments, each deployment's keys
and the audit head) is read once per batch, not once per alert: the round trips per alert,
not the work, were what bounded the intake. Counter deltas are applied in one transaction with
their ledger row.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.broker.messages import AlertMessage, CountersMessage
from openlfr.errors import OpenLFRError, PermissionDeniedError
from openlfr.services.alert_record import AlertIn, once, record_alerts
from openlfr.services.assurance import alerts_held, count_held
from openlfr.services.governance import GovernanceService
from openlfr.services.workers import SYSTEM_ACTOR, WorkerService
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw
from openlfr.vision.contract import EmbeddingContract, Template

log = logging.getLogger(__name__)
Outcome = str | BaseException
LEDGER, ASSIGNED = mw.IngestedEvent, mw.WorkerAssignment


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
    def _check_worker(
        w: mw.Worker | None, assigned: bool, msg: AlertMessage | CountersMessage
    ) -> None:
        """Only a current worker assigned to the deployment can add to its record, and only
        with a message it signed itself."""
        if w is None or w.revoked_at is not None:
            raise PermissionDeniedError("unknown or revoked worker", source=msg.worker_id)
        if not msg.verify(w.token_digest.encode()):
            raise PermissionDeniedError("message not signed by its worker", source=w.id)
        if not assigned:
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
        if "recorded" in out:
            self.ctx.alerts_committed()
        return out

    def _alerts(
        self, s: Session, alerts: list[tuple[int, AlertMessage]], out: list[Outcome]
    ) -> None:
        ids = {msg.alert_id for _, msg in alerts}
        done = set(s.execute(select(LEDGER.msg_id).where(LEDGER.msg_id.in_(ids))).scalars())
        wids = {msg.worker_id for _, msg in alerts}
        workers = {w.id: w for w in s.execute(select(mw.Worker).where(mw.Worker.id.in_(wids)))
                   .scalars()}  # fmt: skip
        q = select(ASSIGNED.worker_id, ASSIGNED.deployment_id).where(ASSIGNED.worker_id.in_(wids))
        assigned = {(w, d) for w, d in s.execute(q)}
        keys: dict[str, bytes | OpenLFRError] = {}
        holds: dict[str, tuple[m.Deployment | None, str | None]] = {}

        def transport_key(dep: str) -> bytes:
            return self.workers.transport_private_key(s, dep, create=False)

        now = self.ctx.now()
        first: dict[str, int] = {}  # alert id -> the batch item that records it
        todo: list[tuple[int, AlertMessage]] = []
        batch: list[tuple[str, AlertIn]] = []
        for i, msg in alerts:
            if msg.alert_id in done or msg.alert_id in first:
                out[i] = "duplicate"
                continue
            try:
                # Per message: each carries its own MAC.
                w = workers.get(msg.worker_id)
                self._check_worker(w, (msg.worker_id, msg.deployment_id) in assigned, msg)
                key = once(keys, msg.deployment_id, transport_key)
                alert = self._alert_in(msg, key)
                held = self._held(s, holds, msg.deployment_id, alert.score)
            except OpenLFRError as e:
                out[i] = e
                continue
            first[msg.alert_id] = i
            if held:
                # As for in-process alerts: counted as suppressed, nothing of it kept; the
                # ledger row makes a redelivery a duplicate, not a second count.
                out[i] = "held"
                s.add(self._ledger(msg, None, now))
                continue
            todo.append((i, msg))
            batch.append((msg.deployment_id, alert))
        ledger = []
        for (i, msg), r in zip(todo, record_alerts(self.ctx, s, batch), strict=True):
            out[i] = r if isinstance(r, OpenLFRError) else "recorded"
            if isinstance(r, OpenLFRError):
                continue
            ledger.append(self._ledger(msg, r, now))
        # A second copy in this batch shares the first one's fate (recorded once, or refused).
        for i, msg in alerts:
            j = first.get(msg.alert_id)
            if j is not None and j != i and out[i] == "duplicate" and out[j] != "recorded":
                out[i] = out[j]
        s.add_all(ledger)  # flushed with the commit: cannot conflict (checked above)

    @staticmethod
    def _held(
        s: Session, holds: dict[str, tuple[m.Deployment | None, str | None]], dep: str, score: float
    ) -> bool:
        """As in-process sinks (`hold_match`); the deployment's hold is read once per batch."""
        if dep not in holds:
            d = s.get(m.Deployment, dep)
            holds[dep] = (d, alerts_held(s, d) if d is not None else None)
        d, why = holds[dep]
        return d is not None and count_held(s, d, why, score) is not None

    @staticmethod
    def _ledger(msg: AlertMessage, ref: str | None, at: datetime) -> mw.IngestedEvent:
        return mw.IngestedEvent(
            msg_id=msg.alert_id, kind="alert", deployment_id=msg.deployment_id,
            worker_id=msg.worker_id, ref=ref, frames=0, faces=0, at=at,
        )  # fmt: skip

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
            w = s.get(mw.Worker, msg.worker_id)
            assigned = s.get(ASSIGNED, (msg.worker_id, msg.deployment_id)) is not None
            self._check_worker(w, assigned, msg)
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
