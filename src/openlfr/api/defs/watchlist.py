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
    photos: int = 1  # usable photos (each passed the enrolment checks)
    expected_hit_rate: float | None = None  # for this entry, from the model's TPIR curve


class EntryAddedOut(BaseModel):
    id: str
    flags: list[str]
    expected_false_alerts_now: float | None


class SignOffOut(BaseModel):
    expected_false_alerts: float | None
    expected_hit_rate: float | None = None
    size: int


class PhotoOut(BaseModel):
    id: str
    first: bool  # the photo the entry was created with
    image_captured_on: date | None
    quality: float
    flags: list[str]
    added_by: str


class PhotoAddedOut(BaseModel):
    id: str
    flags: list[str]
    photos: int
    expected_hit_rate: float | None  # of this entry, now


class ExpectedHitsOut(BaseModel):
    """Expected share of listed people found if they pass a camera, for the list as it is."""

    rate: float | None
    threshold: float
    probe_shots: int
    entries: int
    photo_counts: dict[str, int]
    rate_by_photos: dict[str, float | None]
    single_photo_entries: int
    basis: str


class WasOnListOut(BaseModel):
    entry_id: str
    category: str
    template_digest: str
    destroyed_at: datetime | None
    state: str


CATEGORIES = [c.value for c in Category]


class FaceBoxOut(BaseModel):
    x: float
    y: float
    width: float
    height: float


class FacesOut(BaseModel):
    """The faces found in a photo, left to right (pick one by its index); the photo's size."""

    width: int
    height: int
    faces: list[FaceBoxOut]
