"""Operator training (D.13; the ICO's 2025 LFR audits check that alerts are reviewed by trained
people): a review is refused, not flagged, unless the reviewer's training is current."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Training:
    course: str
    completed_on: date
    expires_on: date

    def current(self, today: date) -> bool:
        return self.completed_on <= today < self.expires_on


def record_problems(course: str, completed_on: date, expires_on: date, today: date) -> list[str]:
    out = []
    if not course.strip():
        out.append("a training record needs the course")
    if completed_on > today:
        out.append("the completion date is in the future")
    if expires_on <= completed_on:
        out.append("the expiry must be after the completion date")
    return out


def current_training(records: Iterable[Training], today: date) -> Training | None:
    """The current record that runs longest, or None."""
    ok = [t for t in records if t.current(today)]
    return max(ok, key=lambda t: t.expires_on) if ok else None


def review_problems(username: str, records: Iterable[Training], today: date) -> list[str]:
    recs = list(records)
    if current_training(recs, today) is not None:
        return []
    if not recs:
        return [f"{username} has no recorded operator training: only trained staff may review"]
    last = max(recs, key=lambda t: t.expires_on)
    return [
        f"{username}'s training ({last.course}) expired on {last.expires_on.isoformat()}: "
        "only staff with current training may review"
    ]
