from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat, StrictStr

from openlfr.api.defs.common import mirror
from openlfr.governance.transparency import PublicNotice
from openlfr.services.retention import PurgeReceipt
from openlfr.services.subject_rights import SubjectHit
from openlfr.storage.audit import ChainReport


class AuditRecordOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    subject: str
    before: dict[str, Any]
    after: dict[str, Any]
    hash: str


class ChainOut(mirror(ChainReport)):  # type: ignore[misc]
    pass


class SubjectHitOut(mirror(SubjectHit)):  # type: ignore[misc]
    kind: Literal["alert", "watchlist_entry", "watchlist_stub"]


class SubjectHitIn(BaseModel):
    """A hit as returned by subject access, sent back to erase it."""

    kind: Literal["alert", "watchlist_entry", "watchlist_stub"]
    id: StrictStr = Field(min_length=1, max_length=64)
    deployment_id: StrictStr = Field(min_length=1, max_length=32)
    score: StrictFloat | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class SubjectSearchOut(BaseModel):
    search_id: int = Field(description="The recorded search: erasure acts on its hits only")
    hits: list[SubjectHitOut]


class EraseIn(BaseModel):
    search_id: int = Field(ge=1, le=2**62, description="From POST /subject-access")
    hit_ids: list[str] | None = Field(
        default=None, max_length=1000, description="Hits of that search to erase (default: all)"
    )
    reason: str = Field(min_length=1, max_length=2000)


class ErasureRequestOut(BaseModel):
    request_id: int = Field(description="A second auditor approves it: POST .../approve")
    status: Literal["pending_approval"] = "pending_approval"


class EraseOut(BaseModel):
    alerts: int
    watchlist_entries: int


class PurgeOut(mirror(PurgeReceipt)):  # type: ignore[misc]
    at: str


class PublicNoticeOut(mirror(PublicNotice)):  # type: ignore[misc]
    pass


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
    status: str = Field(default="approved", description="pending_countersignature | approved")
    report_digest: str = Field(default="", description="SHA-256 of the report's canonical JSON")
