"""walk-by rates by self-declared group (issue 18 item 2): a sealed, optional declaration

Revision ID: 0008_walkby_groups
Revises: 0007_controls
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_walkby_groups"
down_revision = "0007_controls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("test_subjects", schema=None) as b:
        b.add_column(sa.Column("groups_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("test_subjects", schema=None) as b:
        b.drop_column("groups_enc")
