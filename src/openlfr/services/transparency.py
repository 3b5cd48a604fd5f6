"""Transparency: the public notice, the post-deployment record and the annual summary.

Counts are rebuilt from the audit log, so a record stays complete after its alerts are purged.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.governance import transparency
from openlfr.governance.vocab import AlertStatus, Role
from openlfr.services import rows
from openlfr.services.room import Room
from openlfr.services.rows import by_category, iso
from openlfr.storage import audit
from openlfr.storage import models as m


def _alert_facts(s: Session, deployment_id: str) -> list[dict[str, Any]]:
    """Per-alert status and outcome, rebuilt from the audit log so purged alerts still count."""
    out: dict[str, dict[str, Any]] = {}
    q = select(m.AuditRecord).where(
        m.AuditRecord.action.in_(
            ("alert.record", "alert.review", "alert.outcome", "subject.erase_alert")
        )
    )
    for r in s.execute(q.order_by(m.AuditRecord.seq)).scalars():
        after = json.loads(r.after_json)
        aid = r.subject.removeprefix("alert:")
        if r.action == "alert.record":
            if after.get("deployment") == deployment_id:
                out[aid] = {"status": AlertStatus.PENDING.value, "entry_id": after.get("entry_id")}
        elif aid in out:
            if r.action == "alert.review":
                out[aid]["status"] = after["status"]
            elif r.action == "alert.outcome":
                out[aid].update(engaged=after["engaged"], result=after["result"])
    return list(out.values())


def _record(s: Session, d: m.Deployment) -> transparency.DeploymentRecord:
    by_cat = by_category(list(d.entries))
    if d.watchlist_destroyed_at is not None:
        stubs = s.execute(
            select(m.WatchlistStub).where(m.WatchlistStub.deployment_id == d.id)
        ).scalars()
        by_cat = by_category(list(stubs))
    # Counts survive alert purges through the audit log: each alert's record and outcome.
    alerts = _alert_facts(s, d.id)
    # The measured side of expected hits: distinct listed people with a confirmed alert.
    found = {
        a["entry_id"]
        for a in alerts
        if a["status"] == AlertStatus.CONFIRMED.value and a.get("entry_id")
    }
    hits = json.loads(d.expected_hits_json or "{}")
    results: dict[str, int] = {}
    for a in alerts:
        if a.get("result"):
            results[a["result"]] = results.get(a["result"], 0) + 1
    return transparency.DeploymentRecord(
        deployment_id=d.id,
        name=d.name,
        date=d.starts_at.date().isoformat() if d.starts_at else "",
        start=iso(d.started_at or d.starts_at),
        end=iso(d.ended_at or d.ends_at),
        location=d.location or "",
        purpose=d.purpose or "",
        authorising_role=Role.AUTHORISING_OFFICER.value if d.authoriser_id else "",
        camera_count=len(json.loads(d.cameras_json)),
        watchlist_size=sum(by_cat.values()),
        watchlist_by_category=by_cat,
        model_version=d.model_contract_id or "",
        threshold=d.threshold or 0.0,
        faces_processed=d.faces_processed,
        alerts=len(alerts),
        true_alerts=sum(1 for a in alerts if a["status"] == AlertStatus.CONFIRMED.value),
        false_alerts=sum(1 for a in alerts if a["status"] == AlertStatus.REJECTED.value),
        unresolved_alerts=sum(
            1
            for a in alerts
            if a["status"] in (AlertStatus.PENDING.value, AlertStatus.UNSURE.value)
        ),
        engagements=sum(1 for a in alerts if a.get("engaged")),
        arrests=results.pop("arrest", 0),
        other_outcomes=results,
        expected_false_alerts=(
            d.expected_false_alerts_signoff
            if d.expected_false_alerts_signoff is not None
            else d.expected_false_alerts
        ),
        expected_hit_rate_at_authorisation=d.expected_hit_rate,
        expected_hit_rate_at_sign_off=d.expected_hit_rate_signoff,
        single_photo_entries=(hits.get("sign_off") or hits.get("authorisation") or {}).get(
            "single_photo_entries"
        ),
        listed_people_found=len(found),
        audit_head=_head(s),
    )


def _head(s: Session) -> str:
    """Published with every record so a public copy proves later truncation of the log."""
    n, h = audit.head(s)
    return f"{n}:{h}"


class Transparency(Room):
    def public_notice(self, deployment_id: str) -> transparency.PublicNotice:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            return transparency.PublicNotice(
                deployment_id=d.id,
                name=d.name,
                date=d.starts_at.date().isoformat() if d.starts_at else "",
                window_start=iso(d.starts_at),
                window_end=iso(d.ends_at),
                location=d.location or "",
                purpose=d.purpose or "",
                notice_published_at=iso(d.public_notice_at) or None,
                signage={
                    k: bool(json.loads(d.signage_json).get(k, False))
                    for k in transparency.SIGNAGE_CHECKLIST
                },
            )

    def deployment_record(self, deployment_id: str) -> transparency.DeploymentRecord:
        with self.ctx.tx() as s:
            return _record(s, rows.deployment(s, deployment_id))

    def annual_summary(self, year: int) -> dict[str, Any]:
        with self.ctx.tx() as s:
            recs = [
                _record(s, d)
                for d in s.execute(select(m.Deployment)).scalars()
                if d.started_at is not None and d.started_at.year == year
            ]
            summary = transparency.annual_summary(year, recs)
            summary["deployment_records"] = [r.to_dict() for r in recs]
            summary.update(_reviews(s, year))
            summary["audit_head"] = _head(s)
            return summary


def _reviews(s: Session, year: int) -> dict[str, int]:
    """The year's alert reviews, and those by staff with current training (ICO 2025): read
    from the audit log, which outlives the purged alerts; every review since issue 22 names
    the reviewer's current course, and a review without one is refused."""
    q = select(m.AuditRecord.after_json).where(
        m.AuditRecord.action == "alert.review", m.AuditRecord.at.like(f"{year}-%")
    )
    found = [json.loads(a) for a in s.execute(q).scalars()]
    return {
        "reviews": len(found),
        "reviews_by_trained_staff": sum(1 for a in found if a.get("training")),
    }
