"""assurance: test walk-by, monitor, equality, profiles

Revision ID: 0004_assurance
Revises: 0003_security
Create Date: 2026-12-01 18:29:59.558449
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004_assurance"
down_revision = "0003_security"
branch_labels = None
depends_on = None


def _create_deployment_table(name: str, key: sa.Column[Any], *columns: sa.Column[Any]) -> None:
    """A table of one deployment's rows: primary `key`, then `deployment_id` (a foreign key to
    deployments, indexed), then `columns`. Defined here, not shared: a migration that has run
    must not change when shared code does."""
    op.create_table(
        name,
        key,
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name=op.f(f"fk_{name}_deployment_id_deployments")
        ),
        sa.PrimaryKeyConstraint(key.name, name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_deployment_id"), name, ["deployment_id"], unique=False)


def _drop_deployment_table(name: str) -> None:
    op.drop_index(op.f(f"ix_{name}_deployment_id"), table_name=name)
    op.drop_table(name)


def upgrade() -> None:

    op.create_table(
        "entry_profile_facts",
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("venue_incident_ref", sa.String(length=200), nullable=True),
        sa.Column("source_organisation", sa.String(length=200), nullable=True),
        sa.Column("sharing_agreement_ref", sa.String(length=200), nullable=True),
        sa.Column("written_notice_on", sa.Date(), nullable=True),
        sa.Column("written_release_ref", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_entry_profile_facts")),
    )
    with op.batch_alter_table("entry_profile_facts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entry_profile_facts_deployment_id"), ["deployment_id"], unique=False
        )

    op.create_table(
        "equality_records",
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("perceived_group", sa.String(length=40), nullable=False),
        sa.Column("false_alert", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_equality_records")),
    )
    with op.batch_alter_table("equality_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_equality_records_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_equality_records_year"), ["year"], unique=False)

    op.create_table(
        "deployment_assurance",
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("min_walkby_tpir", sa.Float(), nullable=True),
        sa.Column("threat_ref", sa.Text(), nullable=True),
        sa.Column("art9_condition", sa.Text(), nullable=True),
        sa.Column("retention_schedule_url", sa.String(length=500), nullable=True),
        sa.Column("walkby_flagged", sa.Boolean(), nullable=False),
        sa.Column("walkby_ack_by", sa.String(length=32), nullable=True),
        sa.Column("walkby_ack_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("walkby_ack_reason", sa.Text(), nullable=True),
        sa.Column("monitor_state", sa.String(length=20), nullable=False),
        sa.Column("monitor_p0", sa.Float(), nullable=True),
        sa.Column("monitor_base_faces", sa.Integer(), nullable=False),
        sa.Column("monitor_base_false", sa.Integer(), nullable=False),
        sa.Column("suppressed_matches", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_assurance_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("deployment_id", name=op.f("pk_deployment_assurance")),
    )

    _create_deployment_table(
        "monitor_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("by", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("threshold_before", sa.Float(), nullable=True),
        sa.Column("threshold_after", sa.Float(), nullable=True),
        sa.Column("reading_json", sa.Text(), nullable=False),
    )

    _create_deployment_table(
        "test_subjects",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("consent_ref", sa.String(length=200), nullable=False),
        sa.Column("consented_on", sa.Date(), nullable=False),
        sa.Column("contract_id", sa.String(length=200), nullable=False),
        sa.Column("added_by", sa.String(length=32), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_ref_enc", sa.LargeBinary(), nullable=False),
        sa.Column("template_enc", sa.LargeBinary(), nullable=False),
    )

    _create_deployment_table(
        "walkby_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=200), nullable=False),
        sa.Column("run_by", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("min_tpir", sa.Float(), nullable=True),
        sa.Column("walked", sa.Integer(), nullable=False),
        sa.Column("alerted", sa.Integer(), nullable=False),
        sa.Column("tpir", sa.Float(), nullable=False),
        sa.Column("tpir_lower", sa.Float(), nullable=False),
        sa.Column("tpir_upper", sa.Float(), nullable=False),
        sa.Column("below_level", sa.Boolean(), nullable=False),
        sa.Column("result_json", sa.Text(), nullable=False),
    )

    op.create_table(
        "test_alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["walkby_runs.id"], name=op.f("fk_test_alerts_run_id_walkby_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_alerts")),
    )
    with op.batch_alter_table("test_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_test_alerts_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_test_alerts_run_id"), ["run_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("test_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_test_alerts_run_id"))
        batch_op.drop_index(batch_op.f("ix_test_alerts_deployment_id"))

    op.drop_table("test_alerts")
    _drop_deployment_table("walkby_runs")
    _drop_deployment_table("test_subjects")
    _drop_deployment_table("monitor_events")
    op.drop_table("deployment_assurance")
    with op.batch_alter_table("equality_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_equality_records_year"))
        batch_op.drop_index(batch_op.f("ix_equality_records_deployment_id"))

    op.drop_table("equality_records")
    with op.batch_alter_table("entry_profile_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_profile_facts_deployment_id"))

    op.drop_table("entry_profile_facts")
