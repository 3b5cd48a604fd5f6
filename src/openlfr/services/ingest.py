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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.broker.messages import AlertMessage, CountersMessage
from openlfr.errors import KeyUnavailableError, PermissionDeniedError
from openlfr.services.alerts import AlertIn
from openlfr.services.governance import GovernanceService
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
        self.ctx = gov.ctx
        self.workers = workers or WorkerService(gov)

    def __call__(self, event: AlertMessage | CountersMessage, redelivered: bool = True) -> str:
        (r,) = self.batch([(event, redelivered)])
        if isinstance(r, BaseException):
            raise r
        return r

    @staticmethod
    def _check_worker(s: Session, worker_id: str, deployment_id: str) -> None:
        """Only a current worker assigned to the deployment can add to its record."""
        w = s.get(mw.Worker, worker_id)
        if w is None or w.revoked_at is not None:
            raise PermissionDeniedError("unknown or revoked worker", source=worker_id)
        if s.get(mw.WorkerAssignment, (worker_id, deployment_id)) is None:
            raise PermissionDeniedError("worker not assigned", source=deployment_id)

    def batch(
        self, items: list[tuple[AlertMessage | CountersMessage, bool]]
    ) -> list[str | BaseException]:
        """Ingest a fetched batch: one lookup transaction for all its alerts, one
        `record_alert` each, one ledger transaction. Each item gets its outcome or error."""
        out: list[str | BaseException] = ["" for _ in items]
        alerts: list[tuple[int, AlertMessage, bool]] = []
        for i, (ev, red) in enumerate(items):
            if isinstance(ev, AlertMessage):
                alerts.append((i, ev, red))
                continue
            try:
                out[i] = self.counters(ev)
            except Exception as e:
                out[i] = e
        if not alerts:
            return out
        try:
            plan = self._plan([(m, red) for _, m, red in alerts])
        except Exception as e:
            for i, _, _ in alerts:
                out[i] = e
            return out
        ledger: list[tuple[AlertMessage, str]] = []
        for (i, msg, _), step in zip(alerts, plan, strict=True):
            if isinstance(step, BaseException):
                out[i] = step
            elif step[0] == "duplicate":
                out[i] = "duplicate"
                if step[1] is not None:
                    ledger.append((msg, step[1]))
            else:
                try:
                    ledger.append((msg, self._record(msg, step[1])))
                    out[i] = "recorded"
                except Exception as e:
                    out[i] = e
        if ledger:
            self._ledger(ledger)
        return out

    def _plan(self, msgs: list[tuple[AlertMessage, bool]]) -> list[tuple[str, Any] | BaseException]:
        """Per alert: ("duplicate", alert row id or None), ("record", key) or the refusal."""
        ids = [m.alert_id for m, _ in msgs]
        plan: list[tuple[str, Any] | BaseException] = []
        keys: dict[str, bytes] = {}
        allowed: dict[tuple[str, str], BaseException | None] = {}
        seen: set[str] = set()
        with self.ctx.tx() as s:
            q = select(mw.IngestedEvent.msg_id).where(mw.IngestedEvent.msg_id.in_(ids))
            done = set(s.execute(q).scalars())
            for msg, redelivered in msgs:
                if msg.alert_id in done or msg.alert_id in seen:
                    plan.append(("duplicate", None))
                    continue
                seen.add(msg.alert_id)
                if redelivered:
                    # A crash between recording and the ledger row: the alert itself says so.
                    q2 = select(m.Alert.id).where(
                        m.Alert.deployment_id == msg.deployment_id,
                        m.Alert.source_ref.like(_edge_ref(msg.alert_id) + ":%"),
                    )
                    row = s.execute(q2).scalar()
                    if row is not None:
                        plan.append(("duplicate", row))
                        continue
                wk = (msg.worker_id, msg.deployment_id)
                if wk not in allowed:
                    try:
                        self._check_worker(s, *wk)
                        allowed[wk] = None
                    except PermissionDeniedError as e:
                        allowed[wk] = e
                if allowed[wk] is not None:
                    plan.append(allowed[wk])  # type: ignore[arg-type]
                    continue
                if msg.deployment_id not in keys:
                    try:
                        keys[msg.deployment_id] = self.workers.transport_private_key(
                            s, msg.deployment_id, create=False
                        )
                    except KeyUnavailableError as e:
                        plan.append(e)
                        continue
                plan.append(("record", keys[msg.deployment_id]))
        return plan

    def _record(self, msg: AlertMessage, key: bytes) -> str:
        ref = _edge_ref(msg.alert_id)
        p = msg.open(key)
        template = None
        if p.template is not None and p.template_contract:
            # record_alert checks it is the deployment's contract.
            template = Template(p.template, EmbeddingContract.from_dict(p.template_contract))
        return self.gov.alerts.record_alert(
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

    def _ledger(self, rows: list[tuple[AlertMessage, str]]) -> None:
        with self.ctx.tx() as s:
            have = set(
                s.execute(
                    select(mw.IngestedEvent.msg_id).where(
                        mw.IngestedEvent.msg_id.in_([m.alert_id for m, _ in rows])
                    )
                ).scalars()
            )
            for msg, ref in rows:
                if msg.alert_id not in have:
                    have.add(msg.alert_id)
                    s.add(
                        mw.IngestedEvent(
                            msg_id=msg.alert_id, kind="alert", deployment_id=msg.deployment_id,
                            worker_id=msg.worker_id, ref=ref, frames=0, faces=0,
                            at=self.ctx.now(),
                        )
                    )  # fmt: skip

    def counters(self, msg: CountersMessage) -> str:
        with self.ctx.tx() as s:
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
                    faces=int(msg.faces), at=self.ctx.now(),
                )
            )  # fmt: skip
            if msg.final:
                self.ctx.audit(
                    s, f"{SYSTEM_ACTOR}", "deployment.run", f"deployment:{d.id}",
                    after={"camera": msg.camera_id, "worker": msg.worker_id, **msg.summary},
                )  # fmt: skip
        return "recorded"
