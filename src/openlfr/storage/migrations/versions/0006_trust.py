"""trust: workers' Ed25519 public keys, refusals kept in the ingestion ledger, instance id,
who set a user's password and who granted and confirmed their roles

Revision ID: 0006_trust
Revises: 0005_distributed
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_trust"
down_revision = "0005_distributed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instance_info",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instance_info")),
    )
    with op.batch_alter_table("workers") as b:
        b.add_column(sa.Column("public_key", sa.String(64), nullable=True))
    # Existing accounts: passwords are taken as their holders' (no record says otherwise), but
    # their roles count for a two-person rule only once a second administrator confirms them.
    with op.batch_alter_table("users") as b:
        b.add_column(
            sa.Column("password_by_holder", sa.Boolean(), nullable=False, server_default="1")
        )
        b.add_column(sa.Column("roles_granted_by", sa.String(80), nullable=True))
        b.add_column(sa.Column("roles_confirmed_by", sa.String(80), nullable=True))
    op.execute("UPDATE users SET roles_granted_by = 'before-0006'")
    with op.batch_alter_table("ingested_events") as b:
        b.add_column(sa.Column("outcome", sa.String(60), nullable=False, server_default="recorded"))


def downgrade() -> None:
    op.drop_table("instance_info")
    with op.batch_alter_table("ingested_events") as b:
        b.drop_column("outcome")
    with op.batch_alter_table("workers") as b:
        b.drop_column("public_key")
    with op.batch_alter_table("users") as b:
        b.drop_column("roles_confirmed_by")
        b.drop_column("roles_granted_by")
        b.drop_column("password_by_holder")
