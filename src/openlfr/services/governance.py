"""The governance application service: joins the pure rules, the database, encryption and audit.

Every public method is one transaction that either does its action and writes its audit
record, or refuses with a typed error and changes nothing. Actors are resolved by the caller
(`authenticate`), so the CLI and the API share the same checks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from openlfr.config.governance import GovernanceSettings
from openlfr.errors import (
    CameraNotAllowedError,
    ContractMismatchError,
    KeyUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RuleViolation,
)
from openlfr.eval.approval import ModelApproval
from openlfr.governance import alerts as alert_rules
from openlfr.governance import deployment as dep_rules
from openlfr.governance import retention, transparency
from openlfr.governance import watchlist as wl_rules
from openlfr.governance.clock import Clock, utc_now
from openlfr.governance.deployment import Actor, Countersignature, DeploymentFacts, require
from openlfr.governance.vocab import (
    AlertStatus,
    Category,
    Countersign,
    Decision,
    DeploymentState,
    Purpose,
    Role,
    parse,
)
from openlfr.storage import audit
from openlfr.storage import models as m
from openlfr.storage.crypto import MasterKey, new_data_key, open_sealed, seal
from openlfr.storage.db import vacuum
from openlfr.vision.contract import EmbeddingContract, Template

log = logging.getLogger(__name__)
SYSTEM = "system"
WATCHLIST_KEY, ALERTS_KEY = "watchlist", "alerts"

# Fields of a deployment that can be set while it is a draft, and how to store them.
_PLAIN_FIELDS = (
    "name", "purpose", "location", "starts_at", "ends_at", "dpia_ref", "policy_ref", "eia_ref",
    "necessity", "alternatives", "model_contract_id", "threshold", "expected_faces",
    "watchlist_size_cap", "retention_profile", "public_notice_at", "no_notice_reason", "eu_mode",
    "judicial_authorisation_id", "fria_ref", "eu_database_id", "art5_objective", "urgent",
)  # fmt: skip


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


@dataclass(slots=True)
class PurgeReceipt:
    at: datetime
    deployments_ended: list[str] = field(default_factory=list)
    watchlists_destroyed: dict[str, int] = field(default_factory=dict)
    alerts_deleted: dict[str, int] = field(default_factory=dict)
    keys_destroyed: list[str] = field(default_factory=list)

    @property
    def anything(self) -> bool:
        return bool(
            self.deployments_ended
            or self.watchlists_destroyed
            or self.alerts_deleted
            or self.keys_destroyed
        )


@dataclass(frozen=True, slots=True)
class SubjectHit:
    kind: str  # "alert" | "watchlist_entry" | "watchlist_stub"
    id: str
    deployment_id: str
    score: float | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LoadedWatchlist:
    """A decrypted watchlist for a running deployment: memory only, never written back."""

    deployment_id: str
    contract_id: str
    threshold: float
    entry_ids: list[str]
    categories: list[str]
    vectors: np.ndarray  # (n, d) float32, unit rows


def _j(v: Any) -> str:
    return json.dumps(v, sort_keys=True, default=str)


def _actor_of(u: m.User) -> Actor:
    roles = frozenset(Role(r) for r in u.roles.split(",") if r)
    return Actor(u.id, u.username, roles)


def facts(d: m.Deployment) -> DeploymentFacts:
    return DeploymentFacts(
        id=d.id,
        name=d.name,
        state=DeploymentState(d.state),
        purpose=d.purpose,
        location=d.location,
        cameras=json.loads(d.cameras_json),
        starts_at=d.starts_at,
        ends_at=d.ends_at,
        dpia_ref=d.dpia_ref,
        policy_ref=d.policy_ref,
        eia_ref=d.eia_ref,
        necessity=d.necessity,
        alternatives=d.alternatives,
        model_contract_id=d.model_contract_id,
        threshold=d.threshold,
        expected_faces=d.expected_faces,
        watchlist_size_cap=d.watchlist_size_cap,
        compiler_id=d.compiler_id,
        operator_ids=json.loads(d.operator_ids_json),
        authoriser_id=d.authoriser_id,
        countersignatures=[
            Countersignature(Countersign(c["kind"]), c["user_id"], c["reason"])
            for c in json.loads(d.countersigns_json)
        ],
        public_notice_at=d.public_notice_at,
        no_notice_reason=d.no_notice_reason,
        eu_mode=d.eu_mode,
        judicial_authorisation_id=d.judicial_authorisation_id,
        fria_ref=d.fria_ref,
        eu_database_id=d.eu_database_id,
        art5_objective=d.art5_objective,
        urgent=d.urgent,
        started_at=d.started_at,
    )


def _snapshot(d: m.Deployment) -> dict[str, Any]:
    """Audit view of a deployment's configuration (no biometric data lives on this row)."""
    out = {c: getattr(d, c) for c in _PLAIN_FIELDS}
    out.update(
        state=d.state,
        cameras=json.loads(d.cameras_json),
        compiler_id=d.compiler_id,
        operator_ids=json.loads(d.operator_ids_json),
        countersigns=json.loads(d.countersigns_json),
        signage=json.loads(d.signage_json),
    )
    return out


