"""API keys for machines, and the key a change was made with in the audit trail

Revision ID: 20261128_07
Revises: 20261128_06
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_07"
down_revision: str | None = "20261128_06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_accounts.id"],
            name=op.f("fk_api_keys_created_by_staff_accounts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_api_keys_secret_hash")),
    )
    # Plain ADD COLUMN (not batch mode, which would rebuild the table and drop SQLite's
    # append-only triggers): see 20261127_03.
    op.add_column("appointment_events", sa.Column("actor_api_key_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("appointment_events", "actor_api_key_id")
    op.drop_table("api_keys")
