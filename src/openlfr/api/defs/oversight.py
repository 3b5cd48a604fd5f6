from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat, StrictStr


class AuditRecordOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    before: dict[str, Any]
    after: dict[str, Any]
    hash: str


class ChainOut(BaseModel):
    ok: bool
    records: int
    first_bad_seq: int | None
    problem: str | None


class SubjectHitOut(BaseModel):
    kind: Literal["alert", "watchlist_entry", "watchlist_stub"]
    id: str
    deployment_id: str
    score: float | None
    detail: dict[str, Any]


class SubjectHitIn(BaseModel):
    """A hit as returned by subject access, sent back to erase it."""

    kind: Literal["alert", "watchlist_entry", "watchlist_stub"]
    id: StrictStr = Field(min_length=1, max_length=64)
    deployment_id: StrictStr = Field(min_length=1, max_length=32)
    score: StrictFloat | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class EraseIn(BaseModel):
    hits: list[SubjectHitIn] = Field(min_length=1, max_length=1000)
    reason: str = Field(min_length=1, max_length=2000)


class EraseOut(BaseModel):
    alerts: int
    watchlist_entries: int


class PurgeOut(BaseModel):
    at: str
    deployments_ended: list[str]
    watchlists_destroyed: dict[str, int]
    alerts_deleted: dict[str, int]
    keys_destroyed: list[str]


class PublicNoticeOut(BaseModel):
    deployment_id: str
    name: str
    date: str
    window_start: str
    window_end: str
    location: str
    purpose: str
    notice_published_at: str | None
    signage: dict[str, bool]


class PublicDeploymentOut(BaseModel):
    notice: PublicNoticeOut
    state: str
    record: dict[str, Any] | None = Field(
        description="The deployment record (counts only), once the deployment has ended"
    )


class ApprovalOut(BaseModel):
    contract_id: str
    validated_min_threshold: float
    default_threshold: float
