"""appointments: an index of the urgent requests by age, for the unfiltered triage list

The desk list's default order (urgent first, then oldest first) reads two index-ordered
segments. With a status filter both walk ix_appointments_triage; without one, the urgent
segment walked ix_appointments_created and passed over every request that is not urgent to
find the few that are: 35 ms at 52,000 requests, growing with the table. Urgent requests are
few, so this partial index is small and makes that segment a range scan again.

Revision ID: 20261128_08
Revises: 20261128_07
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_08"
down_revision: str | None = "20261128_07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each database's own spelling of the list's condition (SQLite compares to 1), so that
    # each planner sees the query's condition implies the index's.
    op.create_index(
        "ix_appointments_urgent_created",
        "appointments",
        ["created_at", "id"],
        postgresql_where=sa.text("is_urgent"),
        sqlite_where=sa.text("is_urgent = 1"),
    )


def downgrade() -> None:
    op.drop_index("ix_appointments_urgent_created", table_name="appointments")
