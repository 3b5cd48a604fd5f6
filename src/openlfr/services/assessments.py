"""`Assessments.draft`: a deployment's DPIA / FRIA draft (governance.assessment), its SHA-256
recorded in the audit log so the document the officer completed can be matched to what the
system stated."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from openlfr.governance import assessment as doc
from openlfr.governance import retention, transparency
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Category, Role
from openlfr.services import access, rows
from openlfr.services.access import Access
from openlfr.services.assurance import profile_of
from openlfr.services.room import Room
from openlfr.services.training import trainings
from openlfr.storage import assurance_models as am
from openlfr.storage import models as m


@dataclass(frozen=True, slots=True)
class AssessmentDoc:
    text: str
    digest: str


def _iso(v: Any) -> Any:
    return v.isoformat(timespec="minutes") if isinstance(v, datetime) else v


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 3)


def _days(profile: str) -> str:
    p = retention.retention_period(profile)
    return f"{p.days} days" if p.days else f"{p.total_seconds() / 3600:g} hours"


class Assessments(Room):
    def draft(self, by: Actor, deployment_id: str) -> AssessmentDoc:
        """For the deployment's authorising officers and auditors (wrong deployment: refused)."""
        ctx = self.ctx
        ctx.need_role(by, Role.AUTHORISING_OFFICER, Role.AUDITOR)
        now = ctx.now()
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            access.require(
                by, d, Access.OFFICER if by.has(Role.AUTHORISING_OFFICER) else Access.VIEW
            )
            f = rows.facts(d)
            cats: list[Any] = list(d.entries) or list(
                s.execute(select(m.WatchlistStub).where(m.WatchlistStub.deployment_id == d.id))
                .scalars()
                .all()
            )
            by_cat = {c.value: sum(1 for e in cats if e.category == c.value) for c in Category}
            approval = rows.approval(s, d.model_contract_id)
            row = s.get(m.ModelApprovalRow, d.model_contract_id) if d.model_contract_id else None
            per_group = json.loads(row.per_group_json) if row and row.per_group_json else None
            notes: list[str] = []
            appr: dict[str, Any] | None = None
            if approval is not None and d.threshold is not None:
                size = max(len(cats), 1)
                appr = {
                    "Model": approval.contract_id,
                    "Evaluated on": approval.created_at,
                    "Evaluation data": approval.dataset,
                    "Validated minimum threshold": approval.validated_min_threshold,
                    "Deployment threshold": d.threshold,
                    f"FPIR at the threshold, list of {size}": round(
                        approval.fpir_at(size, d.threshold), 8
                    ),
                    "Expected false alerts (authorisation, size cap)": _r(d.expected_false_alerts),
                    "Expected false alerts (at sign-off)": _r(d.expected_false_alerts_signoff),
                    "Expected share of listed people found": _r(
                        d.expected_hit_rate_signoff or d.expected_hit_rate
                    )
                    or "not projected (no TPIR curve in the approval)",
                }
                if d.threshold < approval.validated_min_threshold:
                    notes.append("the threshold is below the model's validated floor")
            if per_group is None:
                notes.append("no per-group rates recorded with the model approval")
            a = s.get(am.DeploymentAssurance, d.id)
            ops = [s.get(m.User, i) for i in f.operator_ids]
            today = now.date()
            trained = [
                u.username for u in ops if u and any(t.current(today) for t in trainings(s, u.id))
            ]
            untrained = sorted({u.username for u in ops if u} - set(trained))
            if untrained:
                notes.append(f"operators without current training: {', '.join(untrained)}")
            signage = json.loads(d.signage_json)
            missing = [k for k in transparency.SIGNAGE_CHECKLIST if not signage.get(k)]
            if missing:
                notes.append(f"signage checklist incomplete: {', '.join(missing)}")
            facts = doc.AssessmentFacts(
                deployment={k: _iso(v) for k, v in {**rows.snapshot(d), "id": d.id}.items()}
                | (
                    {}
                    if d.no_notice_reason
                    else {"no_notice_reason": "n/a: notice published"}
                    if d.public_notice_at
                    else {}
                ),
                controller_profile=profile_of(ctx).value,
                art9_condition=a.art9_condition if a else None,
                categories=by_cat,
                watchlist_size=len(cats),
                signed_off=d.signed_off_at is not None,
                snapshot_hash=d.watchlist_snapshot_hash,
                approval=appr,
                per_group=per_group,
                retention={
                    "Alert retention": f"{d.retention_profile} ({_days(d.retention_profile)}); "
                    "a legal hold needs a recorded reason",
                    "Watchlist destroyed after the end": f"within 24 h (grace "
                    f"{ctx.settings.watchlist_grace_hours:g} h), leaving an audit stub",
                    "Non-matching faces": "kept in memory only, discarded at once",
                    "Deletion receipts": "written to the hash-chained audit log",
                },
                signage={k: bool(signage.get(k)) for k in transparency.SIGNAGE_CHECKLIST},
                oversight={
                    "Authorising officer": "recorded at authorisation (role separation enforced)",
                    "Watchlist compiler": "a different person from the officer and operators",
                    "Operators": len(f.operator_ids),
                    "Operators with current training": len(trained),
                    "Review": "every alert is a candidate until an operator confirms it"
                    + ("; two distinct people confirm in EU mode" if f.eu_mode else ""),
                    "False-alert monitor": "pauses alerts when false alerts exceed expectation",
                },
                generated_at=now.isoformat(),
                notes=notes,
            )
            text = doc.render(facts)
            digest = hashlib.sha256(text.encode()).hexdigest()
            ctx.audit(
                s,
                by.username,
                "deployment.assessment_draft",
                f"deployment:{d.id}",
                after={"sha256": digest, "bytes": len(text.encode()), "eu_mode": f.eu_mode},
            )
            return AssessmentDoc(text, digest)
