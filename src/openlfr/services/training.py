"""Training records of users: recorded and read by administrators (auditors read), checked at
every review of an alert (`reviewer_training`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.governance import training as tr
from openlfr.governance.deployment import Actor, require
from openlfr.governance.vocab import Role
from openlfr.services import rows
from openlfr.services.room import Room
from openlfr.storage import controls_models as cm
from openlfr.storage import models as m


def trainings(s: Session, user_id: str) -> list[tr.Training]:
    q = select(cm.TrainingRecord).where(cm.TrainingRecord.user_id == user_id)
    return [tr.Training(r.course, r.completed_on, r.expires_on) for r in s.execute(q).scalars()]


def reviewer_training(s: Session, by: Actor, today: date) -> tr.Training:
    """The reviewer's current training; refuses (RuleViolation) when there is none."""
    recs = trainings(s, by.id)
    require("adjudication", tr.review_problems(by.username, recs, today))
    t = tr.current_training(recs, today)
    assert t is not None
    return t


def _out(r: cm.TrainingRecord, username: str, today: date) -> dict[str, Any]:
    return {
        "id": r.id,
        "username": username,
        "course": r.course,
        "completed_on": r.completed_on.isoformat(),
        "expires_on": r.expires_on.isoformat(),
        "current": r.completed_on <= today < r.expires_on,
    }


class TrainingRecords(Room):
    def record(
        self, by: Actor, username: str, course: str, completed_on: date, expires_on: date
    ) -> str:
        self.ctx.need_role(by, Role.ADMINISTRATOR)
        today = self.ctx.now().date()
        with self.ctx.tx() as s:
            u = rows.user_by_name(s, username)
            require(
                "training record",
                tr.record_problems(course, completed_on, expires_on, today),
                source=username,
            )
            r = cm.TrainingRecord(
                id=uuid.uuid4().hex,
                user_id=u.id,
                course=course.strip(),
                completed_on=completed_on,
                expires_on=expires_on,
                recorded_by=by.id,
                recorded_at=self.ctx.now(),
            )
            s.add(r)
            self.ctx.audit(
                s,
                by.username,
                "user.training",
                f"user:{u.id}",
                after={"course": r.course, "completed_on": completed_on, "expires_on": expires_on},
            )
            return r.id

    def records(self, by: Actor, username: str | None = None) -> list[dict[str, Any]]:
        """Every user's records (or one user's), newest expiry first: administrators, auditors."""
        self.ctx.need_role(by, Role.ADMINISTRATOR, Role.AUDITOR)
        today = self.ctx.now().date()
        with self.ctx.tx() as s:
            q = select(cm.TrainingRecord, m.User.username).join(
                m.User, m.User.id == cm.TrainingRecord.user_id
            )
            if username is not None:
                q = q.where(m.User.id == rows.user_by_name(s, username).id)
            q = q.order_by(m.User.username, cm.TrainingRecord.expires_on.desc())
            return [_out(r, name, today) for r, name in s.execute(q).all()]
