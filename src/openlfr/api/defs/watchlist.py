from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from openlfr.governance.vocab import Category


class EntryOut(BaseModel):
    id: str
    category: str
    quality: float
    flags: list[str]
    image_captured_on: date | None
    added_by: str


class EntryAddedOut(BaseModel):
    id: str
    flags: list[str]
    expected_false_alerts_now: float | None


class SignOffOut(BaseModel):
    expected_false_alerts: float | None
    size: int


class WasOnListOut(BaseModel):
    entry_id: str
    category: str
    template_digest: str
    destroyed_at: datetime | None
    state: str


CATEGORIES = [c.value for c in Category]
