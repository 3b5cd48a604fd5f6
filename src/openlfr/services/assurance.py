"""Assurance while a deployment runs: controller-profile checks (H.23), the live false-alert
monitor (12.2), equality records (C.12) and the assurance part of the public record.

The rooms of `services` call the hooks here inside their own transaction (`profile_problems`
at authorisation and start, `entry_profile_problems` on enrolment, `after_review` after each
review); everything else is a method of `Assurance`, one transaction and audit record each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.dicts import pick
from openlfr.governance import equality as eq
from openlfr.governance import monitor as mon
from openlfr.governance import profiles as prof
from openlfr.governance import walkby as wb
from openlfr.governance.deployment import Actor, require, require_editable
from openlfr.governance.transparency import SIGNAGE_CHECKLIST
from openlfr.governance.vocab import AlertStatus, Role
from openlfr.services import access, equality_data, rows
from openlfr.services.context import ServiceContext
from openlfr.services.walkby import (
    Walkbys,
    assurance_row,
    need_authoriser,
    need_member,
    need_operator,
)
from openlfr.storage import assurance_models as am
from openlfr.storage import models as m

RETENTION_DAYS = {"24h": 1.0, "31d": 31.0}
ASSURANCE_FIELDS = ("min_walkby_tpir", "threat_ref", "art9_condition", "retention_schedule_url")


def profile_of(ctx: ServiceContext) -> prof.Profile:
    return prof.parse_profile(ctx.settings.controller_profile)


def profile_problems(ctx: ServiceContext, s: Session, d: m.Deployment) -> list[str]:
    a = s.get(am.DeploymentAssurance, d.id)
    signage = json.loads(d.signage_json or "{}")
    c = prof.DeploymentContext(
        purpose=d.purpose,
        dpia_ref=d.dpia_ref,
        necessity=d.necessity,
        alternatives=d.alternatives,
        eu_mode=d.eu_mode,
        covert=d.public_notice_at is None,
        signage_complete=all(signage.get(k, False) for k in SIGNAGE_CHECKLIST),
        retention_days=RETENTION_DAYS.get(d.retention_profile, 31.0),
        threat_ref=a.threat_ref if a else None,
        art9_condition=a.art9_condition if a else None,
        retention_schedule_url=a.retention_schedule_url if a else None,
    )
    return prof.deployment_problems(profile_of(ctx), c) + wb.min_tpir_problems(
        a.min_walkby_tpir if a else None
    )


def entry_profile_problems(
    ctx: ServiceContext, category: str, facts: prof.EntryContext | None
) -> list[str]:
    return prof.entry_problems(profile_of(ctx), facts or prof.EntryContext(category))


def entry_facts_row(
    entry_id: str, deployment_id: str, f: prof.EntryContext
) -> am.EntryProfileFacts:
    # Every profile fact of the entry; its category is already on the entry row.
    facts = {k: v for k, v in asdict(f).items() if k != "category"}
    return am.EntryProfileFacts(entry_id=entry_id, deployment_id=deployment_id, **facts)


def false_alerts(s: Session, deployment_id: str) -> int:
    q = select(func.count()).where(
        m.Alert.deployment_id == deployment_id, m.Alert.status == AlertStatus.REJECTED.value
    )
    return int(s.execute(q).scalar_one())


def _p0(d: m.Deployment, a: am.DeploymentAssurance) -> float | None:
    if a.monitor_p0 is not None:
        return a.monitor_p0
    expected = (
        d.expected_false_alerts_signoff
        if d.expected_false_alerts_signoff is not None
        else d.expected_false_alerts
    )
    return mon.expected_rate(expected, d.expected_faces)


def _monitor(d: m.Deployment, a: am.DeploymentAssurance) -> mon.Monitor | None:
    p0 = _p0(d, a)
    if p0 is None or p0 <= 0:
        return None
    return mon.Monitor(
        p0, mon.MonitorState(a.monitor_state), a.monitor_base_faces, a.monitor_base_false
    )


def after_review(ctx: ServiceContext, s: Session, deployment_id: str) -> mon.Reading | None:
    """Update the monitor after an operator review; pauses the alerts when exceeded."""
    d = rows.deployment(s, deployment_id)
    a = assurance_row(s, d.id)
    monitor = _monitor(d, a)
    if monitor is None:
        return None
    before = monitor.state
    r = monitor.on_review(d.faces_processed, false_alerts(s, d.id))
    if before == mon.MonitorState.ACTIVE and monitor.state == mon.MonitorState.PAUSED:
        a.monitor_state = monitor.state.value
        _event(ctx, s, d, "pause", "system", None, r, d.threshold, d.threshold)
    return r


def _event(
    ctx: ServiceContext,
    s: Session,
    d: m.Deployment,
    kind: str,
    by: str,
    reason: str | None,
    r: mon.Reading,
    before: float | None,
    after: float | None,
) -> None:
    s.add(
        am.MonitorEvent(
            deployment_id=d.id,
            at=ctx.now(),
            kind=kind,
            by=by,
            reason=reason,
            threshold_before=before,
            threshold_after=after,
            reading_json=json.dumps(r.to_dict()),
        )
    )
    ctx.audit(
        s,
        by,
        f"monitor.{kind}",
        f"deployment:{d.id}",
        before={"threshold": before},  # G.20: every threshold change, before and after
        after={"reason": reason, "threshold": after, **r.to_dict()},
    )


def hold_match(s: Session, d: m.Deployment, score: float | None) -> str | None:
    """Why a match of this deployment is not recorded now (counted as suppressed), or None. The
    one rule for in-process sinks and for alerts ingested from edge workers."""
    return count_held(s, d, alerts_held(s, d), score)


def count_held(s: Session, d: m.Deployment, held: str | None, score: float | None) -> str | None:
    """`hold_match` with the deployment's hold already read (`alerts_held`, once per batch)."""
    why = held
    # Re-authorised at a higher threshold mid-run: the running pipeline still has the old.
    if why is None and score is not None and d.threshold is not None and score < d.threshold:
        why = "below the re-authorised threshold"
    if why is not None:
        assurance_row(s, d.id).suppressed_matches += 1
    return why


