"""controls (issue 22): judicial refusal, per-group rates, training, sealed equality records

Revision ID: 0007_controls
Revises: 0006_trust
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_controls"
down_revision = "0006_trust"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_approvals", schema=None) as b:
        b.add_column(sa.Column("per_group_json", sa.Text(), nullable=True))
    with op.batch_alter_table("deployments", schema=None) as b:
        b.add_column(sa.Column("judicial_refusal_ref", sa.String(length=200), nullable=True))
        b.add_column(sa.Column("judicial_refused_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("equality_records", schema=None) as b:
        b.add_column(sa.Column("group_enc", sa.LargeBinary(), nullable=True))
        b.alter_column("perceived_group", existing_type=sa.String(length=40), nullable=True)
    op.create_table(
        "training_records",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("course", sa.String(length=200), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_training_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_records")),
    )
    with op.batch_alter_table("training_records", schema=None) as b:
        b.create_index(b.f("ix_training_records_user_id"), ["user_id"], unique=False)
    op.create_table(
        "equality_tally",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("perceived_group", sa.String(length=40), nullable=False),
        sa.Column("false_alert", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "year", "perceived_group", "false_alert", "outcome", name=op.f("pk_equality_tally")
        ),
    )


def downgrade() -> None:
    op.drop_table("equality_tally")
    with op.batch_alter_table("training_records", schema=None) as b:
        b.drop_index(b.f("ix_training_records_user_id"))
    op.drop_table("training_records")
    with op.batch_alter_table("equality_records", schema=None) as b:
        b.alter_column("perceived_group", existing_type=sa.String(length=40), nullable=False)
        b.drop_column("group_enc")
    with op.batch_alter_table("deployments", schema=None) as b:
        b.drop_column("judicial_refused_at")
        b.drop_column("judicial_refusal_ref")
    with op.batch_alter_table("model_approvals", schema=None) as b:
        b.drop_column("per_group_json")
