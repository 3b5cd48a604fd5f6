"""Model approvals: the evaluation record (threshold floor, FPIR curve) a deployment relies on."""

from __future__ import annotations

import json

from openlfr.eval.approval import ModelApproval
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services import rows
from openlfr.services.context import ServiceContext
from openlfr.storage import models as m


class Approvals:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def record_model_approval(self, by: Actor, approval: ModelApproval) -> None:
        self.ctx.need_role(by, Role.ADMINISTRATOR)
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
            self.ctx.audit(
                s,
                by.username,
                "model.approval",
                f"model:{approval.contract_id}",
                before={"approval": before} if before else None,
                after={"approval": approval.to_dict()},
            )
