"""the waitlist: earlier_if_possible, a patient's move request, and offers of freed times

Revision ID: 20261128_06
Revises: 20261128_05
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_06"
down_revision: str | None = "20261128_05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (not batch mode, which would rebuild the table and drop SQLite's
    # no-overlap triggers): see 20261127_03.
    op.add_column(
        "appointments",
        sa.Column("earlier_if_possible", sa.Boolean(), server_default="0", nullable=False),
    )
    op.add_column(
        "appointments", sa.Column("move_requested_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("slot_appointment_id", sa.Uuid(), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'taken', 'withdrawn', 'expired')",
            name=op.f("ck_offers_status_known"),
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_offers_time_range")),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_offers_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["slot_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_offers_slot_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"], ["providers.id"], name=op.f("fk_offers_provider_id_providers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_offers_token_hash")),
        sa.UniqueConstraint(
            "slot_appointment_id", "appointment_id", name="uq_offers_once_per_slot"
        ),
    )
    op.create_index("ix_offers_appointment_id", "offers", ["appointment_id"])
    op.create_index("ix_offers_due", "offers", ["status", "expires_at"])
    op.create_index("ix_offers_slot", "offers", ["slot_appointment_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_offers_slot", table_name="offers")
    op.drop_index("ix_offers_due", table_name="offers")
    op.drop_index("ix_offers_appointment_id", table_name="offers")
    op.drop_table("offers")
    op.drop_column("appointments", "move_requested_at")
    op.drop_column("appointments", "earlier_if_possible")
