"""ORM models of edge workers: credentials, assignments, liveness, and ingested broker events.

A worker's token is stored as a SHA-256 digest only (the token is 256 random bits, so a slow
hash buys nothing); revoking sets `revoked_at` and the token stops opening anything at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openlfr.storage.models import Base, Key32


class Worker(Base):
    __tablename__ = "workers"
    id: Mapped[Key32]
    name: Mapped[str] = mapped_column(String(120), unique=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # Ed25519 public key (hex) the worker made when it enrolled: its messages are checked with
    # it, and the database holds nothing that can sign them.
    public_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(80))
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(80))
    last_seen_at: Mapped[datetime | None]
    down_since: Mapped[datetime | None]
    # The last heartbeat: cameras, fps, dropped frames (numbers and ids only).
    status_json: Mapped[str] = mapped_column(Text, default="{}")


class WorkerAssignment(Base):
    __tablename__ = "worker_assignments"
    worker_id: Mapped[str] = mapped_column(ForeignKey("workers.id"), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(80))


class IngestedEvent(Base):
    """One row per authentic broker message whose fate is decided (recorded, held or refused):
    a redelivery or a replay finds it and stops. A refusal is kept too, so an alert refused
    today (worker unassigned, out of window) cannot be recorded by replaying it tomorrow."""

    __tablename__ = "ingested_events"
    msg_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    worker_id: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str | None] = mapped_column(String(100))  # the alert row it became
    frames: Mapped[int] = mapped_column(default=0)
    faces: Mapped[int] = mapped_column(default=0)
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(60), default="recorded", server_default="recorded")
