"""Edge workers: credentials an administrator issues and revokes, assignment to deployments,
what a worker may fetch (the watchlists of live deployments assigned to it, nothing else), and
liveness from heartbeats (a worker silent past `down_after_s` is marked down, its gap audited).

Built on `GovernanceService`'s transaction and audit plumbing, as `console.py` is; the rules
(live, in window, camera whitelist) are the governance ones, not re-implemented here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.broker.envelope import public_key_of
from openlfr.broker.protocol import (
    SIG,
    TOKEN_PREFIX,
    SigningKey,
    control_message,
    is_fresh,
    parse_token,
    verify,
)
from openlfr.errors import (
    InvalidStateError,
    PermissionDeniedError,
    WorkerAuthError,
    WorkerEnrolledError,
)
from openlfr.governance import deployment as dep_rules
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import DeploymentState, Role
from openlfr.services.governance import GovernanceService
from openlfr.services.rows import facts
from openlfr.services.watchlists import LoadedWatchlist
from openlfr.services.worker_assignments import WorkerAssignments, by_officer
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw

TRANSPORT_KEY = "transport"  # data-key purpose: the deployment's X25519 alert key
# The centre's Ed25519 control key: a data key (wrapped by the master key, so a copy of the
# database cannot sign control messages) under a reserved owner id no deployment can have.
CENTRE_KEY_OWNER, CONTROL_KEY = "centre", "control"
HEARTBEAT_MAX_AGE_S = 30.0


@dataclass(frozen=True, slots=True)
class WorkerIdentity:
    id: str
    name: str

    @property
    def actor_name(self) -> str:
        return f"worker:{self.name}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def watchlist_versions(s: Session, deployment_ids: list[str]) -> dict[str, str]:
    """A short digest of each deployment's entry ids: changes when an entry is added or
    removed, so a worker holding an older copy knows to fetch it again."""
    ids: dict[str, list[str]] = {d: [] for d in deployment_ids}
    if deployment_ids:
        q = select(m.WatchlistEntry.deployment_id, m.WatchlistEntry.id).where(
            m.WatchlistEntry.deployment_id.in_(deployment_ids)
        )
        for dep, eid in s.execute(q).all():
            ids[dep].append(eid)
    return {
        d: hashlib.sha256(",".join(sorted(v)).encode()).hexdigest()[:16] for d, v in ids.items()
    }


class WorkerService(WorkerAssignments):
    def __init__(self, gov: GovernanceService) -> None:
        self.gov = gov
        self.ctx = gov.ctx

    # -- administration ----------------------------------------------------------------------

    @staticmethod
    def _admin(by: Actor) -> None:
        if not by.has(Role.ADMINISTRATOR):
            raise PermissionDeniedError("needs the administrator role")

    def issue(self, by: Actor, name: str) -> tuple[str, str]:
        """A new worker and its token (returned once; only its digest is kept)."""
        self._admin(by)
        wid, secret = uuid.uuid4().hex, secrets.token_urlsafe(32)
        with self.ctx.tx() as s:
            if s.execute(select(mw.Worker).where(mw.Worker.name == name)).first():
                raise PermissionDeniedError("a worker of that name exists", source=name)
            s.add(
                mw.Worker(
                    id=wid,
                    name=name,
                    token_digest=_digest(secret),
                    created_at=self.ctx.now(),
                    created_by=by.username,
                    status_json="{}",
                )
            )
            self.ctx.audit(s, by.username, "worker.issue", f"worker:{wid}", after={"name": name})
        return wid, f"{TOKEN_PREFIX}{wid}_{secret}"

    def revoke(self, by: Actor, worker_id: str, reason: str) -> list[str]:
        """Revoke at once; returns the deployments it was running (to be told to stop)."""
        self._admin(by)
        with self.ctx.tx() as s:
            w = self._worker(s, worker_id)
            if w.revoked_at is None:
                w.revoked_at, w.revoked_by = self.ctx.now(), by.username
                self.ctx.audit(
                    s, by.username, "worker.revoke", f"worker:{w.id}", after={"reason": reason}
                )
            return [a.deployment_id for a in self._assignments(s, w.id)]

    def visible_workers(self, by: Actor) -> list[dict[str, Any]]:
        """Administrators and auditors see every worker; anyone else only the cameras and
        assignments of deployments they may see (a worker serving none of them is left out)."""
        rows_ = self.workers()
        if by.has(Role.ADMINISTRATOR) or by.has(Role.AUDITOR):
            return rows_
        mine = set(self.gov.access.ids(by))
        out = []
        for w in rows_:
            deps = [d for d in w["deployments"] if d in mine]
            if not deps:
                continue
            cams = w["status"].get("cameras", {})
            status = {**w["status"], "cameras": {
                c: v for c, v in cams.items() if v.get("deployment_id") in mine
            }}  # fmt: skip
            out.append({**w, "deployments": deps, "status": status})
        return out

    def workers(self) -> list[dict[str, Any]]:
        with self.ctx.tx() as s:
            rows = s.execute(select(mw.Worker).order_by(mw.Worker.name)).scalars().all()
            return [
                {
                    "id": w.id,
                    "name": w.name,
                    "revoked": w.revoked_at is not None,
                    "up": w.revoked_at is None and w.last_seen_at is not None and not w.down_since,
                    "last_heartbeat": w.last_seen_at,
                    "down_since": w.down_since,
                    "deployments": [a.deployment_id for a in self._assignments(s, w.id)],
                    "status": json.loads(w.status_json or "{}"),
                }
                for w in rows
            ]

    @staticmethod
    def _assignments(s: Session, worker_id: str) -> list[mw.WorkerAssignment]:
        q = select(mw.WorkerAssignment).where(mw.WorkerAssignment.worker_id == worker_id)
        return list(s.execute(q).scalars())

    def assigned_workers(self, deployment_id: str) -> list[str]:
        with self.ctx.tx() as s:
            q = select(mw.WorkerAssignment.worker_id).where(
                mw.WorkerAssignment.deployment_id == deployment_id
            )
            return list(s.execute(q).scalars())

    # -- what a worker may do ---------------------------------------------------------------

    def authenticate(self, token: str) -> WorkerIdentity:
        wid, secret = parse_token(token)
        with self.ctx.tx() as s:
            w = s.get(mw.Worker, wid)
            if w is None or not hmac.compare_digest(w.token_digest, _digest(secret)):
                raise WorkerAuthError("unknown worker token")
            if w.revoked_at is not None:
                raise WorkerAuthError("worker token revoked", source=w.id)
            return WorkerIdentity(w.id, w.name)

    def centre_key(self, s: Session) -> SigningKey:
        return SigningKey.from_seed(
            self.ctx.data_key(s, CENTRE_KEY_OWNER, CONTROL_KEY, create=True)
        )

    def centre_public_key(self) -> bytes:
        with self.ctx.tx() as s:
            return self.centre_key(s).public

    def control_message(
        self, worker_id: str, action: str, deployment_id: str | None
    ) -> dict[str, Any]:
        with self.ctx.tx() as s:
            key = self.centre_key(s)
        return control_message(key, worker_id, action, deployment_id)

    def enrol(self, worker: WorkerIdentity, public_key: bytes) -> bytes:
        """Keep the worker's Ed25519 public key (its first enrolment; the same key again is a
        no-op, another one is refused: a stolen token cannot take over a worker's identity);
        returns the centre's public key, which signs control messages."""
        if len(public_key) != 32:
            raise InvalidStateError("an Ed25519 public key is 32 bytes", source=worker.id)
        with self.ctx.tx() as s:
            w = self._worker(s, worker.id)
            if w.public_key is None:
                w.public_key = public_key.hex()
                self.ctx.audit(
                    s, worker.actor_name, "worker.enrol", f"worker:{w.id}",
                    after={"public_key": public_key.hex()},
                )  # fmt: skip
            elif not hmac.compare_digest(w.public_key, public_key.hex()):
                raise WorkerEnrolledError("worker already enrolled with another key", source=w.id)
            return self.centre_key(s).public

    def transport_private_key(self, s: Session, deployment_id: str, *, create: bool) -> bytes:
        return self.ctx.data_key(s, deployment_id, TRANSPORT_KEY, create=create)

    def assignments(self, worker: WorkerIdentity) -> list[dict[str, Any]]:
        """The live, in-window deployments assigned to `worker`, with what it needs to run them."""
        out = []
        now = self.ctx.now()
        with self.ctx.tx() as s:
            for a in self._assignments(s, worker.id):
                d = s.get(m.Deployment, a.deployment_id)
                if d is None or d.state != DeploymentState.LIVE.value or not by_officer(s, a, d):
                    continue
                try:
                    dep_rules.check_live(facts(d), now)
                except InvalidStateError:
                    continue
                pub = public_key_of(self.transport_private_key(s, d.id, create=True))
                version = watchlist_versions(s, [d.id])[d.id]
                out.append(
                    {
                        "deployment_id": d.id,
                        "cameras": sorted(facts(d).cameras),
                        "threshold": d.threshold,
                        "contract_id": d.model_contract_id,
                        "ends_at": d.ends_at,
                        "alert_public_key": pub.hex(),
                        "watchlist_version": version,
                    }
                )
        return out

    def watchlist(self, worker: WorkerIdentity, deployment_id: str) -> LoadedWatchlist:
        with self.ctx.tx() as s:
            a = s.get(mw.WorkerAssignment, (worker.id, deployment_id))
            d = s.get(m.Deployment, deployment_id)
            if a is None or d is None or not by_officer(s, a, d):
                raise PermissionDeniedError(
                    "deployment is not assigned to this worker by one of its officers",
                    source=deployment_id,
                )
        wl = self.gov.watchlists.load_watchlist(deployment_id)  # refuses unless live and in window
        with self.ctx.tx() as s:
            self.ctx.audit(
                s, worker.actor_name, "watchlist.fetch", f"deployment:{deployment_id}",
                after={"worker": worker.id, "entries": len(wl.entry_ids)},
            )  # fmt: skip
        return wl

    def live_assignments(self) -> dict[tuple[str, str], tuple[float | None, str]]:
        """(worker, deployment) pairs a current worker should be running now -> (threshold,
        watchlist version): a change of either means the worker must re-fetch."""
        now = self.ctx.now()
        out: dict[tuple[str, str], tuple[float | None, str]] = {}
        with self.ctx.tx() as s:
            q = (
                select(mw.WorkerAssignment, m.Deployment)
                .join(m.Deployment, m.Deployment.id == mw.WorkerAssignment.deployment_id)
                .join(mw.Worker, mw.Worker.id == mw.WorkerAssignment.worker_id)
                .where(
                    mw.Worker.revoked_at.is_(None),
                    m.Deployment.state == DeploymentState.LIVE.value,
                )
            )
            pairs = [
                (a, d)
                for a, d in s.execute(q).all()
                if (d.ends_at is None or now < d.ends_at) and by_officer(s, a, d)
            ]
            versions = watchlist_versions(s, sorted({d.id for _, d in pairs}))
            for a, d in pairs:
                out[(a.worker_id, d.id)] = (d.threshold, versions[d.id])
        return out

    # -- liveness -----------------------------------------------------------------------------

    def heartbeat(self, worker_id: str, status: dict[str, Any], now_s: float | None = None) -> bool:
        """Record a heartbeat signed by its worker (a forged one could hide a dead worker),
        recent (a replayed old one could too) and newer than the last one kept."""
        now = self.ctx.now()
        now_s = time.time() if now_s is None else now_s
        body = {k: v for k, v in status.items() if k != SIG}
        with self.ctx.tx() as s:
            w = s.get(mw.Worker, worker_id)
            if w is None or w.revoked_at is not None or w.public_key is None:
                return False
            if not verify(bytes.fromhex(w.public_key), status):
                return False
            sent = status.get("at")
            if not is_fresh(sent, now_s, HEARTBEAT_MAX_AGE_S):
                return False
            last = json.loads(w.status_json or "{}").get("at")
            if isinstance(last, int | float) and float(sent) <= float(last):  # type: ignore[arg-type]
                return False
            if w.down_since is not None:
                gap = (now - w.down_since).total_seconds()
                self.ctx.audit(
                    s, SYSTEM_ACTOR, "worker.up", f"worker:{w.id}", after={"down_s": round(gap, 1)}
                )
                w.down_since = None
            w.last_seen_at = now
            w.status_json = json.dumps(body, sort_keys=True, default=str)
            return True

    def mark_down(self, after_s: float) -> list[str]:
        """Workers silent for `after_s`: mark down, audit which cameras went dark and since when."""
        now = self.ctx.now()
        limit = now - timedelta(seconds=after_s)
        down = []
        with self.ctx.tx() as s:
            q = select(mw.Worker).where(
                mw.Worker.revoked_at.is_(None),
                mw.Worker.down_since.is_(None),
                mw.Worker.last_seen_at.is_not(None),
                mw.Worker.last_seen_at < limit,
            )
            for w in s.execute(q).scalars():
                assert w.last_seen_at is not None
                w.down_since = w.last_seen_at
                cams = sorted(json.loads(w.status_json or "{}").get("cameras", {}))
                self.ctx.audit(
                    s, SYSTEM_ACTOR, "worker.down", f"worker:{w.id}",
                    after={"cameras": cams, "gap_from": _iso(w.last_seen_at)},
                )  # fmt: skip
                down.append(w.id)
        return down


SYSTEM_ACTOR = "system"


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")
