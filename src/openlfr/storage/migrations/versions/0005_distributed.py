"""distributed: edge workers, their assignments, and ingested broker events

Revision ID: 0005_distributed
Revises: 0004_assurance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_distributed"
down_revision = "0004_assurance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("token_digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(80), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("down_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
        sa.UniqueConstraint("name", name=op.f("uq_workers_name")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_workers_token_digest")),
    )
    op.create_table(
        "worker_assignments",
        sa.Column("worker_id", sa.String(32), nullable=False),
        sa.Column("deployment_id", sa.String(32), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["workers.id"], name=op.f("fk_worker_assignments_worker_id_workers")
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_worker_assignments_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("worker_id", "deployment_id", name=op.f("pk_worker_assignments")),
    )
    op.create_table(
        "ingested_events",
        sa.Column("msg_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("deployment_id", sa.String(32), nullable=False),
        sa.Column("worker_id", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(100), nullable=True),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_ingested_events")),
    )
    op.create_index(op.f("ix_ingested_events_deployment_id"), "ingested_events", ["deployment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ingested_events_deployment_id"), table_name="ingested_events")
    op.drop_table("ingested_events")
    op.drop_table("worker_assignments")
    op.drop_table("workers")
