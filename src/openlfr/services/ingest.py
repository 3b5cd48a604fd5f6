"""The centre's ingestion of broker events into governance, idempotent on the worker's ids.

An alert is opened with its deployment's transport key and recorded through
`GovernanceService.record_alert`, exactly as an in-process alert is. The worker's alert id is
written into the alert's `source_ref` in that same transaction, so a redelivery after a crash at
any point finds it and records nothing twice; `ingested_events` is the fast path and the ledger.
Counter deltas are applied in one transaction with their ledger row.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.broker.messages import AlertMessage, CountersMessage
from openlfr.errors import PermissionDeniedError
from openlfr.services.governance import AlertIn, GovernanceService
from openlfr.services.workers import SYSTEM_ACTOR, WorkerService
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw
from openlfr.vision.contract import EmbeddingContract, Template

log = logging.getLogger(__name__)


def _edge_ref(alert_id: str) -> str:
    return f"edge {alert_id}"


class Ingestor:
    def __init__(self, gov: GovernanceService, workers: WorkerService | None = None) -> None:
        self.gov = gov
        self.workers = workers or WorkerService(gov)

    def __call__(self, event: AlertMessage | CountersMessage, redelivered: bool = True) -> str:
        if isinstance(event, AlertMessage):
            return self.alert(event, redelivered)
        return self.counters(event)

    @staticmethod
    def _check_worker(s: Session, worker_id: str, deployment_id: str) -> None:
        """Only a current worker assigned to the deployment can add to its record."""
        w = s.get(mw.Worker, worker_id)
        if w is None or w.revoked_at is not None:
            raise PermissionDeniedError("unknown or revoked worker", source=worker_id)
        if s.get(mw.WorkerAssignment, (worker_id, deployment_id)) is None:
            raise PermissionDeniedError("worker not assigned", source=deployment_id)

    def alert(self, msg: AlertMessage, redelivered: bool = True) -> str:
        """The ledger is checked always (a re-publish past the stream's duplicate window); the
        alerts themselves only on a redelivery, the one case where the ledger can lag."""
        ref = _edge_ref(msg.alert_id)
        done = None
        with self.gov._tx() as s:
            if s.get(mw.IngestedEvent, msg.alert_id) is not None:
                return "duplicate"
            if redelivered:
                # A crash between recording and the ledger row: the alert itself says so.
                q = select(m.Alert.id).where(
                    m.Alert.deployment_id == msg.deployment_id,
                    m.Alert.source_ref.like(ref + ":%"),
                )
                done = s.execute(q).scalar()
            if done is None:
                self._check_worker(s, msg.worker_id, msg.deployment_id)
                key = self.workers.transport_private_key(s, msg.deployment_id, create=False)
        if done is not None:
            self._ledger(msg.alert_id, "alert", msg.deployment_id, msg.worker_id, ref=done)
            return "duplicate"
        p = msg.open(key)
        template = None
        if p.template is not None and p.template_contract:
            # record_alert checks it is the deployment's contract.
            template = Template(p.template, EmbeddingContract.from_dict(p.template_contract))
        aid = self.gov.record_alert(
            msg.deployment_id,
            AlertIn(
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
                source_ref=f"{ref}: frame {p.frame_index} ({p.media_s:.2f} s)",
            ),
        )
        self._ledger(msg.alert_id, "alert", msg.deployment_id, msg.worker_id, ref=aid)
        return "recorded"

    def _ledger(
        self, msg_id: str, kind: str, dep: str, worker: str, *, ref: str | None = None
    ) -> None:
        with self.gov._tx() as s:
            if s.get(mw.IngestedEvent, msg_id) is None:
                s.add(
                    mw.IngestedEvent(
                        msg_id=msg_id, kind=kind, deployment_id=dep, worker_id=worker,
                        ref=ref, frames=0, faces=0, at=self.gov.clock(),
                    )
                )  # fmt: skip

    def counters(self, msg: CountersMessage) -> str:
        with self.gov._tx() as s:
            self._check_worker(s, msg.worker_id, msg.deployment_id)
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
                    faces=int(msg.faces), at=self.gov.clock(),
                )
            )  # fmt: skip
            if msg.final:
                self.gov._audit(
                    s, f"{SYSTEM_ACTOR}", "deployment.run", f"deployment:{d.id}",
                    after={"camera": msg.camera_id, "worker": msg.worker_id, **msg.summary},
                )  # fmt: skip
        return "recorded"
