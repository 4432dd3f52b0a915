"""desk sessions: server-side records, so that sign-out and deactivation end them

Revision ID: 20261128_01
Revises: 20261127_04
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_01"
down_revision: str | None = "20261127_04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("staff_id", sa.Uuid(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_desk_sessions_staff_id_staff_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sessions")),
    )
    op.create_index(op.f("ix_desk_sessions_staff_id"), "desk_sessions", ["staff_id"])
    op.create_index(op.f("ix_desk_sessions_expires_at"), "desk_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_desk_sessions_expires_at"), table_name="desk_sessions")
    op.drop_index(op.f("ix_desk_sessions_staff_id"), table_name="desk_sessions")
    op.drop_table("desk_sessions")
