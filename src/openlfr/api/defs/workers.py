from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class WorkerIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_-]+$")


class NewWorkerOut(BaseModel):
    id: str
    name: str
    token: str = Field(description="Shown once: give it to the worker (`--token`)")


class RevokeIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class WorkerOut(BaseModel):
    id: str
    name: str
    revoked: bool
    up: bool
    last_heartbeat: datetime | None
    down_since: datetime | None
    deployments: list[str]
    status: dict[str, Any] = Field(description="Last heartbeat: cameras, fps, dropped frames")


class AssignmentOut(BaseModel):
    deployment_id: str
    cameras: list[str]
    threshold: float | None
    contract_id: str | None
    ends_at: datetime | None
    alert_public_key: str = Field(description="X25519 public key (hex) alerts are sealed to")
    watchlist_version: str = Field(description="Changes when an entry is added or removed")


class WatchlistOut(BaseModel):
    deployment_id: str
    contract_id: str
    threshold: float
    entry_ids: list[str]
    dim: int
    vectors_b64: str = Field(description="float32 little-endian, row-major, unit rows")


class EnrolIn(BaseModel):
    public_key: str = Field(pattern=r"^[0-9a-f]{64}$", description="Ed25519 public key (hex)")


class EnrolOut(BaseModel):
    worker_id: str
    centre_public_key: str = Field(description="Ed25519 key (hex) control messages are signed with")


class DeploymentWorkerOut(BaseModel):
    worker_id: str
    name: str
    assigned_by: str
    assigned_at: datetime
    by_officer: bool = Field(description="Made by an authorising officer of the deployment")
    revoked: bool