class GovernanceService:
    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        settings: GovernanceSettings | None = None,
        clock: Clock = utc_now,
        master_key: Callable[[], MasterKey] | None = None,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings or GovernanceSettings()
        self.clock = clock
        self._master_loader = master_key or (lambda: MasterKey.load(self.settings.key_file))
        self._master: MasterKey | None = None
        self._hasher = hasher or PasswordHasher()

    # -- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self.factory() as s, s.begin():
            yield s

    def _now(self) -> datetime:
        return self.clock()

    def _audit(
        self,
        s: Session,
        actor: str,
        action: str,
        subject: str,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        audit.append(
            s,
            at=self._now(),
            actor=actor,
            action=action,
            subject=subject,
            before=before,
            after=after,
        )

    def master(self) -> MasterKey:
        if self._master is None:
            self._master = self._master_loader()
        return self._master

    def key_available(self) -> bool:
        try:
            self.master()
        except KeyUnavailableError:
            return False
        return True

    def _data_key(self, s: Session, deployment_id: str, purpose: str, *, create: bool) -> bytes:
        label = f"{deployment_id}/{purpose}"
        row = s.get(m.DataKey, (deployment_id, purpose))
        if row is None:
            if not create:
                raise KeyUnavailableError(
                    "data key destroyed: the data it sealed is unreadable", source=label
                )
            dk = new_data_key()
            s.add(
                m.DataKey(
                    deployment_id=deployment_id,
                    purpose=purpose,
                    wrapped=self.master().wrap(dk, label),
                    created_at=self._now(),
                )
            )
            return dk
        return self.master().unwrap(row.wrapped, label)

    def _deployment(self, s: Session, deployment_id: str) -> m.Deployment:
        d = s.get(m.Deployment, deployment_id)
        if d is None:
            raise NotFoundError("no such deployment", source=deployment_id)
        return d

    def _alert(self, s: Session, alert_id: str) -> m.Alert:
        a = s.get(m.Alert, alert_id)
        if a is None:
            raise NotFoundError("no such alert (or purged)", source=alert_id)
        return a

    def _user_by_name(self, s: Session, username: str) -> m.User:
        u = s.execute(select(m.User).where(m.User.username == username)).scalar_one_or_none()
        if u is None or not u.active:
            raise NotFoundError("no such active user", source=username)
        return u

    @staticmethod
    def _need_role(actor: Actor, *roles: Role) -> None:
        if not any(actor.has(r) for r in roles):
            raise PermissionDeniedError(
                f"{actor.username} needs one of the roles: {', '.join(r.value for r in roles)}"
            )

    # -- people -----------------------------------------------------------------------------
    def create_user(
        self,
        by: Actor | None,
        username: str,
        password: str,
        roles: list[str],
        display_name: str = "",
    ) -> Actor:
        parsed = [parse(Role, r, "role") for r in roles]
        if not parsed:
            raise RuleViolation("create user", ["a user needs at least one role"])
        if len(password) < 12:
            raise RuleViolation("create user", ["the password must have at least 12 characters"])
        with self._tx() as s:
            first = s.execute(select(func.count()).select_from(m.User)).scalar_one() == 0
            if not first:
                if by is None:
                    raise PermissionDeniedError("only an administrator can create users")
                self._need_role(by, Role.ADMINISTRATOR)
            elif Role.ADMINISTRATOR not in parsed:
                raise RuleViolation("create user", ["the first user must be an administrator"])
            if s.execute(select(m.User).where(m.User.username == username)).first():
                raise RuleViolation("create user", [f"username {username!r} is taken"])
            u = m.User(
                id=uuid.uuid4().hex,
                username=username,
                display_name=display_name,
                password_hash=self._hasher.hash(password),
                roles=",".join(sorted(parsed)),
                active=True,
                created_at=self._now(),
            )
            s.add(u)
            s.flush()
            self._audit(
                s,
                by.username if by else SYSTEM,
                "user.create",
                f"user:{u.id}",
                after={"username": username, "roles": sorted(parsed)},
            )
            return _actor_of(u)

    def authenticate(self, username: str, password: str) -> Actor:
        with self._tx() as s:
            u = s.execute(select(m.User).where(m.User.username == username)).scalar_one_or_none()
            ok = False
            if u is not None and u.active:
                try:
                    ok = self._hasher.verify(u.password_hash, password)
                except VerificationError:
                    ok = False
            # Failed logins are audited by name only; the password never is.
            self._audit(
                s, username, "user.login" if ok else "user.login_failed", f"user:{username}"
            )
            actor = _actor_of(u) if ok and u is not None else None
        # Raised after the commit so the failed attempt stays in the audit log.
        if actor is None:
            raise PermissionDeniedError("unknown user or wrong password", source=username)
        return actor

    def actor(self, username: str) -> Actor:
        with self._tx() as s:
            return _actor_of(self._user_by_name(s, username))

    def users(self) -> list[dict[str, Any]]:
        with self._tx() as s:
            return [
                {
                    "id": u.id,
                    "username": u.username,
                    "roles": u.roles.split(","),
                    "active": u.active,
                }
                for u in s.execute(select(m.User).order_by(m.User.username)).scalars()
            ]

    # -- models -----------------------------------------------------------------------------
    def record_model_approval(self, by: Actor, approval: ModelApproval) -> None:
        self._need_role(by, Role.ADMINISTRATOR)
        with self._tx() as s:
            row = s.get(m.ModelApprovalRow, approval.contract_id)
            before = json.loads(row.approval_json) if row else None
            if row is None:
                row = m.ModelApprovalRow(
                    contract_id=approval.contract_id,
                    approval_json="",
                    recorded_at=self._now(),
                    recorded_by=by.id,
                )
                s.add(row)
            row.approval_json = _j(approval.to_dict())
            row.recorded_at, row.recorded_by = self._now(), by.id
            self._audit(
                s,
                by.username,
                "model.approval",
                f"model:{approval.contract_id}",
                before={"approval": before} if before else None,
                after={"approval": approval.to_dict()},
            )

    def _approval(self, s: Session, contract_id: str | None) -> ModelApproval | None:
        if not contract_id:
            return None
        row = s.get(m.ModelApprovalRow, contract_id)
        return ModelApproval.from_dict(json.loads(row.approval_json)) if row else None

    # -- deployments ------------------------------------------------------------------------
    def create_deployment(self, by: Actor, name: str, **fields: Any) -> str:
        self._need_role(by, Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
        with self._tx() as s:
            d = m.Deployment(
                id=uuid.uuid4().hex[:12],
                name=name,
                state=DeploymentState.DRAFT.value,
                cameras_json="[]",
                operator_ids_json="[]",
                countersigns_json="[]",
                signage_json="{}",
                watchlist_size_cap=self.settings.watchlist_size_cap,
                retention_profile=self.settings.retention_profile,
                eu_mode=self.settings.eu_mode,
                urgent=False,
                created_by=by.id,
                created_at=self._now(),
                faces_processed=0,
                frames_processed=0,
                frames_refused=0,
            )
            s.add(d)
            s.flush()
            self._apply(s, d, fields)
            self._audit(
                s, by.username, "deployment.create", f"deployment:{d.id}", after=_snapshot(d)
            )
            return d.id

    def update_deployment(self, by: Actor, deployment_id: str, **fields: Any) -> None:
        self._need_role(by, Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            dep_rules.require_editable(facts(d), ", ".join(sorted(fields)) or "configuration")
            before = _snapshot(d)
            self._apply(s, d, fields)
            self._audit(
                s,
                by.username,
                "deployment.update",
                f"deployment:{d.id}",
                before=before,
                after=_snapshot(d),
            )

    def _apply(self, s: Session, d: m.Deployment, fields: dict[str, Any]) -> None:
        problems: list[str] = []
        for k, v in fields.items():
            if k in _PLAIN_FIELDS:
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
                d.signage_json = _j(
                    {**json.loads(d.signage_json), **{k2: bool(x) for k2, x in v.items()}}
                )
            elif k == "compiler":
                u = self._user_by_name(s, v)
                if Role.WATCHLIST_COMPILER.value not in u.roles.split(","):
                    problems.append(f"{v} is not a watchlist compiler")
                d.compiler_id = u.id
            elif k == "operators":
                ids = []
                for name in v:
                    u = self._user_by_name(s, name)
                    if Role.OPERATOR.value not in u.roles.split(","):
                        problems.append(f"{name} is not an operator")
                    ids.append(u.id)
                d.operator_ids_json = json.dumps(ids)
            else:
                problems.append(f"unknown deployment field {k!r}")
        require("deployment configuration", problems, source=d.id)
        f = facts(d)
        dep_rules.require_no_duty_conflict(f.authoriser_id, f.compiler_id, f.operator_ids)

    def countersign(self, by: Actor, deployment_id: str, kind: str, reason: str) -> None:
        """A second authorising officer's signature (low threshold C.9, no public notice A.4)."""
        k = Countersign(parse(Countersign, kind, "countersignature"))
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            f = facts(d)
            problems = []
            if not by.has(Role.AUTHORISING_OFFICER):
                problems.append(f"{by.username} is not an authorising officer")
            if not reason.strip():
                problems.append("a countersignature needs a reason")
            if by.id == f.compiler_id or by.id in f.operator_ids:
                problems.append("the compiler or an operator cannot countersign")
            require("countersignature", problems, source=d.id)
            dep_rules.require_editable(f, "a countersignature")
            cs = [c for c in json.loads(d.countersigns_json) if c["kind"] != k.value]
            cs.append(
                {"kind": k.value, "user_id": by.id, "reason": reason, "at": self._now().isoformat()}
            )
            d.countersigns_json = _j(cs)
            self._audit(
                s,
                by.username,
                "deployment.countersign",
                f"deployment:{d.id}",
                after={"kind": k.value, "reason": reason, "threshold": d.threshold},
            )

    def authorise(self, by: Actor, deployment_id: str) -> float:
        """Authorise a draft; returns the expected false alerts recorded with it (C.10)."""
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            f = facts(d)
            approval = self._approval(s, d.model_contract_id)
            require(
                "authorisation",
                dep_rules.authorisation_problems(f, by, approval, self._now()),
                source=d.id,
            )
            assert approval is not None and d.threshold is not None and d.expected_faces is not None
            dep_rules.transition(f, DeploymentState.AUTHORISED)
            # Projected at the size cap: the list is compiled later and may only grow up to it.
            d.expected_false_alerts = approval.expected_false_alerts(
                d.expected_faces, d.watchlist_size_cap, d.threshold
            )
            before = _snapshot(d)
            d.state, d.authoriser_id, d.authorised_at = (
                DeploymentState.AUTHORISED.value,
                by.id,
                self._now(),
            )
            self._audit(
                s,
                by.username,
                "deployment.authorise",
                f"deployment:{d.id}",
                before=before,
                after={
                    **_snapshot(d),
                    "expected_false_alerts": d.expected_false_alerts,
                    "validated_min_threshold": approval.validated_min_threshold,
                    "authorising_role": Role.AUTHORISING_OFFICER.value,
                },
            )
            return d.expected_false_alerts

    def start(self, by: Actor, deployment_id: str) -> None:
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            f = facts(d)
            if by.id not in f.operator_ids and by.id != f.authoriser_id:
                raise PermissionDeniedError(
                    f"{by.username} is not an operator or the authoriser of this deployment",
                    source=d.id,
                )
            size = self._watchlist_size(s, d.id)
            key_ok = self.key_available()
            if key_ok and size:
                try:
                    self._data_key(s, d.id, WATCHLIST_KEY, create=False)
                except KeyUnavailableError:
                    key_ok = False
            problems = dep_rules.start_problems(
                f,
                now=self._now(),
                approval=self._approval(s, d.model_contract_id),
                watchlist_size=size,
                signed_off=d.signed_off_at is not None,
                key_available=key_ok,
            )
            require("start", problems, source=d.id)
            self._data_key(s, d.id, ALERTS_KEY, create=True)
            d.state, d.started_at = DeploymentState.LIVE.value, self._now()
            self._audit(
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
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            if by is not None and by.id not in facts(d).operator_ids and by.id != d.authoriser_id:
                raise PermissionDeniedError(
                    f"{by.username} cannot end this deployment", source=d.id
                )
            self._end(s, d, by.username if by else SYSTEM, reason)

    def _end(self, s: Session, d: m.Deployment, actor: str, reason: str) -> None:
        dep_rules.transition(facts(d), DeploymentState.ENDED)
        # A deployment that over-ran its window is recorded as ending at the window's end.
        now = self._now()
        d.ended_at = min(now, d.ends_at) if d.ends_at else now
        d.state, d.end_reason = DeploymentState.ENDED.value, reason
        self._audit(
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

    def cancel(self, by: Actor, deployment_id: str, reason: str) -> None:
        self._need_role(by, Role.ADMINISTRATOR, Role.AUTHORISING_OFFICER)
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            dep_rules.transition(facts(d), DeploymentState.CANCELLED)
            d.state, d.ended_at, d.end_reason = DeploymentState.CANCELLED.value, self._now(), reason
            self._audit(
                s, by.username, "deployment.cancel", f"deployment:{d.id}", after={"reason": reason}
            )

    def record_judicial_authorisation(self, by: Actor, deployment_id: str, ref: str) -> None:
        """EU mode: the authorisation that an urgent start must obtain within 24 h (A.3)."""
        self._need_role(by, Role.AUTHORISING_OFFICER)
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            require(
                "judicial authorisation", [] if ref.strip() else ["missing reference"], source=d.id
            )
            before = d.judicial_authorisation_id
            d.judicial_authorisation_id = ref
            self._audit(
                s,
                by.username,
                "deployment.judicial_authorisation",
                f"deployment:{d.id}",
                before={"judicial_authorisation_id": before},
                after={"judicial_authorisation_id": ref},
            )

    def deployment(self, deployment_id: str) -> dict[str, Any]:
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            out = _snapshot(d)
            out.update(
                id=d.id,
                authoriser_id=d.authoriser_id,
                authorised_at=d.authorised_at,
                started_at=d.started_at,
                ended_at=d.ended_at,
                expected_false_alerts=d.expected_false_alerts,
                expected_false_alerts_signoff=d.expected_false_alerts_signoff,
                watchlist_size=self._watchlist_size(s, d.id),
                signed_off_at=d.signed_off_at,
                watchlist_destroyed_at=d.watchlist_destroyed_at,
                faces_processed=d.faces_processed,
                frames_processed=d.frames_processed,
                frames_refused=d.frames_refused,
            )
            return out

    def deployments(self) -> list[dict[str, Any]]:
        with self._tx() as s:
            return [
                {
                    "id": d.id,
                    "name": d.name,
                    "state": d.state,
                    "starts_at": d.starts_at,
                    "ends_at": d.ends_at,
                }
                for d in s.execute(select(m.Deployment).order_by(m.Deployment.created_at)).scalars()
            ]

    def check_frame(self, deployment_id: str, camera_id: str) -> DeploymentFacts:
        """Gate for the live pipeline: refuses unknown cameras and anything outside the window."""
        refusal: Exception | None = None
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            f = facts(d)
            dep_rules.check_live(f, self._now())
            try:
                dep_rules.check_camera(f, camera_id)
            except CameraNotAllowedError as e:
                # Counted and audited, then raised once committed.
                d.frames_refused += 1
                self._audit(
                    s, SYSTEM, "frame.refused", f"deployment:{d.id}", after={"camera": camera_id}
                )
                refusal = e
        if refusal is not None:
            raise refusal
        return f

    def add_counters(self, deployment_id: str, *, frames: int = 0, faces: int = 0) -> None:
        """Faces processed are a count only (E.15): nothing else about them is kept."""
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            d.frames_processed += int(frames)
            d.faces_processed += int(faces)

    def record_run(
        self, by: Actor, deployment_id: str, camera_id: str, counts: dict[str, Any]
    ) -> None:
        """Audit one pipeline run: period, camera and counts (G.20); never any face data."""
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            self._audit(
                s,
                by.username,
                "deployment.run",
                f"deployment:{d.id}",
                after={"camera": camera_id, **counts},
            )

    # -- watchlists ---------------------------------------------------------------------------
    def _watchlist_size(self, s: Session, deployment_id: str) -> int:
        q = (
            select(func.count())
            .select_from(m.WatchlistEntry)
            .where(m.WatchlistEntry.deployment_id == deployment_id)
        )
        return int(s.execute(q).scalar_one())

    def add_entry(
        self,
        by: Actor,
        deployment_id: str,
        proposal: wl_rules.EntryProposal,
        template: Template,
        image: bytes,
    ) -> tuple[str, list[str]]:
        """Add an entry; returns its id and flags (low quality, old image, under 18)."""
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            f = facts(d)
            size = self._watchlist_size(s, d.id)
            require(
                "watchlist entry",
                wl_rules.add_problems(f, by, signed_off=d.signed_off_at is not None, size=size),
                source=d.id,
            )
            flags = wl_rules.assess_entry(
                proposal, today=self._now().date(), settings=self.settings
            )
            if d.model_contract_id and template.contract.id != d.model_contract_id:
                raise ContractMismatchError(
                    f"template made with {template.contract.id}, deployment uses "
                    f"{d.model_contract_id}",
                    source=d.id,
                )
            dk = self._data_key(s, d.id, WATCHLIST_KEY, create=True)
            eid = uuid.uuid4().hex
            aad = f"watchlist_entries:{eid}:"
            assert proposal.image_captured_on is not None
            e = m.WatchlistEntry(
                id=eid,
                deployment_id=d.id,
                category=proposal.category,
                legal_basis=proposal.legal_basis,
                source_system=proposal.source_system,
                image_captured_on=proposal.image_captured_on,
                quality_score=float(proposal.quality_score),
                flags_json=json.dumps(flags),
                reason=proposal.reason,
                is_minor=proposal.is_minor,
                minor_justification=proposal.minor_justification,
                added_by=by.id,
                added_at=self._now(),
                template_digest=template.digest(),
                contract_id=template.contract.id,
                subject_ref_enc=seal(dk, proposal.subject_ref.encode(), aad + "subject"),
                template_enc=seal(dk, _template_bytes(template), aad + "template"),
                image_enc=seal(dk, image, aad + "image"),
            )
            s.add(e)
            self._audit(
                s,
                by.username,
                "watchlist.add",
                f"deployment:{d.id}",
                after={
                    "entry_id": eid,
                    "category": e.category,
                    "legal_basis": e.legal_basis,
                    "source_system": e.source_system,
                    "image_captured_on": e.image_captured_on,
                    "quality": round(e.quality_score, 4),
                    "flags": flags,
                    "reason": e.reason,
                    "template_digest": e.template_digest,
                },
            )
            return eid, flags

    def add_entry_from_photo(
        self, by: Actor, deployment_id: str, engine: Any, photo: Path | bytes, **proposal: Any
    ) -> tuple[str, list[str]]:
        """Enrol from a photo with the face engine (one face; B.6 quality from the engine)."""
        data = photo if isinstance(photo, bytes) else Path(photo).read_bytes()
        res = engine.face_from_file(
            data, select="strict", name=str(photo)[:200] if not isinstance(photo, bytes) else None
        )
        prop = wl_rules.EntryProposal(quality_score=float(res.quality.score), **proposal)
        return self.add_entry(by, deployment_id, prop, res.template, data)

    def remove_entry(self, by: Actor, entry_id: str, reason: str) -> None:
        with self._tx() as s:
            e = s.get(m.WatchlistEntry, entry_id)
            if e is None:
                raise NotFoundError("no such watchlist entry", source=entry_id)
            d = e.deployment
            require(
                "remove entry",
                wl_rules.add_problems(facts(d), by, signed_off=d.signed_off_at is not None, size=0),
                source=d.id,
            )
            s.delete(e)
            self._audit(
                s,
                by.username,
                "watchlist.remove",
                f"deployment:{d.id}",
                before={"entry_id": entry_id, "template_digest": e.template_digest},
                after={"reason": reason},
            )

    def entries(self, by: Actor, deployment_id: str) -> list[dict[str, Any]]:
        # Least privilege (G.21): the people who compile, approve, use or oversee the list.
        self._need_role(
            by, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER, Role.OPERATOR, Role.AUDITOR
        )
        with self._tx() as s:
            q = select(m.WatchlistEntry).where(m.WatchlistEntry.deployment_id == deployment_id)
            return [
                {
                    "id": e.id,
                    "category": e.category,
                    "quality": e.quality_score,
                    "flags": json.loads(e.flags_json),
                    "image_captured_on": e.image_captured_on,
                    "added_by": e.added_by,
                }
                for e in s.execute(q.order_by(m.WatchlistEntry.added_at)).scalars()
            ]

    def projected_false_alerts(self, deployment_id: str) -> float | None:
        """B.7: shown before sign-off, from the actual list size."""
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            approval = self._approval(s, d.model_contract_id)
            if approval is None or d.threshold is None or d.expected_faces is None:
                return None
            return approval.expected_false_alerts(
                d.expected_faces, self._watchlist_size(s, d.id), d.threshold
            )

    def sign_off(self, by: Actor, deployment_id: str) -> float | None:
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            entries = list(d.entries)
            require(
                "sign-off",
                wl_rules.sign_off_problems(
                    facts(d),
                    by,
                    size=len(entries),
                    signed_off=d.signed_off_at is not None,
                    added_by={e.added_by for e in entries},
                ),
                source=d.id,
            )
            approval = self._approval(s, d.model_contract_id)
            if approval and d.threshold is not None and d.expected_faces is not None:
                d.expected_false_alerts_signoff = approval.expected_false_alerts(
                    d.expected_faces, len(entries), d.threshold
                )
            d.watchlist_snapshot_hash = hashlib.sha256(
                "".join(sorted(e.id + e.template_digest for e in entries)).encode()
            ).hexdigest()
            d.signed_off_by, d.signed_off_at = by.id, self._now()
            self._audit(
                s,
                by.username,
                "watchlist.sign_off",
                f"deployment:{d.id}",
                after={
                    "size": len(entries),
                    "by_category": _by_category(entries),
                    "snapshot_hash": d.watchlist_snapshot_hash,
                    "flagged": sum(1 for e in entries if json.loads(e.flags_json)),
                    "expected_false_alerts": d.expected_false_alerts_signoff,
                },
            )
            return d.expected_false_alerts_signoff

    def load_watchlist(self, deployment_id: str) -> LoadedWatchlist:
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            dep_rules.check_live(facts(d), self._now())
            dk = self._data_key(s, d.id, WATCHLIST_KEY, create=False)
            entries = list(d.entries)
            vecs = [
                np.frombuffer(
                    open_sealed(dk, e.template_enc, f"watchlist_entries:{e.id}:template"),
                    np.float32,
                )
                for e in entries
            ]
            assert d.model_contract_id is not None and d.threshold is not None
            return LoadedWatchlist(
                d.id,
                d.model_contract_id,
                d.threshold,
                [e.id for e in entries],
                [e.category for e in entries],
                np.stack(vecs) if vecs else np.zeros((0, 0), np.float32),
            )

    def entry_image(self, by: Actor, entry_id: str) -> bytes:
        with self._tx() as s:
            e = s.get(m.WatchlistEntry, entry_id)
            if e is None:
                raise NotFoundError("no such watchlist entry (destroyed?)", source=entry_id)
            self._need_role(by, Role.OPERATOR, Role.WATCHLIST_COMPILER, Role.AUTHORISING_OFFICER)
            dk = self._data_key(s, e.deployment_id, WATCHLIST_KEY, create=False)
            self._audit(s, by.username, "watchlist.view_image", f"entry:{entry_id}")
            return open_sealed(dk, e.image_enc, f"watchlist_entries:{e.id}:image")

    def was_on_list(self, by: Actor, deployment_id: str, entry_id: str) -> dict[str, Any] | None:
        """B.8: answerable after destruction from the stub (entry id, category, template hash)."""
        self._need_role(by, Role.AUDITOR, Role.AUTHORISING_OFFICER, Role.ADMINISTRATOR)
        with self._tx() as s:
            st = s.get(m.WatchlistStub, entry_id)
            if st is not None and st.deployment_id == deployment_id:
                return {
                    "entry_id": st.entry_id,
                    "category": st.category,
                    "template_digest": st.template_digest,
                    "destroyed_at": st.destroyed_at,
                    "state": "destroyed",
                }
            e = s.get(m.WatchlistEntry, entry_id)
            if e is not None and e.deployment_id == deployment_id:
                return {
                    "entry_id": e.id,
                    "category": e.category,
                    "template_digest": e.template_digest,
                    "destroyed_at": None,
                    "state": "live",
                }
            return None

    def _destroy_watchlist(self, s: Session, d: m.Deployment, actor: str, why: str) -> int:
        entries = list(d.entries)
        now = self._now()
        for e in entries:
            s.add(
                m.WatchlistStub(
                    entry_id=e.id,
                    deployment_id=d.id,
                    category=e.category,
                    template_digest=e.template_digest,
                    added_at=e.added_at,
                    destroyed_at=now,
                )
            )
            s.delete(e)
        s.execute(
            delete(m.DataKey).where(
                m.DataKey.deployment_id == d.id, m.DataKey.purpose == WATCHLIST_KEY
            )
        )
        d.watchlist_destroyed_at = now
        self._audit(
            s,
            actor,
            "watchlist.destroy",
            f"deployment:{d.id}",
            after={
                "entries": len(entries),
                "by_category": _by_category(entries),
                "snapshot_hash": d.watchlist_snapshot_hash,
                "policy": why,
                "key_destroyed": True,
            },
        )
        return len(entries)

    # -- alerts -------------------------------------------------------------------------------
    def record_alert(self, deployment_id: str, a: AlertIn) -> str:
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            f = facts(d)
            dep_rules.check_live(f, self._now())
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
            dk = self._data_key(s, d.id, ALERTS_KEY, create=False)
            aid = uuid.uuid4().hex
            aad = f"alerts:{aid}:"
            now = self._now()
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
                template_enc=seal(dk, _template_bytes(a.template), aad + "template")
                if a.template is not None
                else None,
                expires_at=retention.expires_at(now, d.retention_profile),
                status=AlertStatus.PENDING.value,
            )
            s.add(row)
            self._audit(
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
        self._need_role(by, Role.OPERATOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)
        with self._tx() as s:
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
        """The side-by-side view of D.13: probe crop, watchlist image, raw score, threshold."""
        self._need_role(by, Role.OPERATOR, Role.AUDITOR)
        with self._tx() as s:
            a = self._alert(s, alert_id)
            dk = self._data_key(s, a.deployment_id, ALERTS_KEY, create=False)
            probe = open_sealed(dk, a.probe_enc, f"alerts:{a.id}:probe") if a.probe_enc else None
            e = s.get(m.WatchlistEntry, a.entry_id)
            ref = None
            if e is not None:
                wk = self._data_key(s, e.deployment_id, WATCHLIST_KEY, create=False)
                ref = open_sealed(wk, e.image_enc, f"watchlist_entries:{e.id}:image")
            self._audit(s, by.username, "alert.view", f"alert:{a.id}")
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
        with self._tx() as s:
            a = self._alert(s, alert_id)
            d = self._deployment(s, a.deployment_id)
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
                m.Review(user_id=by.id, decision=dec.value, reason=reason, at=self._now())
            )
            before = a.status
            a.status = alert_rules.status_of(
                [*prev, alert_rules.Review(by.id, dec, reason)], eu_mode=d.eu_mode
            ).value
            self._audit(
                s,
                by.username,
                "alert.review",
                f"alert:{a.id}",
                before={"status": before},
                after={"decision": dec.value, "reason": reason, "status": a.status},
            )
            return AlertStatus(a.status)

    def record_outcome(
        self, by: Actor, alert_id: str, *, engaged: bool, duration_s: float | None, result: str
    ) -> None:
        with self._tx() as s:
            a = self._alert(s, alert_id)
            d = self._deployment(s, a.deployment_id)
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
            a.outcome_by, a.outcome_at = by.id, self._now()
            self._audit(
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
        """Place (reason given) or release (None) a legal hold, which suspends expiry (E.16)."""
        self._need_role(by, Role.AUTHORISING_OFFICER, Role.AUDITOR)
        with self._tx() as s:
            a = self._alert(s, alert_id)
            if reason is not None:
                require("legal hold", retention.hold_problems(reason), source=a.id)
            before = a.legal_hold_reason
            a.legal_hold_reason, a.legal_hold_by = reason, by.id if reason else None
            self._audit(
                s,
                by.username,
                "alert.legal_hold" if reason else "alert.legal_hold_release",
                f"alert:{a.id}",
                before={"reason": before},
                after={"reason": reason},
            )

    # -- retention ----------------------------------------------------------------------------
    def purge(self, actor: str = SYSTEM) -> PurgeReceipt:
        """Retention job: auto-end, destroy due watchlists, delete expired alerts, shred keys."""
        now = self._now()
        rc = PurgeReceipt(at=now)
        with self._tx() as s:
            for d in s.execute(
                select(m.Deployment).where(m.Deployment.state == DeploymentState.LIVE.value)
            ).scalars():
                f = facts(d)
                if dep_rules.urgent_use_lapsed(f, now):
                    self._end(s, d, actor, "EU urgent use not authorised within 24 h")
                    lapsed = (
                        s.execute(select(m.Alert).where(m.Alert.deployment_id == d.id))
                        .scalars()
                        .all()
                    )
                    for a in lapsed:
                        s.delete(a)
                    n = len(lapsed)
                    rc.alerts_deleted[d.id] = rc.alerts_deleted.get(d.id, 0) + int(n or 0)
                    rc.watchlists_destroyed[d.id] = self._destroy_watchlist(
                        s, d, actor, "eu_urgent_lapsed"
                    )
                    rc.deployments_ended.append(d.id)
                elif dep_rules.should_auto_end(f, now):
                    self._end(s, d, actor, "window closed")
                    rc.deployments_ended.append(d.id)
            done = (DeploymentState.ENDED.value, DeploymentState.CANCELLED.value)
            q = select(m.Deployment).where(
                m.Deployment.state.in_(done), m.Deployment.watchlist_destroyed_at.is_(None)
            )
            for d in s.execute(q).scalars():
                if wl_rules.destroy_due(d.ended_at, now, self.settings.watchlist_grace_hours):
                    rc.watchlists_destroyed[d.id] = self._destroy_watchlist(
                        s, d, actor, "B.8 watchlist 24 h"
                    )
            expired = (
                s.execute(
                    select(m.Alert).where(
                        m.Alert.expires_at <= now, m.Alert.legal_hold_reason.is_(None)
                    )
                )
                .scalars()
                .all()
            )
            for a in expired:
                rc.alerts_deleted[a.deployment_id] = rc.alerts_deleted.get(a.deployment_id, 0) + 1
                s.delete(a)
            s.flush()
            for dep_id, n in rc.alerts_deleted.items():
                d = self._deployment(s, dep_id)
                self._audit(
                    s,
                    actor,
                    "retention.purge_alerts",
                    f"deployment:{dep_id}",
                    after={
                        "alerts_deleted": n,
                        "policy": f"retention {d.retention_profile}",
                        "at": now,
                    },
                )
            # Shred a deployment's alert key once it is over and nothing it sealed remains.
            for d in s.execute(select(m.Deployment).where(m.Deployment.state.in_(done))).scalars():
                left = s.execute(
                    select(func.count()).select_from(m.Alert).where(m.Alert.deployment_id == d.id)
                ).scalar_one()
                if (
                    not left
                    and d.watchlist_destroyed_at is not None
                    and s.get(m.DataKey, (d.id, ALERTS_KEY)) is not None
                ):
                    s.execute(
                        delete(m.DataKey).where(
                            m.DataKey.deployment_id == d.id, m.DataKey.purpose == ALERTS_KEY
                        )
                    )
                    rc.keys_destroyed.append(d.id)
                    self._audit(
                        s,
                        actor,
                        "retention.destroy_key",
                        f"deployment:{d.id}",
                        after={"purpose": ALERTS_KEY},
                    )
            if rc.anything:
                self._audit(
                    s,
                    actor,
                    "retention.receipt",
                    "retention",
                    after={
                        "deployments_ended": rc.deployments_ended,
                        "watchlists_destroyed": rc.watchlists_destroyed,
                        "alerts_deleted": rc.alerts_deleted,
                        "keys_destroyed": rc.keys_destroyed,
                    },
                )
        if rc.watchlists_destroyed or rc.alerts_deleted:
            bind = self.factory.kw.get("bind")
            if bind is not None:
                vacuum(bind)
        log.info(
            "purge: ended=%d watchlists=%d alerts=%d",
            len(rc.deployments_ended),
            sum(rc.watchlists_destroyed.values()),
            sum(rc.alerts_deleted.values()),
        )
        return rc

    # -- transparency -------------------------------------------------------------------------
    def public_notice(self, deployment_id: str) -> transparency.PublicNotice:
        with self._tx() as s:
            d = self._deployment(s, deployment_id)
            return transparency.PublicNotice(
                deployment_id=d.id,
                name=d.name,
                date=d.starts_at.date().isoformat() if d.starts_at else "",
                window_start=_iso(d.starts_at),
                window_end=_iso(d.ends_at),
                location=d.location or "",
                purpose=d.purpose or "",
                notice_published_at=_iso(d.public_notice_at) or None,
                signage={
                    k: bool(json.loads(d.signage_json).get(k, False))
                    for k in transparency.SIGNAGE_CHECKLIST
                },
            )

    def deployment_record(self, deployment_id: str) -> transparency.DeploymentRecord:
        with self._tx() as s:
            return self._record(s, self._deployment(s, deployment_id))

    def _record(self, s: Session, d: m.Deployment) -> transparency.DeploymentRecord:
        by_cat = _by_category(list(d.entries))
        if d.watchlist_destroyed_at is not None:
            stubs = s.execute(
                select(m.WatchlistStub).where(m.WatchlistStub.deployment_id == d.id)
            ).scalars()
            by_cat = _by_category(list(stubs))
        # Counts survive alert purges through the audit log: each alert's record and outcome.
        alerts = self._alert_facts(s, d.id)
        results: dict[str, int] = {}
        for a in alerts:
            if a.get("result"):
                results[a["result"]] = results.get(a["result"], 0) + 1
        return transparency.DeploymentRecord(
            deployment_id=d.id,
            name=d.name,
            date=d.starts_at.date().isoformat() if d.starts_at else "",
            start=_iso(d.started_at or d.starts_at),
            end=_iso(d.ended_at or d.ends_at),
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
        )

    def _alert_facts(self, s: Session, deployment_id: str) -> list[dict[str, Any]]:
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
                    out[aid] = {"status": AlertStatus.PENDING.value}
            elif aid in out:
                if r.action == "alert.review":
                    out[aid]["status"] = after["status"]
                elif r.action == "alert.outcome":
                    out[aid].update(engaged=after["engaged"], result=after["result"])
        return list(out.values())

    def annual_summary(self, year: int) -> dict[str, Any]:
        with self._tx() as s:
            recs = [
                self._record(s, d)
                for d in s.execute(select(m.Deployment)).scalars()
                if d.started_at is not None and d.started_at.year == year
            ]
            summary = transparency.annual_summary(year, recs)
            summary["deployment_records"] = [r.to_dict() for r in recs]
            return summary

    # -- subject rights ------------------------------------------------------------------------
    def subject_access(
        self, by: Actor, probe: Template, threshold: float | None = None
    ) -> list[SubjectHit]:
        """Find alerts and watchlist entries/stubs about the person in `probe` (DPO/auditor)."""
        self._need_role(by, Role.AUDITOR, Role.ADMINISTRATOR)
        hits: list[SubjectHit] = []
        with self._tx() as s:
            linked_entries: set[str] = set()
            for d in s.execute(select(m.Deployment)).scalars():
                t = threshold if threshold is not None else (d.threshold or 0.5)
                if d.model_contract_id and d.model_contract_id != probe.contract.id:
                    continue
                try:
                    ak = self._data_key(s, d.id, ALERTS_KEY, create=False)
                except KeyUnavailableError:
                    ak = None
                q = select(m.Alert).where(m.Alert.deployment_id == d.id)
                for a in s.execute(q).scalars() if ak else []:
                    assert ak is not None
                    if a.template_enc is None:
                        continue
                    v = np.frombuffer(
                        open_sealed(ak, a.template_enc, f"alerts:{a.id}:template"), np.float32
                    )
                    score = float(np.dot(v, probe.vector))
                    if score >= t:
                        hits.append(
                            SubjectHit(
                                "alert",
                                a.id,
                                d.id,
                                score,
                                {
                                    "camera": a.camera_id,
                                    "detected_at": a.detected_at,
                                    "status": a.status,
                                    "entry_id": a.entry_id,
                                },
                            )
                        )
                        linked_entries.add(a.entry_id)
                entries = list(d.entries)
                if entries:
                    wk = self._data_key(s, d.id, WATCHLIST_KEY, create=False)
                    for e in entries:
                        v = np.frombuffer(
                            open_sealed(wk, e.template_enc, f"watchlist_entries:{e.id}:template"),
                            np.float32,
                        )
                        score = float(np.dot(v, probe.vector))
                        if score >= t:
                            hits.append(
                                SubjectHit(
                                    "watchlist_entry",
                                    e.id,
                                    d.id,
                                    score,
                                    {"category": e.category, "added_at": e.added_at},
                                )
                            )
            # A stub holds no biometric by design; it is found through an alert that matched it.
            for eid in sorted(linked_entries):
                st = s.get(m.WatchlistStub, eid)
                if st is not None:
                    hits.append(
                        SubjectHit(
                            "watchlist_stub",
                            st.entry_id,
                            st.deployment_id,
                            None,
                            {
                                "category": st.category,
                                "template_digest": st.template_digest,
                                "destroyed_at": st.destroyed_at,
                            },
                        )
                    )
            self._audit(
                s,
                by.username,
                "subject.access",
                "subject",
                after={"probe_digest": probe.digest(), "hits": [(h.kind, h.id) for h in hits]},
            )
        return hits

    def erase(self, by: Actor, hits: list[SubjectHit], reason: str) -> dict[str, int]:
        """Erase alerts and live entries found by subject access; stubs stay as the audit trail."""
        self._need_role(by, Role.AUDITOR, Role.ADMINISTRATOR)
        require("erasure", [] if reason.strip() else ["an erasure needs a reason"])
        n = {"alerts": 0, "watchlist_entries": 0}
        with self._tx() as s:
            for h in hits:
                if h.kind == "alert" and (a := s.get(m.Alert, h.id)) is not None:
                    if a.legal_hold_reason:
                        raise RuleViolation(
                            "erasure", [f"alert {a.id} is under legal hold: {a.legal_hold_reason}"]
                        )
                    s.delete(a)
                    n["alerts"] += 1
                    self._audit(
                        s,
                        by.username,
                        "subject.erase_alert",
                        f"alert:{h.id}",
                        after={"reason": reason},
                    )
                elif (
                    h.kind == "watchlist_entry" and (e := s.get(m.WatchlistEntry, h.id)) is not None
                ):
                    s.add(
                        m.WatchlistStub(
                            entry_id=e.id,
                            deployment_id=e.deployment_id,
                            category=e.category,
                            template_digest=e.template_digest,
                            added_at=e.added_at,
                            destroyed_at=self._now(),
                        )
                    )
                    s.delete(e)
                    n["watchlist_entries"] += 1
                    self._audit(
                        s,
                        by.username,
                        "subject.erase_entry",
                        f"entry:{h.id}",
                        after={"reason": reason},
                    )
        bind = self.factory.kw.get("bind")
        if bind is not None and any(n.values()):
            vacuum(bind)
        return n

    # -- audit --------------------------------------------------------------------------------
    def verify_audit(self) -> audit.ChainReport:
        with self._tx() as s:
            return audit.verify(s)


def _template_bytes(t: Template) -> bytes:
    return np.ascontiguousarray(t.vector, dtype=np.float32).tobytes()


def _by_category(rows: list[Any]) -> dict[str, int]:
    out = {c.value: 0 for c in Category}
    for r in rows:
        out[r.category] = out.get(r.category, 0) + 1
    return out


def _iso(t: datetime | None) -> str:
    return t.astimezone(UTC).isoformat() if t else ""


def random_password() -> str:
    return secrets.token_urlsafe(18)


def today(clock: Clock) -> date:
    return clock().date()


def contract_from(engine: Any) -> EmbeddingContract:
    c: EmbeddingContract = engine.contract
    return c
