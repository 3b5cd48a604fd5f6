from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from openlfr.api.defs.common import mirror
from openlfr.config.governance import RetentionProfile
from openlfr.governance.vocab import Countersign, Purpose
from openlfr.services.console import Readiness


class DeploymentFields(BaseModel):
    """Every field a draft may set; unset fields are left as they are."""

    model_config = ConfigDict(extra="forbid")

    purpose: Purpose | None = None
    location: str | None = Field(default=None, max_length=300)
    # Fields that cannot be cleared: null is neither documented nor accepted; omit them to
    # leave them unchanged.
    cameras: list[str] | SkipJsonSchema[None] = Field(default=None, max_length=64)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    dpia_ref: str | None = Field(default=None, max_length=200)
    policy_ref: str | None = Field(default=None, max_length=200)
    eia_ref: str | None = Field(default=None, max_length=200)
    necessity: str | None = Field(default=None, max_length=4000)
    alternatives: str | None = Field(default=None, max_length=4000)
    model_contract_id: str | None = Field(default=None, max_length=200)
    threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    expected_faces: int | None = Field(default=None, ge=0, le=100_000_000)
    watchlist_size_cap: int | SkipJsonSchema[None] = Field(default=None, ge=1, le=1_000_000)
    retention_profile: RetentionProfile | SkipJsonSchema[None] = None
    public_notice_at: AwareDatetime | None = None
    no_notice_reason: str | None = Field(default=None, max_length=2000)
    compiler: str | None = Field(default=None, max_length=80, description="username")
    operators: list[str] | SkipJsonSchema[None] = Field(
        default=None, max_length=64, description="usernames"
    )
    officers: list[str] | SkipJsonSchema[None] = Field(
        default=None,
        max_length=16,
        description="usernames of further authorising officers named on it (countersign, "
        "sign-off, legal holds); its creator, authoriser and signatories are officers anyway",
    )
    signage: dict[str, bool] | SkipJsonSchema[None] = None

    @field_validator(
        "cameras",
        "watchlist_size_cap",
        "retention_profile",
        "operators",
        "officers",
        "signage",
        mode="before",
    )
    @classmethod
    def _not_null(cls, v: object) -> object:
        # Runs only for values sent (defaults are not validated): an explicit null is refused.
        if v is None:
            raise ValueError("may not be null; omit the field to leave it unchanged")
        return v


class DeploymentCreate(DeploymentFields):
    name: str = Field(min_length=1, max_length=200)


class DeploymentSummary(BaseModel):
    id: str
    name: str
    state: str
    starts_at: datetime | None
    ends_at: datetime | None


class DeploymentOut(BaseModel):
    id: str
    name: str
    state: str
    purpose: str | None
    location: str | None
    cameras: list[str]
    starts_at: datetime | None
    ends_at: datetime | None
    dpia_ref: str | None
    policy_ref: str | None
    eia_ref: str | None
    necessity: str | None
    alternatives: str | None
    model_contract_id: str | None
    threshold: float | None
    expected_faces: int | None
    watchlist_size_cap: int
    retention_profile: str
    public_notice_at: datetime | None
    no_notice_reason: str | None
    compiler_id: str | None
    operator_ids: list[str]
    officer_ids: list[str] = []
    authoriser_id: str | None
    authorised_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    expected_false_alerts: float | None
    expected_false_alerts_signoff: float | None
    # Expected share of listed people found, beside the false alerts (issue 11), and how each
    # was computed ({"authorisation": ..., "sign_off": ...}).
    expected_hit_rate: float | None = None
    expected_hit_rate_signoff: float | None = None
    expected_hits: dict[str, Any] = {}
    watchlist_size: int
    signed_off_at: datetime | None
    watchlist_destroyed_at: datetime | None
    faces_processed: int
    frames_processed: int
    frames_refused: int
    live_cameras: list[str] = Field(default_factory=list)


class CreatedOut(BaseModel):
    id: str


class ReadinessOut(mirror(Readiness)):  # type: ignore[misc]
    ready: bool


class AuthoriseOut(BaseModel):
    expected_false_alerts: float
    expected_hit_rate: float | None = None
    # E.g. that the model's evidence is the supplier's shipped report, to re-run locally.
    recommendations: list[str] = Field(default_factory=list)


class CountersignIn(BaseModel):
    kind: Countersign
    reason: str = Field(min_length=1, max_length=2000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class StartOut(BaseModel):
    state: str
    cameras_running: list[str]
    cameras_without_source: list[str]


class LiveOut(BaseModel):
    deployment_id: str
    camera_id: str
    running: bool
    frames: int
    faces_detected: int
    alerts: int
    error: str | None
