"""Deployments: drafting, countersigning, authorising, going live, ending; the live-frame gate.

The state machine and every precondition are `governance.deployment` rules; this room applies
them to the stored deployment and writes one audit record per change.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.errors import CameraNotAllowedError, KeyUnavailableError, PermissionDeniedError
from openlfr.governance import deployment as dep_rules
from openlfr.governance import retention, transparency
from openlfr.governance.deployment import EU_URGENT_WINDOW as URGENT
from openlfr.governance.deployment import Actor, DeploymentFacts, require
from openlfr.governance.vocab import Countersign, DeploymentState, Purpose, Role, parse
from openlfr.services import access, entry_photos, rows
from openlfr.services.access import Access
from openlfr.services.accounts import require_established
from openlfr.services.assurance import profile_of, profile_problems
from openlfr.services.context import ServiceContext
from openlfr.services.room import Room
from openlfr.services.rows import ALERTS_KEY, PLAIN_FIELDS, SYSTEM, WATCHLIST_KEY, facts, snapshot
from openlfr.storage import models as m


def end_deployment(
    ctx: ServiceContext, s: Session, d: m.Deployment, actor: str, reason: str
) -> None:
    dep_rules.transition(facts(d), DeploymentState.ENDED)
    # A deployment that over-ran its window is recorded as ending at the window's end.
    now = ctx.now()
    d.ended_at = min(now, d.ends_at) if d.ends_at else now
    d.state, d.end_reason = DeploymentState.ENDED.value, reason
    ctx.audit(
        s,
        actor,
        "deployment.end",
        f"deployment:{d.id}",
        after={
            "state": d.state,
            "ended_at": d.ended_at,
            "reason": reason,
            "faces_processed": d.faces_processed,
            "frames_processed": d.frames_processed,
        },
    )


# Fields whose value is a list (of camera ids or user names).
LIST_FIELDS = frozenset({"cameras", "officers", "operators"})


def _apply(s: Session, d: m.Deployment, fields: dict[str, Any]) -> None:
    problems: list[str] = []
    for k, v in fields.items():
        if k in LIST_FIELDS and not isinstance(v, list | tuple):
            # A bare string would otherwise be read as a list of its characters.
            problems.append(f"{k} must be a list of names, not {type(v).__name__}")
            continue
        if k in PLAIN_FIELDS:
            if k == "purpose" and v is not None:
                try:
                    v = parse(Purpose, v, "purpose").value
                except ValueError as e:
                    problems.append(str(e))
                    continue
            if k == "retention_profile":
                try:
                    retention.retention_period(v)
                except ValueError as e:
                    problems.append(str(e))
                    continue
            setattr(d, k, v)
        elif k == "cameras":
            cams = [str(c).strip() for c in v if str(c).strip()]
            if len(set(cams)) != len(cams):
                problems.append("camera ids must be unique")
            d.cameras_json = json.dumps(cams)
        elif k == "signage":
            unknown = set(v) - set(transparency.SIGNAGE_CHECKLIST)
            if unknown:
                problems.append(f"unknown signage items: {', '.join(sorted(unknown))}")
            d.signage_json = rows.j(
                {**json.loads(d.signage_json), **{k2: bool(x) for k2, x in v.items()}}
            )
        elif k == "compiler":
            u = rows.user_by_name(s, v)
            if Role.WATCHLIST_COMPILER.value not in u.roles.split(","):
                problems.append(f"{v} is not a watchlist compiler")
            d.compiler_id = u.id
        elif k == "officers":
            access.set_officers(s, d, list(v), problems)
        elif k == "operators":
            ids = []
            for name in v:
                u = rows.user_by_name(s, name)
                if Role.OPERATOR.value not in u.roles.split(","):
                    problems.append(f"{name} is not an operator")
                ids.append(u.id)
            d.operator_ids_json = json.dumps(ids)
        else:
            problems.append(f"unknown deployment field {k!r}")
    require("deployment configuration", problems, source=d.id)
    f = facts(d)
    dep_rules.require_no_duty_conflict(f.authoriser_id, f.compiler_id, f.operator_ids)


def _summary(d: m.Deployment) -> dict[str, Any]:
    return {
        "id": d.id,
        "name": d.name,
        "state": d.state,
        "starts_at": d.starts_at,
        "ends_at": d.ends_at,
    }


class Deployments(Room):
    def create_deployment(self, by: Actor, name: str, **fields: Any) -> str:
        ctx = self.ctx
        ctx.need_role(by, Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
        with ctx.tx() as s:
            d = m.Deployment(
                id=uuid.uuid4().hex[:12],
                name=name,
                state=DeploymentState.DRAFT.value,
                cameras_json="[]",
                operator_ids_json="[]",
                countersigns_json="[]",
                signage_json="{}",
                watchlist_size_cap=ctx.settings.watchlist_size_cap,
                retention_profile=ctx.settings.retention_profile,
                eu_mode=ctx.settings.eu_mode or profile_of(ctx).value == "eu_law_enforcement",
                urgent=False,
                created_by=by.id,
                created_at=ctx.now(),
                faces_processed=0,
                frames_processed=0,
                frames_refused=0,
            )
            s.add(d)
            s.flush()
            _apply(s, d, fields)
            ctx.audit(s, by.username, "deployment.create", f"deployment:{d.id}", after=snapshot(d))
            return d.id

    def update_deployment(self, by: Actor, deployment_id: str, **fields: Any) -> None:
        self.ctx.need_role(by, Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            access.require(by, d, Access.EDIT)
            dep_rules.require_editable(facts(d), ", ".join(sorted(fields)) or "configuration")
            before = snapshot(d)
            _apply(s, d, fields)
            self.ctx.audit(
                s,
                by.username,
                "deployment.update",
                f"deployment:{d.id}",
                before=before,
                after=snapshot(d),
            )

    def countersign(self, by: Actor, deployment_id: str, kind: str, reason: str) -> None:
        """A second authorising officer's signature (low threshold C.9, no public notice A.4)."""
        k = Countersign(parse(Countersign, kind, "countersignature"))
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            if by.has(Role.AUTHORISING_OFFICER):
                access.require(by, d, Access.OFFICER)  # named on it (`officers`) beforehand
            f = facts(d)
            problems = []
            if not by.has(Role.AUTHORISING_OFFICER):
                problems.append(f"{by.username} is not an authorising officer")
            if not reason.strip():
                problems.append("a countersignature needs a reason")
            if by.id == f.compiler_id or by.id in f.operator_ids:
                problems.append("the compiler or an operator cannot countersign")
            if k == Countersign.URGENT and not (f.eu_mode and f.urgent):
                problems.append("an urgent countersignature is for an urgent start in EU mode")
            require("countersignature", problems, source=d.id)
            if k == Countersign.URGENT:
                require_established(s, by.id, "an urgent start")
            dep_rules.require_editable(f, "a countersignature")
            cs = [c for c in json.loads(d.countersigns_json) if c["kind"] != k.value]
            cs.append(
                {
                    "kind": k.value,
                    "user_id": by.id,
                    "reason": reason,
                    "at": self.ctx.now().isoformat(),
                }
            )
            d.countersigns_json = rows.j(cs)
            self.ctx.audit(
                s,
                by.username,
                "deployment.countersign",
                f"deployment:{d.id}",
                after={"kind": k.value, "reason": reason, "threshold": d.threshold},
            )

    def authorise(self, by: Actor, deployment_id: str) -> float:
        """Authorise a draft; returns the expected false alerts recorded with it (C.10)."""
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            if by.has(Role.AUTHORISING_OFFICER):
                access.require(by, d, Access.OFFICER)
            f = facts(d)
            approval = rows.approval(s, d.model_contract_id)
            require(
                "authorisation",
                dep_rules.authorisation_problems(f, by, approval, self.ctx.now())
                + profile_problems(self.ctx, s, d),
                source=d.id,
            )
            if dep_rules.urgent_use(f):
                require_established(s, by.id, "an urgent start")
            assert approval is not None and d.threshold is not None and d.expected_faces is not None
            dep_rules.transition(f, DeploymentState.AUTHORISED)
            # Projected at the size cap: the list is compiled later and may only grow up to it.
            d.expected_false_alerts = approval.expected_false_alerts(
                d.expected_faces, d.watchlist_size_cap, d.threshold
            )
            # Expected hits beside them, for the list as it stands (as single-photo entries
            # while it is still empty: the lowest rate).
            hp = entry_photos.deployment_projection(self.ctx, s, d)
            d.expected_hit_rate = hp.rate if hp else None
            entry_photos.record_projection(d, "authorisation", hp)
            before = snapshot(d)
            d.state, d.authoriser_id, d.authorised_at = (
                DeploymentState.AUTHORISED.value,
                by.id,
                self.ctx.now(),
            )
            self.ctx.audit(
                s,
                by.username,
                "deployment.authorise",
                f"deployment:{d.id}",
                before=before,
                after={
                    **snapshot(d),
                    "expected_false_alerts": d.expected_false_alerts,
                    "expected_hits": hp.to_dict() if hp else None,
                    "validated_min_threshold": approval.validated_min_threshold,
                    "authorising_role": Role.AUTHORISING_OFFICER.value,
                },
            )
            return d.expected_false_alerts

    def start(self, by: Actor, deployment_id: str) -> None:
        ctx = self.ctx
        with ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            f = facts(d)
            if by.id not in f.operator_ids and by.id != f.authoriser_id:
                raise PermissionDeniedError(
                    f"{by.username} is not an operator or the authoriser of this deployment",
                    source=d.id,
                )
            size = rows.watchlist_size(s, d.id)
            key_ok = ctx.key_available()
            if key_ok and size:
                try:
                    ctx.data_key(s, d.id, WATCHLIST_KEY, create=False)
                except KeyUnavailableError:
                    key_ok = False
            problems = dep_rules.start_problems(
                f,
                now=ctx.now(),
                approval=rows.approval(s, d.model_contract_id),
                watchlist_size=size,
                signed_off=d.signed_off_at is not None,
                key_available=key_ok,
                max_photos=max(entry_photos.photo_counts(s, d.id).values(), default=1),
            )
            require("start", problems + profile_problems(ctx, s, d), source=d.id)
            if dep_rules.urgent_use(f):  # both signatories, as they stand now (issue 19)
                cs = f.countersigned(Countersign.URGENT)
                for uid in (f.authoriser_id, cs.user_id if cs else None):
                    require_established(s, uid or "", "an urgent start")
            ctx.data_key(s, d.id, ALERTS_KEY, create=True)
            d.state, d.started_at = DeploymentState.LIVE.value, ctx.now()
            ctx.audit(
                s,
                by.username,
                "deployment.start",
                f"deployment:{d.id}",
                after={
                    "state": d.state,
                    "watchlist_size": size,
                    "watchlist_snapshot_hash": d.watchlist_snapshot_hash,
                    "threshold": d.threshold,
                    "model": d.model_contract_id,
                    "expected_false_alerts": d.expected_false_alerts_signoff,
                },
            )

    def end(self, by: Actor | None, deployment_id: str, reason: str = "ended by operator") -> None:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            if by is not None and by.id not in facts(d).operator_ids and by.id != d.authoriser_id:
                raise PermissionDeniedError(
                    f"{by.username} cannot end this deployment", source=d.id
                )
            end_deployment(self.ctx, s, d, by.username if by else SYSTEM, reason)

    def cancel(self, by: Actor, deployment_id: str, reason: str) -> None:
        self.ctx.need_role(by, Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            access.require(by, d, Access.EDIT)
            dep_rules.transition(facts(d), DeploymentState.CANCELLED)
            d.state, d.ended_at, d.end_reason = (
                DeploymentState.CANCELLED.value,
                self.ctx.now(),
                reason,
            )
            self.ctx.audit(
                s, by.username, "deployment.cancel", f"deployment:{d.id}", after={"reason": reason}
            )

    def record_judicial_authorisation(self, by: Actor, deployment_id: str, ref: str) -> None:
        """EU mode: the authorisation that an urgent start must obtain within 24 h (A.3)."""
        self.ctx.need_role(by, Role.AUTHORISING_OFFICER)
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            access.require(by, d, Access.OFFICER)
            problems = [] if ref.strip() else ["missing reference"]
            if d.judicial_refused_at is not None:
                problems.append("the authority refused this use: it cannot be authorised now")
            late = d.state == DeploymentState.CANCELLED.value or (
                d.state == DeploymentState.ENDED.value
                and not (d.urgent and d.started_at and self.ctx.now() < d.started_at + URGENT)
            )
            if late:
                problems.append(f"the deployment is {d.state}: too late to record an authorisation")
            require("judicial authorisation", problems, source=d.id)
            before = d.judicial_authorisation_id
            d.judicial_authorisation_id = ref
            self.ctx.audit(
                s,
                by.username,
                "deployment.judicial_authorisation",
                f"deployment:{d.id}",
                before={"judicial_authorisation_id": before},
                after={"judicial_authorisation_id": ref},
            )

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            out = snapshot(d)
            out.update(
                id=d.id,
                authoriser_id=d.authoriser_id,
                authorised_at=d.authorised_at,
                started_at=d.started_at,
                ended_at=d.ended_at,
                expected_false_alerts=d.expected_false_alerts,
                expected_false_alerts_signoff=d.expected_false_alerts_signoff,
                expected_hit_rate=d.expected_hit_rate,
                expected_hit_rate_signoff=d.expected_hit_rate_signoff,
                expected_hits=json.loads(d.expected_hits_json or "{}"),
                watchlist_size=rows.watchlist_size(s, d.id),
                signed_off_at=d.signed_off_at,
                watchlist_destroyed_at=d.watchlist_destroyed_at,
                faces_processed=d.faces_processed,
                frames_processed=d.frames_processed,
                frames_refused=d.frames_refused,
            )
            return out

    def view(self, by: Actor, deployment_id: str) -> dict[str, Any]:
        """`deployment`, for someone allowed to see this deployment (Access.VIEW)."""
        with self.ctx.tx() as s:
            access.require(by, rows.deployment(s, deployment_id), Access.VIEW)
        return self.deployment(deployment_id)

    def visible(self, by: Actor) -> list[dict[str, Any]]:
        """`deployments`, only those `by` may see (what every user-facing list shows)."""
        with self.ctx.tx() as s:
            return [_summary(d) for d in access.visible(s, by)]

    def deployments(self) -> list[dict[str, Any]]:
        """Every deployment (internal callers: scheduler, live runner, public page)."""
        with self.ctx.tx() as s:
            q = select(m.Deployment).order_by(m.Deployment.created_at)
            return [_summary(d) for d in s.execute(q).scalars()]

    def check_frame(self, deployment_id: str, camera_id: str) -> DeploymentFacts:
        """Gate for the live pipeline: refuses unknown cameras and anything outside the window."""
        refusal: Exception | None = None
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            f = facts(d)
            dep_rules.check_live(f, self.ctx.now())
            try:
                dep_rules.check_camera(f, camera_id)
            except CameraNotAllowedError as e:
                # Counted and audited, then raised once committed.
                d.frames_refused += 1
                self.ctx.audit(
                    s, SYSTEM, "frame.refused", f"deployment:{d.id}", after={"camera": camera_id}
                )
                refusal = e
        if refusal is not None:
            raise refusal
        return f

    def add_counters(self, deployment_id: str, *, frames: int = 0, faces: int = 0) -> None:
        """Faces processed are a count only (E.15): nothing else about them is kept."""
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            d.frames_processed += int(frames)
            d.faces_processed += int(faces)

    def record_run(
        self, by: Actor, deployment_id: str, camera_id: str, counts: dict[str, Any]
    ) -> None:
        """Audit one pipeline run: period, camera and counts (G.20); never any face data."""
        with self.ctx.tx() as s:
            d = rows.deployment(s, deployment_id)
            self.ctx.audit(
                s,
                by.username,
                "deployment.run",
                f"deployment:{d.id}",
                after={"camera": camera_id, **counts},
            )
