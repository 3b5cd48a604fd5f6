"""Alerts: recording what the live pipeline raised, the evidence view, review, outcome, hold."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from openlfr.errors import ContractMismatchError, NotFoundError
from openlfr.governance import alerts as alert_rules
from openlfr.governance import deployment as dep_rules
from openlfr.governance import retention
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import AlertStatus, Decision, Role, parse
from openlfr.services import access, rows
from openlfr.services.access import Access
from openlfr.services.assurance import after_review
from openlfr.services.context import ServiceContext
from openlfr.services.rows import ALERTS_KEY, SYSTEM, WATCHLIST_KEY, facts
from openlfr.storage import models as m
from openlfr.storage.crypto import open_sealed, seal
from openlfr.vision.contract import Template


@dataclass(frozen=True, slots=True)
class AlertIn:
    """What the live pipeline hands over for one alert (already past the privacy boundary)."""

    camera_id: str
    entry_id: str
    score: float
    threshold: float
    contract_id: str
    detected_at: datetime
    # The probe's template: evidence, and what subject access searches; None when the
    # pipeline could not re-embed its crop.
    template: Template | None = None
    probe_jpeg: bytes | None = None
    scene_jpeg: bytes | None = None  # pixelated scene
    latency_ms: float | None = None
    source_ref: str | None = None


class Alerts:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def record_alert(self, deployment_id: str, a: AlertIn) -> str:
        ctx = self.ctx
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            f = facts(d)
            dep_rules.check_live(f, ctx.now())
            dep_rules.check_camera(f, a.camera_id)
            if a.contract_id != d.model_contract_id or (
                a.template is not None and a.template.contract.id != a.contract_id
            ):
                raise ContractMismatchError(f"alert made with {a.contract_id}", source=d.id)
            entry = s.get(m.WatchlistEntry, a.entry_id)
            if entry is None or entry.deployment_id != d.id:
                raise NotFoundError(
                    "alert names an entry that is not on this watchlist", source=a.entry_id
                )
            dk = ctx.data_key(s, d.id, ALERTS_KEY, create=False)
            aid = uuid.uuid4().hex
            aad = f"alerts:{aid}:"
            now = ctx.now()
            row = m.Alert(
                id=aid,
                deployment_id=d.id,
                camera_id=a.camera_id,
                entry_id=a.entry_id,
                detected_at=a.detected_at,
                recorded_at=now,
                score=float(a.score),
                threshold=float(a.threshold),
                contract_id=a.contract_id,
                latency_ms=a.latency_ms,
                source_ref=a.source_ref,
                probe_enc=seal(dk, a.probe_jpeg, aad + "probe") if a.probe_jpeg else None,
                scene_enc=seal(dk, a.scene_jpeg, aad + "scene") if a.scene_jpeg else None,
                template_enc=seal(dk, rows.template_bytes(a.template), aad + "template")
                if a.template is not None
                else None,
                expires_at=retention.expires_at(now, d.retention_profile),
                status=AlertStatus.PENDING.value,
            )
            s.add(row)
            ctx.audit(
                s,
                SYSTEM,
                "alert.record",
                f"alert:{aid}",
                after={
                    "deployment": d.id,
                    "camera": a.camera_id,
                    "entry_id": a.entry_id,
                    "score": round(float(a.score), 6),
                    "threshold": a.threshold,
                    "source_ref": a.source_ref,
                    "probe_digest": a.template.digest() if a.template else None,
                },
            )
            return aid

    def alerts(self, by: Actor, deployment_id: str) -> list[dict[str, Any]]:
        self.ctx.need_role(by, Role.OPERATOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)
        with self.ctx.tx() as s:
            access.require(by, rows.deployment(s, deployment_id), Access.ALERTS)
            q = (
                select(m.Alert)
                .where(m.Alert.deployment_id == deployment_id)
                .order_by(m.Alert.detected_at)
            )
            return [
                {
                    "id": a.id,
                    "camera": a.camera_id,
                    "entry_id": a.entry_id,
                    "score": a.score,
                    "threshold": a.threshold,
                    "status": a.status,
                    "result": a.result,
                    "detected_at": a.detected_at,
                    "expires_at": a.expires_at,
                    "legal_hold": a.legal_hold_reason,
                }
                for a in s.execute(q).scalars()
            ]

    def alert_evidence(self, by: Actor, alert_id: str) -> dict[str, Any]:
        """The side-by-side view of D.13: probe crop, watchlist image, raw score, threshold.

        The deployment's operators get the faces; an auditor the same record without them."""
        self.ctx.need_role(by, Role.OPERATOR, Role.AUDITOR)
        with self.ctx.tx() as s:
            a = rows.alert(s, alert_id)
            d = rows.deployment(s, a.deployment_id)
            access.require(by, d, Access.ALERTS)
            faces = access.allowed(by, d, Access.FACES)
            probe = None
            if faces and a.probe_enc:
                dk = self.ctx.data_key(s, a.deployment_id, ALERTS_KEY, create=False)
                probe = open_sealed(dk, a.probe_enc, f"alerts:{a.id}:probe")
            e = s.get(m.WatchlistEntry, a.entry_id)
            ref = None
            if e is not None and faces:
                wk = self.ctx.data_key(s, e.deployment_id, WATCHLIST_KEY, create=False)
                ref = open_sealed(wk, e.image_enc, f"watchlist_entries:{e.id}:image")
            self.ctx.audit(s, by.username, "alert.view", f"alert:{a.id}")
            return {
                "probe_jpeg": probe,
                "watchlist_jpeg": ref,
                "score": a.score,
                "threshold": a.threshold,
                "category": e.category if e else None,
                "status": a.status,
            }

    def review(self, by: Actor, alert_id: str, decision: str, reason: str) -> AlertStatus:
        dec = Decision(parse(Decision, decision, "decision"))
        with self.ctx.tx() as s:
            a = rows.alert(s, alert_id)
            d = rows.deployment(s, a.deployment_id)
            if by.has(Role.OPERATOR):  # others get the rule's own refusal below
                access.require(by, d, Access.ADJUDICATE)
            prev = [
                alert_rules.Review(r.user_id, Decision(r.decision), r.reason) for r in a.reviews
            ]
            require(
                "adjudication",
                alert_rules.review_problems(
                    facts(d), by, reason, prev, outcome_recorded=a.outcome_at is not None
                ),
                source=a.id,
            )
            a.reviews.append(
                m.Review(user_id=by.id, decision=dec.value, reason=reason, at=self.ctx.now())
            )
            before = a.status
            a.status = alert_rules.status_of(
                [*prev, alert_rules.Review(by.id, dec, reason)], eu_mode=d.eu_mode
            ).value
            self.ctx.audit(
                s,
                by.username,
                "alert.review",
                f"alert:{a.id}",
                before={"status": before},
                after={"decision": dec.value, "reason": reason, "status": a.status},
            )
            s.flush()
            after_review(self.ctx, s, d.id)  # the live false-alert monitor (12.2)
            return AlertStatus(a.status)

    def record_outcome(
        self, by: Actor, alert_id: str, *, engaged: bool, duration_s: float | None, result: str
    ) -> None:
        with self.ctx.tx() as s:
            a = rows.alert(s, alert_id)
            d = rows.deployment(s, a.deployment_id)
            if by.has(Role.OPERATOR):
                access.require(by, d, Access.ADJUDICATE)
            problems = alert_rules.outcome_problems(
                AlertStatus(a.status), engaged, duration_s, result
            )
            if by.id not in facts(d).operator_ids:
                problems.append(f"{by.username} is not an operator of this deployment")
            if a.outcome_at is not None:
                problems.append("the outcome is already recorded")
            require("outcome", problems, source=a.id)
            a.true_match = a.status == AlertStatus.CONFIRMED.value
            a.engaged, a.engagement_s, a.result = engaged, duration_s, result
            a.outcome_by, a.outcome_at = by.id, self.ctx.now()
            self.ctx.audit(
                s,
                by.username,
                "alert.outcome",
                f"alert:{a.id}",
                after={
                    "true_match": a.true_match,
                    "engaged": engaged,
                    "duration_s": duration_s,
                    "result": result,
                },
            )

    def legal_hold(self, by: Actor, alert_id: str, reason: str | None) -> None:
        """Place (reason given) or release (None) a legal hold, which suspends expiry (E.16):
        only by the deployment's own authorising officers."""
        self.ctx.need_role(by, Role.AUTHORISING_OFFICER)
        with self.ctx.tx() as s:
            a = rows.alert(s, alert_id)
            access.require(by, rows.deployment(s, a.deployment_id), Access.OFFICER)
            if reason is not None:
                require("legal hold", retention.hold_problems(reason), source=a.id)
            before = a.legal_hold_reason
            a.legal_hold_reason, a.legal_hold_by = reason, by.id if reason else None
            self.ctx.audit(
                s,
                by.username,
                "alert.legal_hold" if reason else "alert.legal_hold_release",
                f"alert:{a.id}",
                before={"reason": before},
                after={"reason": reason},
            )
