"""jobs: the status expired, a request's last preferred day, reminders and digests done

Revision ID: 20261128_05
Revises: 20261128_04
Create Date: 2026-11-28

The status list of ``ck_appointments_status_known`` gains 'expired'. On SQLite a constraint
cannot be altered, and recreating ``appointments`` (batch mode) would drop its triggers and,
with foreign keys on, cascade-delete every audit event while the old table is dropped. Adding a
value to an IN list changes nothing stored, so the table's SQL is edited in place instead
(PRAGMA writable_schema, then a new schema_version so that every connection reads it again), as
SQLite's documentation describes for such changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "20261128_05"
down_revision: str | None = "20261128_04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'requested', 'confirmed', 'completed', 'no_show', 'declined', 'cancelled'"
NEW_STATUSES = OLD_STATUSES + ", 'expired'"
WAITING = sa.text("status = 'requested'")


def _status_list(old: str, new: str) -> None:
    if op.get_context().dialect.name == "postgresql":
        name = op.f("ck_appointments_status_known")
        op.drop_constraint(name, "appointments", type_="check")
        op.create_check_constraint(name, "appointments", f"status IN ({new})")
        return
    connection = op.get_bind()
    version = connection.exec_driver_sql("PRAGMA schema_version").scalar_one()
    connection.exec_driver_sql("PRAGMA writable_schema=ON")
    changed = connection.execute(
        sa.text(
            "UPDATE sqlite_master SET sql = replace(sql, :old, :new) "
            "WHERE type = 'table' AND name = 'appointments' AND instr(sql, :old) > 0"
        ),
        {"old": f"CHECK (status IN ({old}))", "new": f"CHECK (status IN ({new}))"},
    ).rowcount
    connection.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    connection.exec_driver_sql("PRAGMA writable_schema=OFF")
    if changed != 1:
        raise RuntimeError("ck_appointments_status_known is not as 20261127_01 wrote it")


def upgrade() -> None:
    _status_list(OLD_STATUSES, NEW_STATUSES)
    # Plain ADD COLUMN (not batch mode): see 20261127_03.
    op.add_column("appointments", sa.Column("last_preferred_date", sa.Date()))
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "UPDATE appointments SET last_preferred_date = (SELECT max((w ->> 'date')::date) "
            "FROM json_array_elements(preferred_windows) AS w)"
        )
    else:
        op.execute(
            "UPDATE appointments SET last_preferred_date = (SELECT max(json_extract(value, "
            "'$.date')) FROM json_each(preferred_windows))"
        )
    op.create_index(
        "ix_appointments_waiting_since",
        "appointments",
        ["created_at"],
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )
    op.create_index(
        "ix_appointments_waiting_until",
        "appointments",
        ["last_preferred_date"],
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )
    op.create_index(
        "ix_appointments_expired_since",
        "appointments",
        ["updated_at"],
        postgresql_where=sa.text("status = 'expired'"),
        sqlite_where=sa.text("status = 'expired'"),
    )
    op.create_table(
        "visit_reminders",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_visit_reminders_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "appointment_id", "hours", "start_at", name=op.f("pk_visit_reminders")
        ),
    )
    op.create_table(
        "desk_digests",
        sa.Column("digest_date", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("digest_date", name=op.f("pk_desk_digests")),
    )


def downgrade() -> None:
    op.drop_table("desk_digests")
    op.drop_table("visit_reminders")
    op.drop_index("ix_appointments_expired_since", table_name="appointments")
    op.drop_index("ix_appointments_waiting_until", table_name="appointments")
    op.drop_index("ix_appointments_waiting_since", table_name="appointments")
    op.drop_column("appointments", "last_preferred_date")
    # Nothing can be 'expired' before this revision: such requests read as cancelled.
    op.execute("UPDATE appointments SET status = 'cancelled' WHERE status = 'expired'")
    _status_list(NEW_STATUSES, OLD_STATUSES)
