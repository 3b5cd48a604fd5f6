"""Request and response models of the assurance routes (walk-by, monitor, equality, profile)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from openlfr.api.defs.common import mirror
from openlfr.governance.walkby import CameraResult


class ProfileOut(BaseModel):
    profile: str
    title: str
    law: str
    eu_mode: bool
    police: bool


class AssuranceFields(BaseModel):
    min_walkby_tpir: float | None = Field(None, gt=0, le=1)
    threat_ref: str | None = Field(None, max_length=2000)
    art9_condition: str | None = Field(None, max_length=2000)
    retention_schedule_url: str | None = Field(None, max_length=500)


class WalkerOut(BaseModel):
    id: str
    subject_ref: str
    consent_ref: str
    consented_on: str
    added_at: str


class WalkbyIn(BaseModel):
    camera_id: str = Field(min_length=1, max_length=200)
    max_frames: int | None = Field(None, ge=1, le=1_000_000)


class WalkbyOut(mirror(CameraResult)):  # type: ignore[misc]
    run_id: str
    scores: list[float]
    flagged: bool


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class MonitorDecisionIn(BaseModel):
    choice: Literal["resume", "resume_higher_threshold", "end"]
    reason: str = Field(min_length=1, max_length=2000)
    new_threshold: float | None = Field(None, ge=-1, le=10)


class PerceivedGroupIn(BaseModel):
    group: Literal[
        "asian_or_asian_british",
        "black_or_black_british",
        "mixed_or_multiple",
        "white",
        "other_ethnic_group",
    ]


class AssuranceOut(BaseModel):
    controller_profile: str
    min_walkby_tpir: float | None
    walkby_runs: list[dict[str, Any]]
    walkby_groups: list[dict[str, Any]] = []
    walkby_flagged: bool
    walkby_acknowledged: bool
    walkby_acknowledged_at: str | None
    expected_false_alerts_per_1000_faces: float | None
    measured_false_alerts_per_1000_faces: float | None
    monitor_state: str
    monitor_reading: dict[str, Any] | None
    monitor_events: list[dict[str, Any]]
    suppressed_matches: int
    held: str | None = None
    equality: list[dict[str, Any]] = []
