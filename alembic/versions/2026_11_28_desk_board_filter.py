"""desk sessions keep the board's filter: filters are POSTed, then the board is a plain GET

Revision ID: 20261128_04
Revises: 20261128_03
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_04"
down_revision: str | None = "20261128_03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("desk_sessions") as batch:
        batch.add_column(sa.Column("board_filter", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("desk_sessions") as batch:
        batch.drop_column("board_filter")
