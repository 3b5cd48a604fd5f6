"""Model approvals: the evaluation record (threshold floor, FPIR curve) a deployment relies on.

Separation of duties (G.21, ASVS V1.4.1): one person records an approval from an evaluation
report, a second person countersigns the same report (its SHA-256 over canonical JSON must
match), and only then does it count for authorisation. Re-recording starts over.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from openlfr.dicts import pick
from openlfr.errors import NotFoundError, PermissionDeniedError, RuleViolation
from openlfr.eval.approval import SUPPLIER, ModelApproval
from openlfr.governance import evaluation
from openlfr.governance.deployment import Actor
from openlfr.governance.profiles import PROFILES, parse_profile
from openlfr.governance.vocab import Role
from openlfr.services import rows
from openlfr.services.accounts import Accounts
from openlfr.services.room import Room
from openlfr.storage import models as m

PENDING, APPROVED = "pending_countersignature", "approved"
# Shown wherever a deployment is authorised on the supplier's shipped report.
SUPPLIER_RECOMMENDATION = (
    "the model's evidence is the supplier's evaluation report shipped with OpenLFR, not a "
    "measurement on this site's data: re-run `openlfr eval report` on data like this "
    "deployment's cameras and watchlists, and record that report, before relying on the figures"
)
# Who may record or countersign: an administrator or an authorising officer, two people.
APPROVERS = (Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)


def report_digest(report: dict[str, Any] | ModelApproval) -> str:
    """SHA-256 of the report's canonical JSON (key order and spacing do not matter)."""
    doc = report.to_dict() if isinstance(report, ModelApproval) else report
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def approval_from_report(report: dict[str, Any]) -> ModelApproval:
    """The approval section of a full evaluation report, refused (C.11) when the report lacks
    the per-group rates and their significance tests."""
    approval = ModelApproval.from_report_json(json.dumps(report))
    problems = evaluation.report_problems(report)
    if problems:
        raise RuleViolation("model approval", problems, source=approval.contract_id)
    return approval


class Approvals(Room):
    def record_model_approval(
        self,
        by: Actor,
        approval: ModelApproval,
        digest: str | None = None,
        per_group: list[dict[str, Any]] | None = None,
    ) -> str:
        """Propose an approval; it is pending until a second person countersigns it."""
        self.ctx.need_role(by, *APPROVERS)
        self._require_evidence_allowed(approval)
        Accounts(self.ctx).require_second_person(by, "a model approval")
        digest = digest or report_digest(approval)
        with self.ctx.tx() as s:
            row = s.get(m.ModelApprovalRow, approval.contract_id)
            before = json.loads(row.approval_json) if row else None
            if row is None:
                row = m.ModelApprovalRow(
                    contract_id=approval.contract_id,
                    approval_json="",
                    recorded_at=self.ctx.now(),
                    recorded_by=by.id,
                )
                s.add(row)
            row.approval_json = rows.j(approval.to_dict())
            row.recorded_at, row.recorded_by = self.ctx.now(), by.id
            row.report_digest, row.countersigned_by, row.countersigned_at = digest, None, None
            row.per_group_json = rows.j(per_group) if per_group is not None else None
            self.ctx.audit(
                s,
                by.username,
                "model.approval_proposed",
                f"model:{approval.contract_id}",
                before={"approval": before} if before else None,
                after={"approval": approval.to_dict(), "report_digest": digest},
            )
        return PENDING

    def countersign(self, by: Actor, contract_id: str, digest: str) -> str:
        """The second person's signature over the same report: the approval now counts."""
        self.ctx.need_role(by, *APPROVERS)
        Accounts(self.ctx).require_second_person(by, "a model approval")
        with self.ctx.tx() as s:
            row = s.get(m.ModelApprovalRow, contract_id)
            if row is None:
                raise NotFoundError("no approval recorded for this model", source=contract_id)
            if row.recorded_by == by.id:
                raise PermissionDeniedError(
                    "a second person must countersign a model approval", source=contract_id
                )
            problems = []
            if row.countersigned_by is not None:
                problems.append("this approval is already countersigned")
            if digest != row.report_digest:
                problems.append(
                    "the report differs from the one recorded (SHA-256 "
                    f"{digest[:12]}… is not {str(row.report_digest)[:12]}…)"
                )
            self._require_evidence_allowed(ModelApproval.from_dict(json.loads(row.approval_json)))
            if problems:
                raise RuleViolation("model approval countersignature", problems, source=contract_id)
            row.countersigned_by, row.countersigned_at = by.id, self.ctx.now()
            signed = {"approval": json.loads(row.approval_json)} | pick(
                row, "report_digest", "recorded_by"
            )
            self.ctx.audit(s, by.username, "model.approval", f"model:{contract_id}", after=signed)
        return APPROVED

    def _require_evidence_allowed(self, approval: ModelApproval) -> None:
        profile = parse_profile(self.ctx.settings.controller_profile)
        if approval.evidence == SUPPLIER and PROFILES[profile].local_evaluation:
            raise RuleViolation(
                "model approval",
                [
                    f"the {profile.value} profile requires the model evaluated on local data: "
                    "the supplier's shipped report is not enough; run `openlfr eval report` "
                    "and approve that report"
                ],
                source=approval.contract_id,
            )

    def evidence(self, contract_id: str) -> str | None:
        """Whose measurement the model's approval rests on ("local" or "supplier")."""
        with self.ctx.tx() as s:
            row = s.get(m.ModelApprovalRow, contract_id)
            return (
                None
                if row is None
                else ModelApproval.from_dict(json.loads(row.approval_json)).evidence
            )

    def status(self, contract_id: str) -> str | None:
        with self.ctx.tx() as s:
            row = s.get(m.ModelApprovalRow, contract_id)
            if row is None:
                return None
            return APPROVED if row.countersigned_by else PENDING
