"""Tables of issue 22: operators' training records and the anonymous equality tally.

`EqualityTally` is what survives of a perceived-group record once its alert is deleted: a count
per year, group, review result and outcome, with no alert, entry or deployment id, so nothing in
it can be joined back to a person on a watchlist.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from openlfr.storage.models import Base, Key32


class TrainingRecord(Base):
    """A course a user completed (D.13 / ICO 2025: alerts are reviewed by trained people)."""

    __tablename__ = "training_records"
    id: Mapped[Key32]
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course: Mapped[str] = mapped_column(String(200))
    completed_on: Mapped[date]
    expires_on: Mapped[date]
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime]


class EqualityTally(Base):
    __tablename__ = "equality_tally"
    year: Mapped[int] = mapped_column(primary_key=True)
    perceived_group: Mapped[str] = mapped_column(String(40), primary_key=True)
    false_alert: Mapped[bool] = mapped_column(primary_key=True)
    outcome: Mapped[str] = mapped_column(String(40), primary_key=True)  # "" when none
    count: Mapped[int] = mapped_column(default=0)
