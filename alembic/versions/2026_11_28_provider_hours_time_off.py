"""providers: a weekly template of working hours, and dated time off

Revision ID: 20261128_03
Revises: 20261128_02
Create Date: 2026-11-28

A provider without template rows works the practice's BOOKING_OPENING_HOURS on its
BOOKING_OPEN_WEEKDAYS; nothing is copied into the table, so changing those settings still moves
everyone who has no template of their own.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_03"
down_revision: str | None = "20261128_02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_working_hours",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.CheckConstraint(
            "weekday BETWEEN 0 AND 6", name=op.f("ck_provider_working_hours_weekday_known")
        ),
        sa.CheckConstraint(
            "end_time > start_time", name=op.f("ck_provider_working_hours_time_range")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_working_hours_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_working_hours")),
    )
    op.create_index(
        "ix_provider_working_hours_provider",
        "provider_working_hours",
        ["provider_id", "weekday", "start_time"],
    )
    op.create_table(
        "provider_time_off",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_provider_time_off_time_range")),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["providers.id"],
            name=op.f("fk_provider_time_off_provider_id_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_time_off")),
    )
    op.create_index("ix_provider_time_off_provider", "provider_time_off", ["provider_id", "end_at"])


def downgrade() -> None:
    op.drop_index("ix_provider_time_off_provider", table_name="provider_time_off")
    op.drop_table("provider_time_off")
    op.drop_index("ix_provider_working_hours_provider", table_name="provider_working_hours")
    op.drop_table("provider_working_hours")
