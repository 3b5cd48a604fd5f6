"""Which workers serve a deployment: only an authorising officer of the deployment puts one on
it (a worker reads the deployment's watchlist, so an administrator, who may never, must not be
able to route one there); its officers or an administrator take one off; the deployment's page
lists them with who assigned each and whether that counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.errors import NotFoundError, PermissionDeniedError
from openlfr.governance.deployment import Actor
from openlfr.governance.vocab import Role
from openlfr.services import access
from openlfr.services.access import Access
from openlfr.services.context import ServiceContext
from openlfr.services.rows import actor_of as rows_actor
from openlfr.storage import models as m
from openlfr.storage import models_workers as mw


def _deployment(s: Session, deployment_id: str) -> m.Deployment:
    d = s.get(m.Deployment, deployment_id)
    if d is None:
        raise NotFoundError("no such deployment", source=deployment_id)
    return d


class WorkerAssignments:
    """The assignment half of `WorkerService` (which it is mixed into)."""

    ctx: ServiceContext

    def _worker(self, s: Session, worker_id: str) -> mw.Worker:
        w = s.get(mw.Worker, worker_id)
        if w is None:
            raise NotFoundError("no such worker", source=worker_id)
        return w

    def assign(self, by: Actor, worker_id: str, deployment_id: str) -> None:
        """Only an authorising officer of the deployment puts a worker on it: a worker reads
        the deployment's watchlist, so an administrator (who may never) must not be able to
        route one there."""
        with self.ctx.tx() as s:
            w = self._worker(s, worker_id)
            d = _deployment(s, deployment_id)
            access.require(by, d, Access.OFFICER)
            if w.revoked_at is not None:
                raise PermissionDeniedError("worker is revoked", source=worker_id)
            a = s.get(mw.WorkerAssignment, (w.id, d.id))
            if a is None or a.assigned_by != by.username:
                if a is not None:
                    s.delete(a)
                    s.flush()
                s.add(
                    mw.WorkerAssignment(
                        worker_id=w.id,
                        deployment_id=d.id,
                        assigned_at=self.ctx.now(),
                        assigned_by=by.username,
                    )
                )
                self.ctx.audit(
                    s, by.username, "worker.assign", f"deployment:{d.id}",
                    after={"worker": w.id, "name": w.name},
                )  # fmt: skip

    def unassign(self, by: Actor, worker_id: str, deployment_id: str) -> None:
        """The deployment's officers, or an administrator (taking a worker off a deployment
        opens nothing)."""
        with self.ctx.tx() as s:
            d = _deployment(s, deployment_id)
            if not by.has(Role.ADMINISTRATOR):
                access.require(by, d, Access.OFFICER)
            a = s.get(mw.WorkerAssignment, (worker_id, deployment_id))
            if a is None:
                raise NotFoundError("not assigned", source=f"{worker_id}/{deployment_id}")
            s.delete(a)
            self.ctx.audit(
                s, by.username, "worker.unassign", f"deployment:{deployment_id}",
                after={"worker": worker_id},
            )  # fmt: skip

    def deployment_workers(self, by: Actor, deployment_id: str) -> list[dict[str, Any]]:
        """The workers on a deployment's page: who assigned each, when, and whether that
        assignment counts (made by one of its authorising officers)."""
        with self.ctx.tx() as s:
            d = _deployment(s, deployment_id)
            access.require(by, d, Access.VIEW)
            q = (
                select(mw.WorkerAssignment, mw.Worker)
                .join(mw.Worker, mw.Worker.id == mw.WorkerAssignment.worker_id)
                .where(mw.WorkerAssignment.deployment_id == d.id)
                .order_by(mw.Worker.name)
            )
            return [
                {
                    "worker_id": w.id,
                    "name": w.name,
                    "assigned_by": a.assigned_by,
                    "assigned_at": a.assigned_at,
                    "by_officer": by_officer(s, a, d),
                    "revoked": w.revoked_at is not None,
                }
                for a, w in s.execute(q).all()
            ]

    def assignable_workers(self, by: Actor, deployment_id: str) -> list[dict[str, str]]:
        """What a deployment's authorising officer may put on it: registered workers not
        revoked and not already on it, by id and name only (nothing of other deployments)."""
        with self.ctx.tx() as s:
            d = _deployment(s, deployment_id)
            access.require(by, d, Access.OFFICER)
            on = set(
                s.execute(
                    select(mw.WorkerAssignment.worker_id).where(
                        mw.WorkerAssignment.deployment_id == d.id
                    )
                ).scalars()
            )
            q = select(mw.Worker).where(mw.Worker.revoked_at.is_(None)).order_by(mw.Worker.name)
            return [{"id": w.id, "name": w.name} for w in s.execute(q).scalars() if w.id not in on]


def by_officer(s: Session, a: mw.WorkerAssignment, d: m.Deployment) -> bool:
    """Whether the assignment was made by someone who is (still) an authorising officer of
    the deployment: an assignment by anyone else (an administrator, before this rule) opens
    nothing."""
    u = s.execute(select(m.User).where(m.User.username == a.assigned_by)).scalar_one_or_none()
    return u is not None and u.active and access.allowed(rows_actor(u), d, Access.OFFICER)