def alerts_held(s: Session, d: m.Deployment) -> str | None:
    """Why alerts are held now (paused monitor, unacknowledged walk-by flag), or None."""
    a = s.get(am.DeploymentAssurance, d.id)
    if a is None:
        return None
    if a.monitor_state != mon.MonitorState.ACTIVE.value:
        return "false-alert monitor paused"
    if wb.flag_problems(a.walkby_flagged, a.walkby_ack_at is not None):
        return "test walk-by below the authorised level"
    return None


class Assurance:
    def __init__(self, ctx: ServiceContext, end: Callable[[Actor, str, str], None]) -> None:
        self.ctx = ctx
        self.walkbys = Walkbys(ctx)
        self._end = end  # Deployments.end: the officer's "end" goes through the usual path

    @property
    def profile(self) -> prof.ProfileInfo:
        return prof.PROFILES[profile_of(self.ctx)]

    def configure(self, by: Actor, deployment_id: str, **fields: Any) -> None:
        """Set the assurance fields of a draft (minimum walk-by TPIR, profile facts)."""
        unknown = set(fields) - set(ASSURANCE_FIELDS)
        if unknown:
            raise ValueError(f"unknown assurance fields: {sorted(unknown)}")
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            self.ctx.need_role(by, Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
            access.require(by, d, access.Access.EDIT)  # staff of this deployment only
            require_editable(rows.facts(d), "the assurance configuration")
            require("assurance configuration", wb.min_tpir_problems(fields.get("min_walkby_tpir")))
            a = assurance_row(s, d.id)
            before = pick(a, *ASSURANCE_FIELDS)
            for k, v in fields.items():
                setattr(a, k, v)
            self.ctx.audit(
                s, by.username, "assurance.configure", f"deployment:{d.id}", before, fields
            )

    def held(self, deployment_id: str) -> str | None:
        """Why this deployment's alerts are held now, or None (read only, for display)."""
        with self.ctx.tx() as s:
            return alerts_held(s, rows.deployment(s, deployment_id))

    def hold_reason(self, deployment_id: str, score: float | None = None) -> str | None:
        """Used by the alert sink: a match is recorded only when this is None."""
        with self.ctx.tx() as s:
            return hold_match(s, rows.deployment(s, deployment_id), score)

    def decide(
        self,
        by: Actor,
        deployment_id: str,
        choice: str,
        reason: str,
        new_threshold: float | None = None,
    ) -> None:
        """The authorising officer's answer to a paused monitor: resume, resume at a higher
        threshold (a re-authorisation, with a new expected rate), or end."""
        ch = mon.OfficerChoice(choice)
        ctx = self.ctx
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            need_authoriser(by, d)
            a = assurance_row(s, d.id)
            monitor = _monitor(d, a)
            problems = [] if reason.strip() else ["a decision needs a reason"]
            if monitor is None or monitor.state != mon.MonitorState.PAUSED:
                problems.append("the false-alert monitor is not paused")
            new_p0 = None
            if ch == mon.OfficerChoice.RESUME_HIGHER_THRESHOLD:
                if new_threshold is None or d.threshold is None or new_threshold <= d.threshold:
                    problems.append("resuming at a higher threshold needs a threshold above now")
                else:
                    approval = rows.approval(s, d.model_contract_id)
                    if approval is not None and d.expected_faces:
                        size = rows.watchlist_size(s, d.id)
                        expected = approval.expected_false_alerts(
                            d.expected_faces, size, new_threshold
                        )
                        new_p0 = mon.expected_rate(expected, d.expected_faces)
            require("monitor decision", problems, source=d.id)
            assert monitor is not None
            k = false_alerts(s, d.id)
            r = monitor.reading(d.faces_processed, k)
            monitor.decide(ch, faces=d.faces_processed, false_alerts=k, new_p0=new_p0)
            before = d.threshold
            if ch == mon.OfficerChoice.RESUME_HIGHER_THRESHOLD:
                d.threshold = new_threshold
                a.monitor_p0 = new_p0 if new_p0 is not None else monitor.p0
            a.monitor_state = monitor.state.value
            a.monitor_base_faces, a.monitor_base_false = monitor.base_faces, monitor.base_false
            _event(ctx, s, d, ch.value, by.username, reason, r, before, d.threshold)
        if ch == mon.OfficerChoice.END:
            self._end(by, deployment_id, "ended by the officer: false-alert monitor")

    def record_group(self, by: Actor, alert_id: str, group: str) -> None:
        """C.12: the operator's optional perceived-group record, after review, stored apart."""
        g = eq.parse_group(group)
        with self.ctx.tx() as s:
            a = rows.alert(s, alert_id)
            d = rows.deployment(s, a.deployment_id)
            need_operator(by, d)
            require(
                "perceived group",
                eq.record_problems(
                    a.status,
                    is_test=False,
                    already_recorded=s.get(am.EqualityRecord, a.id) is not None,
                ),
                source=alert_id,
            )
            now = self.ctx.now()
            s.add(
                am.EqualityRecord(
                    alert_id=a.id,
                    deployment_id=d.id,
                    year=(d.started_at or now).year,
                    group_enc=equality_data.sealed_group(self.ctx, s, d.id, a.id, g.value),
                    false_alert=a.status == AlertStatus.REJECTED.value,
                    outcome=a.result,
                    recorded_by=by.id,
                    recorded_at=now,
                )
            )
            # Special-category data: the record names neither the alert (which the log ties
            # to a watchlist entry) nor the group; only that one was made on this deployment.
            self.ctx.audit(s, by.username, "equality.record", f"deployment:{d.id}")

    def equality(
        self, year: int, deployment_id: str | None = None, *, published: bool = False
    ) -> list[dict[str, Any]]:
        """The year's (or one deployment's) equality rows. `published`: only deployments that
        have ended, and every count under 10 suppressed (issue 22)."""
        with self.ctx.tx() as s:
            recs = equality_data.year_records(
                self.ctx, s, year, deployment_id, ended_only=published
            )
        rows = [row.to_dict() for row in eq.summarise(recs)]
        return [eq.suppress_small(r) for r in rows] if published else rows

    def equality_for(
        self, by: Actor, year: int, deployment_id: str | None = None
    ) -> list[dict[str, Any]]:
        """One deployment's rows for the people with a part in it; the year's for oversight."""
        with self.ctx.tx() as s:
            if deployment_id:
                need_member(by, rows.deployment(s, deployment_id))
            else:
                self.ctx.need_role(by, Role.AUDITOR, Role.AUTHORISING_OFFICER, Role.ADMINISTRATOR)
        return self.equality(year, deployment_id)

    def record(self, deployment_id: str) -> dict[str, Any]:
        """The assurance part of a deployment's record (published after it ends)."""
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            return self._record(s, d)

    def view(self, by: Actor, deployment_id: str) -> dict[str, Any]:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            need_member(by, d)
            out = self._record(s, d)
            out["held"] = alerts_held(s, d)
            year = (d.started_at or self.ctx.now()).year
        out["equality"] = self.equality(year, deployment_id)
        return out

    def _record(self, s: Session, d: m.Deployment) -> dict[str, Any]:
        a = assurance_row(s, d.id)
        monitor = _monitor(d, a)
        k = false_alerts(s, d.id)
        reading = monitor.reading(d.faces_processed, k).to_dict() if monitor else None
        events = s.execute(
            select(am.MonitorEvent)
            .where(am.MonitorEvent.deployment_id == d.id)
            .order_by(am.MonitorEvent.id)
        ).scalars()
        p0 = _p0(d, a)
        return {
            "controller_profile": profile_of(self.ctx).value,
            "min_walkby_tpir": a.min_walkby_tpir,
            "walkby_runs": self.walkbys.runs(s, d.id),
            "walkby_groups": self.walkbys.group_rates(s, d.id),
            "walkby_flagged": a.walkby_flagged,
            "walkby_acknowledged": a.walkby_ack_at is not None,
            "walkby_acknowledged_at": rows.iso(a.walkby_ack_at) or None,
            "expected_false_alerts_per_1000_faces": 1000 * p0 if p0 is not None else None,
            "measured_false_alerts_per_1000_faces": (
                1000 * k / d.faces_processed if d.faces_processed else None
            ),
            "monitor_state": a.monitor_state,
            "monitor_reading": reading,
            "monitor_events": [
                {
                    "at": rows.iso(e.at),
                    "kind": e.kind,
                    "by": e.by,
                    "reason": e.reason,
                    "threshold_before": e.threshold_before,
                    "threshold_after": e.threshold_after,
                    **json.loads(e.reading_json),
                }
                for e in events
            ],
            "suppressed_matches": a.suppressed_matches,
        }
