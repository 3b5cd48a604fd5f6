"""recall-gov: further photos per watchlist entry; expected hit rates on deployments

Revision ID: 0002_recall_gov
Revises: 0001
Create Date: 2026-12-01 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_recall_gov"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watchlist_entry_photos",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("entry_id", sa.String(length=32), nullable=False),
        sa.Column("deployment_id", sa.String(length=32), nullable=False),
        sa.Column("image_captured_on", sa.Date(), nullable=False),
        sa.Column("quality_score", sa.Float(), nullable=False),
        sa.Column("flags_json", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=32), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("template_digest", sa.String(length=64), nullable=False),
        sa.Column("template_enc", sa.LargeBinary(), nullable=False),
        sa.Column("image_enc", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["watchlist_entries.id"],
            name=op.f("fk_watchlist_entry_photos_entry_id_watchlist_entries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_entry_photos")),
    )
    with op.batch_alter_table("watchlist_entry_photos", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_watchlist_entry_photos_entry_id"), ["entry_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_watchlist_entry_photos_deployment_id"), ["deployment_id"], unique=False
        )
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expected_hit_rate", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("expected_hit_rate_signoff", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("expected_hits_json", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments", schema=None) as batch_op:
        batch_op.drop_column("expected_hits_json")
        batch_op.drop_column("expected_hit_rate_signoff")
        batch_op.drop_column("expected_hit_rate")
    with op.batch_alter_table("watchlist_entry_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watchlist_entry_photos_deployment_id"))
        batch_op.drop_index(batch_op.f("ix_watchlist_entry_photos_entry_id"))
    op.drop_table("watchlist_entry_photos")
