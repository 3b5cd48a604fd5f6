"""security: stored sessions/tokens, keyed audit chain, deployment officers, countersigned
model approvals

Revision ID: 0003_security
Revises: 0002_recall_gov
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_security"
down_revision = "0002_recall_gov"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_grants",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("idle_s", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_auth_grants_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_auth_grants")),
    )
    with op.batch_alter_table("auth_grants", schema=None) as b:
        b.create_index(b.f("ix_auth_grants_expires_at"), ["expires_at"], unique=False)
        b.create_index(b.f("ix_auth_grants_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as b:
        b.add_column(
            sa.Column("alg", sa.String(length=20), nullable=False, server_default="sha256")
        )
    with op.batch_alter_table("deployments", schema=None) as b:
        b.add_column(sa.Column("officer_ids_json", sa.Text(), nullable=False, server_default="[]"))
    with op.batch_alter_table("model_approvals", schema=None) as b:
        b.add_column(sa.Column("report_digest", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("countersigned_by", sa.String(length=32), nullable=True))
        b.add_column(sa.Column("countersigned_at", sa.DateTime(timezone=True), nullable=True))
    # Approvals recorded before countersigning existed stay in force; the marker says why.
    op.execute(
        "UPDATE model_approvals SET countersigned_by = 'before-0002', "
        "countersigned_at = recorded_at WHERE countersigned_by IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("model_approvals", schema=None) as b:
        b.drop_column("countersigned_at")
        b.drop_column("countersigned_by")
        b.drop_column("report_digest")
    with op.batch_alter_table("deployments", schema=None) as b:
        b.drop_column("officer_ids_json")
    with op.batch_alter_table("audit_log", schema=None) as b:
        b.drop_column("alg")
    with op.batch_alter_table("auth_grants", schema=None) as b:
        b.drop_index(b.f("ix_auth_grants_user_id"))
        b.drop_index(b.f("ix_auth_grants_expires_at"))
    op.drop_table("auth_grants")
