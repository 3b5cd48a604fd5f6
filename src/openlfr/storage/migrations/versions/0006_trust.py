"""trust: workers' Ed25519 public keys, refusals kept in the ingestion ledger

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
    with op.batch_alter_table("workers") as b:
        b.add_column(sa.Column("public_key", sa.String(64), nullable=True))
    with op.batch_alter_table("ingested_events") as b:
        b.add_column(sa.Column("outcome", sa.String(60), nullable=False, server_default="recorded"))


def downgrade() -> None:
    with op.batch_alter_table("ingested_events") as b:
        b.drop_column("outcome")
    with op.batch_alter_table("workers") as b:
        b.drop_column("public_key")
