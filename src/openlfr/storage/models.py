"""ORM models. Biometric columns (`*_enc`) hold AES-GCM blobs only (see storage.crypto).

Non-matched people have no table: only alerts, watchlist entries and counters are stored.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from sqlalchemy import (
    DateTime,
    Float,
    ForeignKey,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from openlfr.governance.clock import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend does with time zones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        v = as_utc(value)
        # SQLite stores text; keep it naive UTC so comparisons in SQL sort correctly.
        return v.replace(tzinfo=None) if dialect.name == "sqlite" else v

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # Column types that follow from the annotation (int, bool and date already do), so a
    # column spells out only what differs: a string's length, Text, a key, a default.
    # Timestamps are always timezone-aware UTC; biometric and key material is a sealed blob.
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        bytes: LargeBinary(),
        float: Float(),
    }


# The two columns most tables open with: a 32-character id as the key, and the deployment the
# row belongs to (indexed: rows are read per deployment).
Key32 = Annotated[str, mapped_column(String(32), primary_key=True)]
DeploymentRef = Annotated[str, mapped_column(ForeignKey("deployments.id"), index=True)]


class User(Base):
    __tablename__ = "users"
    id: Mapped[Key32]
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated Role values
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    # Two people means two people (issue 19): an account an administrator made or reset counts
    # as one of the two in a two-person rule only once its holder has set their own password
    # and a second administrator has confirmed the roles the first one granted.
    password_by_holder: Mapped[bool] = mapped_column(default=False, server_default="1")
    roles_granted_by: Mapped[str | None] = mapped_column(String(80))  # None: the installation
    roles_confirmed_by: Mapped[str | None] = mapped_column(String(80))


class ModelApprovalRow(Base):
    __tablename__ = "model_approvals"
    contract_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    approval_json: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(32))
    # Separation of duties: an approval counts once a second person countersigned the same
    # report (its SHA-256 over the canonical JSON).
    report_digest: Mapped[str | None] = mapped_column(String(64))
    countersigned_by: Mapped[str | None] = mapped_column(String(32))
    countersigned_at: Mapped[datetime | None]
    # C.11: the report's per-group rates and tests, kept with the approval (issue 22) so impact
    # assessments can quote them; None for approvals recorded without the full report.
    per_group_json: Mapped[str | None] = mapped_column(Text)


class Deployment(Base):
    __tablename__ = "deployments"
    id: Mapped[Key32]
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str | None] = mapped_column(String(80))
    location: Mapped[str | None] = mapped_column(String(300))
    cameras_json: Mapped[str] = mapped_column(Text, default="[]")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    dpia_ref: Mapped[str | None] = mapped_column(String(200))
    policy_ref: Mapped[str | None] = mapped_column(String(200))
    eia_ref: Mapped[str | None] = mapped_column(String(200))
    necessity: Mapped[str | None] = mapped_column(Text)
    alternatives: Mapped[str | None] = mapped_column(Text)
    model_contract_id: Mapped[str | None] = mapped_column(String(200))
    threshold: Mapped[float | None]
    expected_faces: Mapped[int | None]
    expected_false_alerts: Mapped[float | None]
    expected_false_alerts_signoff: Mapped[float | None]
    # Expected share of listed people found if they pass a camera (issue 11), beside the
    # expected false alerts; the JSON keeps how it was computed (photo counts, probe shots).
    expected_hit_rate: Mapped[float | None]
    expected_hit_rate_signoff: Mapped[float | None]
    expected_hits_json: Mapped[str | None] = mapped_column(Text)
    watchlist_size_cap: Mapped[int]
    retention_profile: Mapped[str] = mapped_column(String(10))
    compiler_id: Mapped[str | None] = mapped_column(String(32))
    operator_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    # Authorising officers named on the deployment (besides its creator, authoriser,
    # countersigners and sign-off officer): who may see, edit and hold its records.
    officer_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    authoriser_id: Mapped[str | None] = mapped_column(String(32))
    authorised_at: Mapped[datetime | None]
    countersigns_json: Mapped[str] = mapped_column(Text, default="[]")
    public_notice_at: Mapped[datetime | None]
    no_notice_reason: Mapped[str | None] = mapped_column(Text)
    signage_json: Mapped[str] = mapped_column(Text, default="{}")
    eu_mode: Mapped[bool] = mapped_column(default=False)
    judicial_authorisation_id: Mapped[str | None] = mapped_column(String(200))
    # A.3: the authority's reference when it refused (the use then stops and is purged).
    judicial_refusal_ref: Mapped[str | None] = mapped_column(String(200))
    judicial_refused_at: Mapped[datetime | None]
    fria_ref: Mapped[str | None] = mapped_column(String(200))
    eu_database_id: Mapped[str | None] = mapped_column(String(200))
    art5_objective: Mapped[str | None] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    signed_off_by: Mapped[str | None] = mapped_column(String(32))
    signed_off_at: Mapped[datetime | None]
    watchlist_snapshot_hash: Mapped[str | None] = mapped_column(String(64))
    watchlist_destroyed_at: Mapped[datetime | None]
    faces_processed: Mapped[int] = mapped_column(default=0)
    frames_processed: Mapped[int] = mapped_column(default=0)
    frames_refused: Mapped[int] = mapped_column(default=0)

    entries: Mapped[list[WatchlistEntry]] = relationship(
        back_populates="deployment",
        cascade="all, delete-orphan",
        order_by="WatchlistEntry.added_at",
    )


class DataKey(Base):
    """A data key wrapped by the master key; deleting the row crypto-shreds what it sealed."""

    __tablename__ = "data_keys"
    deployment_id: Mapped[Key32]
    purpose: Mapped[str] = mapped_column(String(20), primary_key=True)  # "watchlist" | "alerts"
    wrapped: Mapped[bytes]
    created_at: Mapped[datetime]


class WatchlistEntry(Base):
    __tablename__ = "watchlist_entries"
    id: Mapped[Key32]
    deployment_id: Mapped[DeploymentRef]
    category: Mapped[str] = mapped_column(String(80))
    legal_basis: Mapped[str] = mapped_column(Text)
    source_system: Mapped[str] = mapped_column(String(200))
    image_captured_on: Mapped[date]
    quality_score: Mapped[float]
    flags_json: Mapped[str] = mapped_column(Text, default="[]")
    reason: Mapped[str] = mapped_column(Text)
    is_minor: Mapped[bool] = mapped_column(default=False)
    minor_justification: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime]
    template_digest: Mapped[str] = mapped_column(String(64))
    contract_id: Mapped[str] = mapped_column(String(200))
    subject_ref_enc: Mapped[bytes]
    template_enc: Mapped[bytes]
    image_enc: Mapped[bytes]

    deployment: Mapped[Deployment] = relationship(back_populates="entries")
    # Further photos of the same person (the entry row holds the first): custody images from
    # other occasions, combined into the entry's template when the watchlist is loaded.
    photos: Mapped[list[WatchlistEntryPhoto]] = relationship(
        back_populates="entry",
        cascade="all, delete-orphan",
        order_by="WatchlistEntryPhoto.added_at",
        passive_deletes=True,
    )


class WatchlistEntryPhoto(Base):
    """One further enrolment photo of an entry, sealed with the deployment's watchlist key."""

    __tablename__ = "watchlist_entry_photos"
    id: Mapped[Key32]
    entry_id: Mapped[str] = mapped_column(
        ForeignKey("watchlist_entries.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    image_captured_on: Mapped[date]
    quality_score: Mapped[float]
    flags_json: Mapped[str] = mapped_column(Text, default="[]")
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime]
    template_digest: Mapped[str] = mapped_column(String(64))
    template_enc: Mapped[bytes]
    image_enc: Mapped[bytes]

    entry: Mapped[WatchlistEntry] = relationship(back_populates="photos")


class WatchlistStub(Base):
    """What remains of an entry after destruction (B.8): no biometric, no name."""

    __tablename__ = "watchlist_stubs"
    entry_id: Mapped[Key32]
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    category: Mapped[str] = mapped_column(String(80))
    template_digest: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime]
    destroyed_at: Mapped[datetime]


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[Key32]
    deployment_id: Mapped[DeploymentRef]
    camera_id: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[str] = mapped_column(String(32), index=True)
    detected_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    score: Mapped[float]
    threshold: Mapped[float]
    contract_id: Mapped[str] = mapped_column(String(200))
    latency_ms: Mapped[float | None]
    source_ref: Mapped[str | None] = mapped_column(String(300))  # e.g. frame index in the source
    probe_enc: Mapped[bytes | None]
    scene_enc: Mapped[bytes | None]
    template_enc: Mapped[bytes | None]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    legal_hold_reason: Mapped[str | None] = mapped_column(Text)
    legal_hold_by: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20))
    true_match: Mapped[bool | None]
    engaged: Mapped[bool | None]
    engagement_s: Mapped[float | None]
    result: Mapped[str | None] = mapped_column(String(40))
    outcome_by: Mapped[str | None] = mapped_column(String(32))
    outcome_at: Mapped[datetime | None]

    reviews: Mapped[list[Review]] = relationship(
        back_populates="alert", cascade="all, delete-orphan", order_by="Review.id"
    )


class Review(Base):
    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]

    alert: Mapped[Alert] = relationship(back_populates="reviews")


class AuditRecord(Base):
    """One link of the hash chain. Canonical fields are stored as text so that no backend
    re-serialises them and changes the bytes the hash was computed over."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # "hmac-sha256": keyed with the audit key, which is never in the database; "sha256":
    # records written before the key existed (or with no key configured).
    alg: Mapped[str] = mapped_column(String(20), default="sha256")


class InstanceInfo(Base):
    """One row: this installation's id, which names its own key folder (its audit key), so two
    instances run by one user never share a key file."""

    __tablename__ = "instance_info"
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class AuditHead(Base):
    """The chain's latest seq and hash: makes truncation of the newest records detectable."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


class AuthGrant(Base):
    """A console session or API token, stored as the SHA-256 of the secret (never the secret),
    so sessions survive a restart and hold across server processes."""

    __tablename__ = "auth_grants"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "session" | "bearer"
    created_at: Mapped[float]  # epoch seconds
    expires_at: Mapped[float] = mapped_column(index=True)
    idle_s: Mapped[float] = mapped_column(default=0.0)
    last_seen: Mapped[float]
    must_change_password: Mapped[bool] = mapped_column(default=False)
