"""The centre's ingestion of broker events into governance, idempotent on the worker's ids.

A fetched batch of alerts is one transaction: each alert is checked against its worker (its
Ed25519 signature, the message's age, assignment), opened with its deployment's transport key,
its claims checked (`alert_claims`: frame time in the window, threshold in force, score
re-computed) and recorded by `alert_record.record_alerts` (the very checks and records
in-process alerts go through), together with its `ingested_events` ledger row. An authentic
message that is refused gets a ledger row too, with why: replayed later (after the worker is
re-assigned, say) it is refused again, never recorded. A message that is not authentic leaves
no row (else anyone could publish a forged copy of a real alert's id first and sink it).

An alert and the record that it was ingested commit together or not at all, and a
redelivery after a crash at any point finds the ledger row and records nothing twice. What
the batch shares (its workers, their assignments, each deployment's keys and the audit head)
is read once per batch, not once per alert: the round trips per alert, not the work, were
what bounded the intake. The batch's crops, where the centre re-embeds them, go to its engine
in one call (`ClaimChecker.prepare`); each alert is still checked, and refused, on its own.
Counter deltas are applied in one transaction with their ledger row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.broker.messages import AlertMessage, AlertPayload, CountersMessage
from openlfr.broker.protocol import is_fresh
from openlfr.errors import OpenLFRError, PermissionDeniedError
from openlfr.services.alert_claims import ClaimChecker
from openlfr.services.alert_record import AlertIn, once, record_alerts
from openlfr.services.assurance import alerts_held, count_held
from openlfr.services.governance import GovernanceService
from openlfr.services.workers import SYSTEM_ACTOR, WorkerService, by_officer
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw
from openlfr.vision.contract import EmbeddingContract, Template

log = logging.getLogger(__name__)
Outcome = str | BaseException
LEDGER, ASSIGNED = mw.IngestedEvent, mw.WorkerAssignment
# Alerts and counters are durable: held in the worker's outbox while the broker is away, and in
# the stream while the centre is. Older than this, a message is refused (and its refusal kept).
EVENT_MAX_AGE_S = 6 * 3600.0


class Unauthentic(PermissionDeniedError):
    """Not provably from the worker it names: refused, and no ledger row is written."""


class Ingestor:
    def __init__(
        self,
        gov: GovernanceService,
        workers: WorkerService | None = None,
        *,
        engine: Callable[[], Any] | None = None,
        max_age_s: float = EVENT_MAX_AGE_S,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.gov = gov
        self.ctx = gov.ctx
        self.workers = workers or WorkerService(gov)
        # The centre's own face engine (its `get`), to re-score alerts' crops; None: the
        # probe template the worker sent is compared with the entry instead.
        self.engine = engine
        self.max_age_s, self.wall_clock = max_age_s, wall_clock

    def __call__(self, event: AlertMessage | CountersMessage, redelivered: bool = True) -> str:
        (r,) = self.batch([(event, redelivered)])
        if isinstance(r, BaseException):
            raise r
        return r

    @staticmethod
    def _authentic(w: mw.Worker | None, msg: AlertMessage | CountersMessage) -> mw.Worker:
        """Signed by the key the worker it names enrolled with (the centre holds only the
        public half: nothing in its database can sign)."""
        if w is None or w.public_key is None:
            raise Unauthentic("unknown or unenrolled worker", source=msg.worker_id)
        if not msg.verify(bytes.fromhex(w.public_key)):
            raise Unauthentic("message not signed by its worker", source=w.id)
        return w

    def _check_worker(
        self, w: mw.Worker, assigned: bool, msg: AlertMessage | CountersMessage
    ) -> None:
        """Only a current worker assigned to the deployment by one of its officers adds to its
        record, and only with a recent message."""
        if w.revoked_at is not None:
            raise PermissionDeniedError("worker revoked", source=msg.worker_id)
        if not is_fresh(msg.sent_at, self.wall_clock(), self.max_age_s):
            raise PermissionDeniedError("message outside its time window", source=msg.worker_id)
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
        q = select(LEDGER.msg_id, LEDGER.outcome).where(LEDGER.msg_id.in_(ids))
        done: dict[str, str] = {k: v for k, v in s.execute(q).all()}
        wids = {msg.worker_id for _, msg in alerts}
        workers = {w.id: w for w in s.execute(select(mw.Worker).where(mw.Worker.id.in_(wids)))
                   .scalars()}  # fmt: skip
        assigned = assigned_pairs(s, wids)
        keys: dict[str, bytes | OpenLFRError] = {}
        holds: dict[str, tuple[m.Deployment | None, str | None]] = {}
        claims = ClaimChecker(self.ctx, s, self.engine)

        def transport_key(dep: str) -> bytes:
            return self.workers.transport_private_key(s, dep, create=False)

        now = self.ctx.now()
        first: dict[str, int] = {}  # alert id -> the batch item that decides it
        todo: list[tuple[int, AlertMessage]] = []
        batch: list[tuple[str, AlertIn]] = []
        refused: list[tuple[AlertMessage, OpenLFRError]] = []
        opened: list[tuple[int, AlertMessage, m.Deployment, AlertPayload]] = []
        for i, msg in alerts:
            try:
                # Per message: each carries its own signature.
                w = self._authentic(workers.get(msg.worker_id), msg)
            except OpenLFRError as e:
                out[i] = e
                continue
            if msg.alert_id in done or msg.alert_id in first:
                out[i] = _again(done.get(msg.alert_id), msg)
                continue
            first[msg.alert_id] = i
            try:
                self._check_worker(w, (msg.worker_id, msg.deployment_id) in assigned, msg)
                key = once(keys, msg.deployment_id, transport_key)
                payload = msg.open(key)
                d = s.get(m.Deployment, msg.deployment_id)
                if d is None:
                    raise PermissionDeniedError("no such deployment", source=msg.deployment_id)
            except OpenLFRError as e:
                out[i] = e
                refused.append((msg, e))
                continue
            opened.append((i, msg, d, payload))
        # The crops of the batch are embedded together; each alert is then checked on its own.
        claims.prepare([(d, p, msg.alert_id) for _, msg, d, p in opened])
        for i, msg, d, payload in opened:
            try:
                rescored = claims.check(d, msg, payload)
                alert = self._alert_in(msg, payload, rescored)
                held = self._held(s, holds, msg.deployment_id, alert.score)
            except OpenLFRError as e:
                out[i] = e
                refused.append((msg, e))
                continue
            if held:
                # As for in-process alerts: counted as suppressed, nothing of it kept; the
                # ledger row makes a redelivery a duplicate, not a second count.
                out[i] = "held"
                s.add(self._ledger(msg, None, now, "held"))
                continue
            todo.append((i, msg))
            batch.append((msg.deployment_id, alert))
        ledger = []
        for (i, msg), r in zip(todo, record_alerts(self.ctx, s, batch), strict=True):
            if isinstance(r, OpenLFRError):
                out[i] = r
                refused.append((msg, r))
                continue
            out[i] = "recorded"
            ledger.append(self._ledger(msg, r, now, "recorded"))
        ledger += [self._ledger(msg, None, now, _refusal(e)) for msg, e in refused]
        self._audit_refusals(s, refused)
        # A second copy in this batch shares the first one's fate (recorded once, or refused).
        for i, msg in alerts:
            j = first.get(msg.alert_id)
            if j is not None and j != i and out[i] == "duplicate" and out[j] != "recorded":
                out[i] = out[j]
        s.add_all(ledger)  # flushed with the commit: cannot conflict (checked above)

    def _audit_refusals(
        self, s: Session, refused: Sequence[tuple[AlertMessage | CountersMessage, OpenLFRError]]
    ) -> None:
        """Each refusal of an authentic message is on the audit chain (ids and the reason;
        nothing of the face)."""
        for msg, e in refused:
            log.warning("refused %s from worker %s: %s", _msg_id(msg), msg.worker_id, e)
            self.ctx.audit(
                s, SYSTEM_ACTOR, "ingest.refuse", f"deployment:{msg.deployment_id}",
                after={"message": _msg_id(msg), "worker": msg.worker_id, "camera": msg.camera_id,
                       "reason": e.code, "detail": str(e)[:300]},
            )  # fmt: skip

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
    def _ledger(msg: AlertMessage, ref: str | None, at: datetime, outcome: str) -> mw.IngestedEvent:
        return mw.IngestedEvent(
            msg_id=msg.alert_id, kind="alert", deployment_id=msg.deployment_id,
            worker_id=msg.worker_id, ref=ref, frames=0, faces=0, at=at, outcome=outcome,
        )  # fmt: skip

    @staticmethod
    def _alert_in(msg: AlertMessage, p: AlertPayload, rescored: float) -> AlertIn:
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
            source_ref=f"edge {msg.alert_id}: frame {p.frame_index} ({p.media_s:.2f} s), "
            f"re-scored {rescored:.4f} at the centre",
        )

    def counters(self, msg: CountersMessage) -> str:
        refusal: OpenLFRError | None = None
        with self.ctx.tx() as s:
            w = self._authentic(s.get(mw.Worker, msg.worker_id), msg)
            row = s.get(mw.IngestedEvent, msg.msg_id)
            if row is not None:
                again = _again(row.outcome, msg)
                if isinstance(again, BaseException):
                    raise again
                return again
            try:
                self._check_worker(w, (msg.worker_id, msg.deployment_id) in assigned_pairs(
                    s, {msg.worker_id}), msg)  # fmt: skip
                d = s.get(m.Deployment, msg.deployment_id)
                if d is None:
                    raise PermissionDeniedError("no such deployment", source=msg.deployment_id)
            except OpenLFRError as e:
                refusal = e
                self._audit_refusals(s, [(msg, e)])
            else:
                # Faces processed are a count only (E.15), as for in-process runs.
                d.frames_processed += int(msg.frames)
                d.faces_processed += int(msg.faces)
                if msg.final:
                    self.ctx.audit(
                        s, SYSTEM_ACTOR, "deployment.run", f"deployment:{d.id}",
                        after={"camera": msg.camera_id, "worker": msg.worker_id, **msg.summary},
                    )  # fmt: skip
            s.add(
                mw.IngestedEvent(
                    msg_id=msg.msg_id, kind="counters", deployment_id=msg.deployment_id[:32],
                    worker_id=msg.worker_id, ref=None, frames=int(msg.frames),
                    faces=int(msg.faces), at=self.ctx.now(),
                    outcome="recorded" if refusal is None else _refusal(refusal),
                )
            )  # fmt: skip
        if refusal is not None:
            raise refusal
        return "recorded"


def assigned_pairs(s: Session, worker_ids: set[str]) -> set[tuple[str, str]]:
    """(worker, deployment) pairs assigned by one of the deployment's officers."""
    q = (
        select(ASSIGNED, m.Deployment)
        .join(m.Deployment, m.Deployment.id == ASSIGNED.deployment_id)
        .where(ASSIGNED.worker_id.in_(worker_ids))
    )
    return {(a.worker_id, d.id) for a, d in s.execute(q).all() if by_officer(s, a, d)}


def _refusal(e: OpenLFRError) -> str:
    return f"refused:{e.code}"[:60]


def _msg_id(msg: AlertMessage | CountersMessage) -> str:
    return msg.alert_id if isinstance(msg, AlertMessage) else msg.msg_id


def _again(outcome: str | None, msg: AlertMessage | CountersMessage) -> Outcome:
    """A message whose fate is already decided: recorded or held once is a duplicate; refused
    once stays refused (a replay after the worker is re-assigned records nothing)."""
    if outcome is None or not outcome.startswith("refused"):
        return "duplicate"
    return PermissionDeniedError(
        f"already refused ({outcome.partition(':')[2]}); a replay records nothing",
        source=_msg_id(msg),
    )
