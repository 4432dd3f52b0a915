"""outbox: a keyed hash of the recipient of request-received emails, for the per-address cap

Revision ID: 20261128_02
Revises: 20261128_01
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_02"
down_revision: str | None = "20261128_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (not batch mode): see 20261127_03. Existing rows keep NULL: they only
    # stop counting towards the cap, which looks back 24 hours anyway.
    op.add_column("outbox_messages", sa.Column("recipient_hash", sa.String(length=64)))
    op.create_index(
        "ix_outbox_messages_recipient_recent",
        "outbox_messages",
        ["recipient_hash", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_messages_recipient_recent", table_name="outbox_messages")
    op.drop_column("outbox_messages", "recipient_hash")
