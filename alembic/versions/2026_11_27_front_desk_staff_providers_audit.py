"""front desk: staff, providers, visit times, audit trail, no overlapping visits

Revision ID: 20261127_02
Revises: 20261127_01
Create Date: 2026-11-27

No two confirmed visits of one provider may overlap. The database guarantees it: on PostgreSQL an
exclusion constraint over half-open ranges [start, end) (btree_gist for the provider equality),
on SQLite triggers (SQLite writers are serialized, so the check inside the trigger is exact).
Careful: a later `batch_alter_table("appointments")` on SQLite recreates the table and drops
these triggers; such a migration must create them again.

The audit trail is append-only: both databases refuse an UPDATE of appointment_events (rows may
still be deleted, by retention purges).
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa

from alembic import op

revision: str = "20261127_02"
down_revision: str | None = "20261127_01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_PROVIDER_ID = UUID("00000000-0000-4000-8000-000000000001")

SQLITE_OVERLAP_CHECK = """
    SELECT RAISE(ABORT, 'no_overlapping_visits')
    WHERE EXISTS (
        SELECT 1 FROM appointments AS other
        WHERE other.provider_id = NEW.provider_id
          AND other.status = 'confirmed'
          AND other.id <> NEW.id
          AND other.start_at < NEW.end_at
          AND other.end_at > NEW.start_at
    );
"""


def upgrade() -> None:
    providers = op.create_table(
        "providers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_providers")),
    )
    op.bulk_insert(
        providers,
        [
            {
                "id": DEFAULT_PROVIDER_ID,
                "name": "Practice",
                "is_active": True,
                "created_at": datetime(2026, 11, 27, tzinfo=UTC),
            }
        ],
    )
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'front_desk')", name=op.f("ck_staff_accounts_role_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_accounts_email")),
    )

    with op.batch_alter_table("appointments") as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("start_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("end_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f("ix_appointments_created_at"))
        batch_op.create_index("ix_appointments_created", ["created_at", "id"])
        batch_op.create_index("ix_appointments_provider_time", ["provider_id", "start_at"])
        batch_op.create_index("ix_appointments_schedule", ["status", "start_at", "id"])
        batch_op.create_index("ix_appointments_triage", ["status", "is_urgent", "created_at", "id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_appointments_provider_id_providers"),
            "providers",
            ["provider_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            "time_range", "(start_at IS NULL AND end_at IS NULL) OR (end_at > start_at)"
        )
        batch_op.create_check_constraint(
            "scheduled_has_time",
            "status NOT IN ('confirmed', 'completed', 'no_show') "
            "OR (start_at IS NOT NULL AND provider_id IS NOT NULL)",
        )

    op.create_table(
        "appointment_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("actor_staff_id", sa.Uuid(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "source IN ('api', 'web', 'patient', 'system')",
            name=op.f("ck_appointment_events_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_staff_id"],
            ["staff_accounts.id"],
            name=op.f("fk_appointment_events_actor_staff_id_staff_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_appointment_events_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_events")),
        sa.UniqueConstraint(
            "appointment_id", "version", name=op.f("uq_appointment_events_appointment_id_version")
        ),
    )

    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_no_overlapping_visits "
            "EXCLUDE USING gist (provider_id WITH =, tstzrange(start_at, end_at, '[)') WITH &&) "
            "WHERE (status = 'confirmed')"
        )
        op.execute(
            "CREATE FUNCTION appointment_events_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'appointment_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER tr_appointment_events_append_only BEFORE UPDATE ON appointment_events "
            "FOR EACH ROW EXECUTE FUNCTION appointment_events_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER tr_appointments_no_overlapping_visits_insert "
            "BEFORE INSERT ON appointments WHEN NEW.status = 'confirmed' "
            f"BEGIN {SQLITE_OVERLAP_CHECK} END"
        )
        op.execute(
            "CREATE TRIGGER tr_appointments_no_overlapping_visits_update "
            "BEFORE UPDATE OF status, start_at, end_at, provider_id ON appointments "
            f"WHEN NEW.status = 'confirmed' BEGIN {SQLITE_OVERLAP_CHECK} END"
        )
        op.execute(
            "CREATE TRIGGER tr_appointment_events_append_only "
            "BEFORE UPDATE ON appointment_events "
            "BEGIN SELECT RAISE(ABORT, 'appointment_events is append-only'); END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER tr_appointment_events_append_only ON appointment_events")
        op.execute("DROP FUNCTION appointment_events_append_only()")
        op.execute("ALTER TABLE appointments DROP CONSTRAINT ex_appointments_no_overlapping_visits")
    else:
        op.execute("DROP TRIGGER tr_appointment_events_append_only")
        op.execute("DROP TRIGGER tr_appointments_no_overlapping_visits_update")
        op.execute("DROP TRIGGER tr_appointments_no_overlapping_visits_insert")

    op.drop_table("appointment_events")
    with op.batch_alter_table("appointments") as batch_op:
        batch_op.drop_constraint("scheduled_has_time", type_="check")
        batch_op.drop_constraint("time_range", type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_appointments_provider_id_providers"), type_="foreignkey"
        )
        batch_op.drop_index("ix_appointments_triage")
        batch_op.drop_index("ix_appointments_schedule")
        batch_op.drop_index("ix_appointments_provider_time")
        batch_op.drop_index("ix_appointments_created")
        batch_op.create_index(batch_op.f("ix_appointments_created_at"), ["created_at"])
        batch_op.drop_column("end_at")
        batch_op.drop_column("start_at")
        batch_op.drop_column("provider_id")
    op.drop_table("staff_accounts")
    op.drop_table("providers")
