"""Test list and test walk-bys (item 12.1): enrol consenting staff, record each walk-by, flag a
camera that falls below the authorised TPIR until the authorising officer acknowledges.

The test list is sealed with its own data key ("testlist") so that destroying it with the
watchlist shreds every copy; test alerts live in their own table and never enter operational
counts, reviews or the false-alert monitor.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openlfr.dicts import pick
from openlfr.errors import ContractMismatchError, PermissionDeniedError, RuleViolation
from openlfr.governance import deployment as dep_rules
from openlfr.governance import walkby as rules
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import DeploymentState, Role
from openlfr.services import rows
from openlfr.services.context import ServiceContext
from openlfr.services.room import Room
from openlfr.storage import assurance_models as am
from openlfr.storage import models as m
from openlfr.storage.crypto import open_sealed, seal
from openlfr.vision.contract import Template

TESTLIST_KEY = "testlist"


@dataclass(frozen=True, slots=True)
class LoadedTestList:
    deployment_id: str
    threshold: float
    subject_ids: list[str]
    vectors: np.ndarray


def assurance_row(s: Session, deployment_id: str) -> am.DeploymentAssurance:
    row = s.get(am.DeploymentAssurance, deployment_id)
    if row is None:
        row = am.DeploymentAssurance(
            deployment_id=deployment_id,
            walkby_flagged=False,
            monitor_state="active",
            monitor_base_faces=0,
            monitor_base_false=0,
            suppressed_matches=0,
        )
        s.add(row)
        s.flush()
    return row


def is_member(by: Actor, d: m.Deployment) -> bool:
    """Named on the deployment (operator, compiler, authoriser) or an oversight role."""
    return (
        by.id in json.loads(d.operator_ids_json)
        or by.id in (d.compiler_id, d.authoriser_id)
        or by.has(Role.AUDITOR)
    )


def need_member(by: Actor, d: m.Deployment) -> None:
    if not is_member(by, d):
        raise PermissionDeniedError(f"{by.username} has no part in deployment {d.id}")


def need_operator(by: Actor, d: m.Deployment) -> None:
    if not by.has(Role.OPERATOR) or by.id not in json.loads(d.operator_ids_json):
        raise PermissionDeniedError(f"{by.username} is not an operator of deployment {d.id}")


def need_authoriser(by: Actor, d: m.Deployment) -> None:
    if not by.has(Role.AUTHORISING_OFFICER) or by.id != d.authoriser_id:
        raise PermissionDeniedError(
            f"{by.username} is not the authorising officer of deployment {d.id}"
        )


def need_enroller(by: Actor, d: m.Deployment) -> None:
    if by.id not in json.loads(d.operator_ids_json) and by.id != d.compiler_id:
        raise PermissionDeniedError(
            f"{by.username} is neither an operator nor the compiler of {d.id}"
        )


def destroy_test_list(ctx: ServiceContext, s: Session, d: m.Deployment, actor: str) -> int:
    """With the watchlist: delete the test subjects and shred their key."""
    subjects = s.execute(
        select(am.TestSubject).where(am.TestSubject.deployment_id == d.id)
    ).scalars()
    n = 0
    for t in subjects:
        s.delete(t)
        n += 1
    s.execute(
        delete(m.DataKey).where(m.DataKey.deployment_id == d.id, m.DataKey.purpose == TESTLIST_KEY)
    )
    if n:
        ctx.audit(s, actor, "testlist.destroy", f"deployment:{d.id}", after={"subjects": n})
    return n


class Walkbys(Room):
    def add_test_subject(
        self,
        by: Actor,
        deployment_id: str,
        template: Template,
        *,
        subject_ref: str,
        consent_ref: str,
        consented_on: date | None,
        declared_sex: str | None = None,
        declared_ethnicity: str | None = None,
    ) -> str:
        ctx = self.ctx
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            need_enroller(by, d)
            problems = rules.consent_problems(
                rules.ConsentRecord(subject_ref, consent_ref, consented_on), today=ctx.now().date()
            )
            groups: tuple[str, ...] = ()
            try:
                groups = rules.declared_groups(declared_sex, declared_ethnicity)
            except ValueError as e:
                problems.append(str(e))
            if d.state in (DeploymentState.ENDED.value, DeploymentState.CANCELLED.value):
                problems.append(f"deployment is {d.state}: its test list can no longer change")
            require("test subject", problems, source=d.id)
            if d.model_contract_id and template.contract.id != d.model_contract_id:
                raise ContractMismatchError(
                    f"template made with {template.contract.id}, deployment uses "
                    f"{d.model_contract_id}",
                    source=d.id,
                )
            assert consented_on is not None
            dk = ctx.data_key(s, d.id, TESTLIST_KEY, create=True)
            tid = uuid.uuid4().hex
            aad = f"test_subjects:{tid}:"
            s.add(
                am.TestSubject(
                    id=tid,
                    deployment_id=d.id,
                    consent_ref=consent_ref,
                    consented_on=consented_on,
                    contract_id=template.contract.id,
                    added_by=by.id,
                    added_at=ctx.now(),
                    subject_ref_enc=seal(dk, subject_ref.encode(), aad + "subject"),
                    template_enc=seal(dk, rows.template_bytes(template), aad + "template"),
                    groups_enc=seal(dk, json.dumps(groups).encode(), aad + "groups")
                    if groups
                    else None,
                )
            )
            ctx.audit(
                s,
                by.username,
                "testlist.add",
                f"deployment:{d.id}",
                after={
                    "subject_id": tid,
                    "consent_ref": consent_ref,
                    "consented_on": consented_on,
                    "declared_group": bool(groups),  # whether, never what: special category
                },
            )
            return tid

    def add_test_subject_from_photo(
        self, by: Actor, deployment_id: str, engine: Any, photo: bytes, **consent: Any
    ) -> str:
        with self.ctx.tx() as s:  # refuse before looking at anyone's face
            need_enroller(by, rows.deployment(s, deployment_id))
        res = engine.face_from_file(photo, select="strict")
        return self.add_test_subject(by, deployment_id, res.template, **consent)

    def check_operator(self, by: Actor, deployment_id: str) -> None:
        with self.ctx.tx() as s:
            need_operator(by, rows.deployment(s, deployment_id))

    def test_list(self, by: Actor, deployment_id: str) -> list[dict[str, Any]]:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            need_member(by, d)
            subjects = list(
                s.execute(
                    select(am.TestSubject)
                    .where(am.TestSubject.deployment_id == d.id)
                    .order_by(am.TestSubject.added_at)
                ).scalars()
            )
            if not subjects:
                return []
            dk = self.ctx.data_key(s, d.id, TESTLIST_KEY, create=False)
            return [
                {
                    "id": t.id,
                    "subject_ref": open_sealed(
                        dk, t.subject_ref_enc, f"test_subjects:{t.id}:subject"
                    ).decode(),
                    "consent_ref": t.consent_ref,
                    "consented_on": t.consented_on.isoformat(),
                    "added_at": rows.iso(t.added_at),
                }
                for t in subjects
            ]

    def load_test_list(self, deployment_id: str) -> LoadedTestList:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            dep_rules.check_live(rows.facts(d), self.ctx.now())
            subjects = list(
                s.execute(
                    select(am.TestSubject).where(am.TestSubject.deployment_id == d.id)
                ).scalars()
            )
            if not subjects:
                raise RuleViolation("test walk-by", ["the test list is empty"], source=d.id)
            dk = self.ctx.data_key(s, d.id, TESTLIST_KEY, create=False)
            vecs = [
                np.frombuffer(
                    open_sealed(dk, t.template_enc, f"test_subjects:{t.id}:template"), np.float32
                )
                for t in subjects
            ]
            assert d.threshold is not None
            return LoadedTestList(d.id, d.threshold, [t.id for t in subjects], np.stack(vecs))

    def record_walkby(
        self,
        by: Actor,
        deployment_id: str,
        camera_id: str,
        walked: list[str],
        hits: list[rules.WalkbyHit],
    ) -> dict[str, Any]:
        ctx = self.ctx
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            need_operator(by, d)
            dep_rules.check_camera(rows.facts(d), camera_id)
            a = assurance_row(s, d.id)
            res = rules.camera_result(camera_id, walked, hits, min_tpir=a.min_walkby_tpir)
            by_group = rules.group_tally(walked, hits, self._declared(s, d.id))
            rid = uuid.uuid4().hex
            assert d.threshold is not None
            s.add(
                am.WalkbyRun(
                    id=rid,
                    deployment_id=d.id,
                    camera_id=camera_id,
                    run_by=by.id,
                    at=ctx.now(),
                    threshold=d.threshold,
                    min_tpir=a.min_walkby_tpir,
                    **pick(
                        res, "walked", "alerted", "tpir", "tpir_lower", "tpir_upper", "below_level"
                    ),
                    result_json=json.dumps({**res.to_dict(), "by_group": by_group}),
                )
            )
            s.flush()
            for h in hits:
                s.add(
                    am.TestAlert(
                        id=uuid.uuid4().hex,
                        run_id=rid,
                        deployment_id=d.id,
                        **pick(h, "subject_id", "camera_id", "score", "latency_ms"),
                        detected_at=ctx.now(),
                    )
                )
            if res.below_level:
                # A new shortfall needs a new acknowledgement, whatever was acknowledged before.
                a.walkby_flagged, a.walkby_ack_by, a.walkby_ack_at = True, None, None
                a.walkby_ack_reason = None
            ctx.audit(
                s,
                by.username,
                "walkby.record",
                f"deployment:{d.id}",
                after={"run_id": rid, **res.to_dict(), "flagged": a.walkby_flagged},
            )
            return {"run_id": rid, **res.to_dict(), "flagged": a.walkby_flagged}

    def acknowledge(self, by: Actor, deployment_id: str, reason: str) -> None:
        ctx = self.ctx
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            need_authoriser(by, d)
            a = assurance_row(s, d.id)
            problems = [] if a.walkby_flagged else ["no walk-by flag to acknowledge"]
            if a.walkby_ack_at is not None:
                problems.append("the flag is already acknowledged")
            if not reason.strip():
                problems.append("an acknowledgement needs a reason")
            require("walk-by acknowledgement", problems, source=d.id)
            a.walkby_ack_by, a.walkby_ack_at, a.walkby_ack_reason = by.id, ctx.now(), reason
            ctx.audit(
                s, by.username, "walkby.acknowledge", f"deployment:{d.id}", after={"reason": reason}
            )

    def _declared(self, s: Session, deployment_id: str) -> dict[str, list[str]]:
        """Test subject id -> the groups they declared (opened in memory, never logged)."""
        subjects = list(
            s.execute(
                select(am.TestSubject).where(
                    am.TestSubject.deployment_id == deployment_id,
                    am.TestSubject.groups_enc.is_not(None),
                )
            ).scalars()
        )
        if not subjects:
            return {}
        dk = self.ctx.data_key(s, deployment_id, TESTLIST_KEY, create=False)
        return {
            t.id: json.loads(open_sealed(dk, t.groups_enc, f"test_subjects:{t.id}:groups"))
            for t in subjects
            if t.groups_enc is not None
        }

    def runs(self, s: Session, deployment_id: str) -> list[dict[str, Any]]:
        q = (
            select(am.WalkbyRun)
            .where(am.WalkbyRun.deployment_id == deployment_id)
            .order_by(am.WalkbyRun.at)
        )
        out = []
        for r in s.execute(q).scalars():
            result = json.loads(r.result_json)
            result.pop("by_group", None)  # one run's cells are too small to show: see group_rates
            out.append({"run_id": r.id, "at": rows.iso(r.at), **result})
        return out

    def group_rates(self, s: Session, deployment_id: str) -> list[dict[str, Any]]:
        """Walk-by rates by self-declared group over every run, groups of fewer than
        MIN_GROUP_SUBJECTS declared people left out."""
        results = [
            json.loads(r.result_json)
            for r in s.execute(
                select(am.WalkbyRun).where(am.WalkbyRun.deployment_id == deployment_id)
            ).scalars()
        ]
        totals = (sum(x["walked"] for x in results), sum(x["alerted"] for x in results))
        rates = rules.group_rates([x.get("by_group", {}) for x in results], totals)
        return [asdict(g) for g in rates]
