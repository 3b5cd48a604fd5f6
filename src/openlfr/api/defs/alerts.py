from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from openlfr.governance.vocab import Decision, OutcomeResult


class ReviewRecordOut(BaseModel):
    """One review as the card shows it: who (username), when, the decision and why."""

    by: str | None
    decision: str
    reason: str
    at: datetime


class AlertOut(BaseModel):
    id: str
    deployment_id: str
    camera: str
    entry_id: str
    score: float
    threshold: float
    status: str
    result: str | None
    detected_at: datetime
    expires_at: datetime
    legal_hold: str | None
    reviews: list[ReviewRecordOut] = []


class EvidenceOut(BaseModel):
    """The side-by-side view: probe crop and watchlist image (base64 JPEG), raw score and the
    operating threshold. Only matched faces ever reach this model."""

    alert_id: str
    probe_jpeg_b64: str | None
    watchlist_jpeg_b64: str | None
    score: float
    threshold: float
    category: str | None
    status: str
    # Beside the faces only (None without them): the entry's reference, why it is listed, its
    # legal basis; and where the deployment is.
    subject_ref: str | None = None
    reason: str | None = None
    legal_basis: str | None = None
    location: str | None = None
    deployment_name: str | None = None
    purpose: str | None = None


class ReviewIn(BaseModel):
    decision: Decision
    reason: str = Field(min_length=1, max_length=2000)


class ReviewOut(BaseModel):
    status: str


class OutcomeIn(BaseModel):
    engaged: bool
    duration_s: float | None = Field(default=None, ge=0, le=86400)
    result: OutcomeResult


class LegalHoldIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)
