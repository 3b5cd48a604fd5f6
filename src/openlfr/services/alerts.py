"""Alerts: recording what the live pipeline raised, the evidence view, review, outcome, hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

from openlfr.dicts import pick
from openlfr.errors import OpenLFRError
from openlfr.governance import alerts as alert_rules
from openlfr.governance import retention
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import AlertStatus, Decision, Role, parse
from openlfr.services import access, rows
from openlfr.services.access import Access
from openlfr.services.alert_record import AlertIn, record_alerts
from openlfr.services.assurance import after_review
from openlfr.services.room import Room
from openlfr.services.rows import ALERTS_KEY, WATCHLIST_KEY, facts
from openlfr.services.training import reviewer_training
from openlfr.storage import audit
from openlfr.storage import models as m
from openlfr.storage.crypto import open_sealed

__all__ = ["AlertIn", "Alerts"]


class Alerts(Room):
    def record_alert(self, deployment_id: str, a: AlertIn) -> str:
        with self.ctx.tx() as s:
            (r,) = record_alerts(self.ctx, s, [(deployment_id, a)])
        if isinstance(r, OpenLFRError):
            raise r
        self.ctx.alerts_committed()
        return r

    def alerts(self, by: Actor, deployment_id: str) -> list[dict[str, Any]]:
        self.ctx.need_role(by, Role.OPERATOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)
        with self.ctx.tx() as s:
            access.require(by, rows.deployment(s, deployment_id), Access.ALERTS)
            q = _listing().where(m.Alert.deployment_id == deployment_id)
            got = [_listed(r) for r in s.execute(q.order_by(m.Alert.detected_at))]
            return _with_reviews(s, got)

    def feed(
        self, by: Actor, deployment_ids: list[str], since: int | None, full: list[str]
    ) -> tuple[int, list[tuple[str, dict[str, Any]]]]:
        """For a live stream: every alert of the `full` deployments, and those of the others
        recorded or changed since audit record `since`; with the audit head to ask from next.

        Every recording or review of an alert appends its audit record under the chain head's
        lock, so records commit in `seq` order: all records up to the head read here are
        committed, and none is missed by a cursor on `seq` (a timestamp cursor could miss a
        transaction that committed late)."""
        self.ctx.need_role(by, Role.OPERATOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)
        with self.ctx.tx() as s:
            asked = select(m.Deployment).where(m.Deployment.id.in_(deployment_ids))
            found = {d.id: d for d in s.scalars(asked)}  # one query a poll, not one a deployment
            for d in deployment_ids:
                access.require(by, found.get(d) or rows.deployment(s, d), Access.ALERTS)
            head = audit.head(s)[0]  # first: what the reads below must at least cover
            deps, full = m.Alert.deployment_id, [d for d in full if d in deployment_ids]
            which: ColumnElement[bool] = deps.in_(full)
            changed: set[str] = set()
            if since is not None and since < head:
                q = select(m.AuditRecord.subject).where(
                    m.AuditRecord.seq > since,
                    m.AuditRecord.seq <= head,
                    m.AuditRecord.subject.like("alert:%"),
                )
                changed = {subj.removeprefix("alert:") for subj in s.execute(q).scalars()}
                if changed:
                    which = or_(which, and_(deps.in_(deployment_ids), m.Alert.id.in_(changed)))
            if not full and not changed:
                return head, []
            q = _listing().add_columns(deps).where(which).order_by(m.Alert.detected_at)
            got = [(r.deployment_id, _listed(r)) for r in s.execute(q)]
            _with_reviews(s, [a for _, a in got])
            return head, got

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
            ref = subject_ref = None
            if e is not None and faces:
                wk = self.ctx.data_key(s, e.deployment_id, WATCHLIST_KEY, create=False)
                # The entry's best photo (highest quality of its own and its further photos).
                best = max(
                    [(e.quality_score, f"watchlist_entries:{e.id}", e.image_enc)]
                    + [
                        (p.quality_score, f"watchlist_entry_photos:{p.id}", p.image_enc)
                        for p in e.photos
                    ],
                    key=lambda x: x[0],
                )
                ref = open_sealed(wk, best[2], f"{best[1]}:image")
                subject_ref = open_sealed(
                    wk, e.subject_ref_enc, f"watchlist_entries:{e.id}:subject"
                ).decode()
            # Opening the evidence is audited once per person and alert: a card redrawn on
            # every page load is the same look, not a new one.
            seen = select(m.AuditRecord.seq).where(
                m.AuditRecord.subject == f"alert:{a.id}",
                m.AuditRecord.action == "alert.view",
                m.AuditRecord.actor == by.username,
            )
            if s.execute(seen.limit(1)).first() is None:
                self.ctx.audit(s, by.username, "alert.view", f"alert:{a.id}")
            return {
                "probe_jpeg": probe,
                "watchlist_jpeg": ref,
                "score": a.score,
                "threshold": a.threshold,
                "category": e.category if e else None,
                "status": a.status,
                # What the operator decides on beside the faces (only with the faces).
                "subject_ref": subject_ref,
                "reason": e.reason if e is not None and faces else None,
                "legal_basis": e.legal_basis if e is not None and faces else None,
                "location": d.location,
                "deployment_name": d.name,
                "purpose": d.purpose,
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
            # Only staff with current training review (refused here, not flagged afterwards).
            trained = reviewer_training(s, by, self.ctx.now().date())
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
                after={
                    "decision": dec.value,
                    "reason": reason,
                    "status": a.status,
                    "training": {"course": trained.course, "expires_on": trained.expires_on},
                },
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
            outcome = pick(a, "true_match", "engaged", "result") | {"duration_s": duration_s}
            self.ctx.audit(s, by.username, "alert.outcome", f"alert:{a.id}", after=outcome)

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


# What a listing shows, by key: the listed columns only, never the sealed crops or templates.
_LISTED = {
    "id": m.Alert.id,
    "camera": m.Alert.camera_id,
    "entry_id": m.Alert.entry_id,
    "score": m.Alert.score,
    "threshold": m.Alert.threshold,
    "status": m.Alert.status,
    "result": m.Alert.result,
    "detected_at": m.Alert.detected_at,
    "expires_at": m.Alert.expires_at,
    "legal_hold": m.Alert.legal_hold_reason,
}


def _listing() -> Select[*tuple[Any, ...]]:
    return select(*_LISTED.values())


def _with_reviews(s: Any, alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each alert with its reviews (who, when, decision, reason), so a decided card keeps them;
    one query for the lot."""
    by_id = {a["id"]: a for a in alerts}
    for a in alerts:
        a["reviews"] = []
    if not by_id:
        return alerts
    q = (
        select(m.Review.alert_id, m.User.username, m.Review.decision, m.Review.reason, m.Review.at)
        .join(m.User, m.User.id == m.Review.user_id, isouter=True)
        .where(m.Review.alert_id.in_(by_id))
        .order_by(m.Review.at)
    )
    for aid, who, decision, reason, at in s.execute(q):
        by_id[aid]["reviews"].append({"by": who, "decision": decision, "reason": reason, "at": at})
    return alerts


def _listed(r: Any) -> dict[str, Any]:
    """A listing row as its dict; columns added after the listed ones (add_columns) are left out."""
    return dict(zip(_LISTED, r, strict=False))
