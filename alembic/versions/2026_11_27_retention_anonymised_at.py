"""retention: when a closed request was anonymised

Revision ID: 20261127_04
Revises: 20261127_03
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261127_04"
down_revision: str | None = "20261127_03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (not batch mode): see 20261127_03.
    op.add_column("appointments", sa.Column("anonymised_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("appointments", "anonymised_at")
