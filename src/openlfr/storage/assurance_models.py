"""Tables of assurance while a deployment runs: the test list and walk-bys, the false-alert
monitor, equality records (C.12) and the controller-profile facts (H.23).

Kept apart from the core tables on purpose: test subjects and test alerts can never be joined
into operational counts by accident, and perceived-group records live in their own table that
holds no image, template or name.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openlfr.storage.models import Base, DeploymentRef, Key32


class DeploymentAssurance(Base):
    """Per-deployment assurance settings (fixed at authorisation) and live state."""

    __tablename__ = "deployment_assurance"
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id"), primary_key=True)
    min_walkby_tpir: Mapped[float | None]
    threat_ref: Mapped[str | None] = mapped_column(Text)
    art9_condition: Mapped[str | None] = mapped_column(Text)
    retention_schedule_url: Mapped[str | None] = mapped_column(String(500))
    walkby_flagged: Mapped[bool] = mapped_column(default=False)
    walkby_ack_by: Mapped[str | None] = mapped_column(String(32))
    walkby_ack_at: Mapped[datetime | None]
    walkby_ack_reason: Mapped[str | None] = mapped_column(Text)
    monitor_state: Mapped[str] = mapped_column(String(20), default="active")
    monitor_p0: Mapped[float | None]
    monitor_base_faces: Mapped[int] = mapped_column(default=0)
    monitor_base_false: Mapped[int] = mapped_column(default=0)
    # Matches while alerts were paused or flagged: a count only, nothing about the person.
    suppressed_matches: Mapped[int] = mapped_column(default=0)


class TestSubject(Base):
    """A consenting member of staff on a deployment's test list ("blue list")."""

    __test__ = False  # not a pytest class
    __tablename__ = "test_subjects"
    id: Mapped[Key32]
    deployment_id: Mapped[DeploymentRef]
    consent_ref: Mapped[str] = mapped_column(String(200))
    consented_on: Mapped[date]
    contract_id: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime]
    subject_ref_enc: Mapped[bytes]
    template_enc: Mapped[bytes]
    # The subject's own answer to "sex" and "ethnic group", if they chose to give one (sealed
    # with the test list's key, shredded with it).
    groups_enc: Mapped[bytes | None]


class WalkbyRun(Base):
    __tablename__ = "walkby_runs"
    id: Mapped[Key32]
    deployment_id: Mapped[DeploymentRef]
    camera_id: Mapped[str] = mapped_column(String(200))
    run_by: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    threshold: Mapped[float]
    min_tpir: Mapped[float | None]
    walked: Mapped[int]
    alerted: Mapped[int]
    tpir: Mapped[float]
    tpir_lower: Mapped[float]
    tpir_upper: Mapped[float]
    below_level: Mapped[bool]
    result_json: Mapped[str] = mapped_column(Text)


class TestAlert(Base):
    """An alert on a test subject: marked as a test by living here, never an operational alert.
    No crop or scene is kept; the score, latency and camera are what the walk-by measures."""

    __test__ = False  # not a pytest class
    __tablename__ = "test_alerts"
    id: Mapped[Key32]
    run_id: Mapped[str] = mapped_column(ForeignKey("walkby_runs.id"), index=True)
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    subject_id: Mapped[str] = mapped_column(String(32))
    camera_id: Mapped[str] = mapped_column(String(200))
    score: Mapped[float]
    latency_ms: Mapped[float | None]
    detected_at: Mapped[datetime]


class MonitorEvent(Base):
    """Each pause and each officer decision of the false-alert monitor (published)."""

    __tablename__ = "monitor_events"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    deployment_id: Mapped[DeploymentRef]
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(40))
    by: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    threshold_before: Mapped[float | None]
    threshold_after: Mapped[float | None]
    reading_json: Mapped[str] = mapped_column(Text)


class EqualityRecord(Base):
    """An operator's optional perceived-group record, made after review (C.12): special-category
    data, so the group is sealed with the deployment's alerts key (`group_enc`) and the row is
    deleted with its alert, leaving only a count in `EqualityTally` (issue 22).
    `perceived_group` is set only on rows written before issue 22 (read, never written)."""

    __tablename__ = "equality_records"
    alert_id: Mapped[Key32]
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    year: Mapped[int] = mapped_column(index=True)
    perceived_group: Mapped[str | None] = mapped_column(String(40))
    group_enc: Mapped[bytes | None]
    false_alert: Mapped[bool]
    outcome: Mapped[str | None] = mapped_column(String(40))
    recorded_by: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime]


class EntryProfileFacts(Base):
    """Profile facts of a watchlist entry: venue evidence, sharing agreement, BIPA consent."""

    __tablename__ = "entry_profile_facts"
    entry_id: Mapped[Key32]
    deployment_id: Mapped[str] = mapped_column(String(32), index=True)
    venue_incident_ref: Mapped[str | None] = mapped_column(String(200))
    source_organisation: Mapped[str | None] = mapped_column(String(200))
    sharing_agreement_ref: Mapped[str | None] = mapped_column(String(200))
    written_notice_on: Mapped[date | None]
    written_release_ref: Mapped[str | None] = mapped_column(String(200))
