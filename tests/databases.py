"""Test databases: the PostgreSQL server the suite may wipe, and building, emptying and
creating databases on it. Used by tests/conftest.py, by tests that need a database of their
own, and by the scripts in bench/."""

from __future__ import annotations

import os

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from booking import migrations
from booking.db import create_engine
from booking.models import metadata
from booking.providers.models import DEFAULT_PROVIDER_ID
from tests.settings import make_settings

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/booking_test"
POSTGRES_URL = os.environ.get("BOOKING_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a DSN asyncpg itself takes (no driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str, *, fresh: bool) -> None:
    """Create the database when missing (or drop it first, with ``fresh``)."""
    target = make_url(url)
    admin = asyncpg_dsn(str(target.set(database="postgres")))
    connection = await asyncpg.connect(admin, timeout=5)
    try:
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", target.database
        )
        if exists and fresh:
            await connection.execute(f'DROP DATABASE "{target.database}" WITH (FORCE)')
            exists = False
        if not exists:
            await connection.execute(f'CREATE DATABASE "{target.database}"')
    finally:
        await connection.close()


def postgres_database_url(suffix: str = "") -> str:
    """A URL on the test server; with a suffix, a database of its own (created fresh)."""
    url = make_url(POSTGRES_URL)
    if suffix:
        url = url.set(database=f"{url.database}_{suffix}")
    return url.render_as_string(hide_password=False)


async def migrate(url: str) -> None:
    """Build the schema the way production does: the migrations, up to head."""
    engine = create_engine(make_settings(url))
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


async def empty_tables(url: str) -> None:
    """Back to a just-migrated database, without migrating again."""
    engine = create_engine(make_settings(url))
    try:
        async with engine.begin() as connection:
            # Providers keep the one the migration creates, as a new database has it.
            names = ", ".join(
                f'"{table.name}"' for table in metadata.sorted_tables if table.name != "providers"
            )
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            await connection.execute(
                text("DELETE FROM providers WHERE id <> :default"),
                {"default": DEFAULT_PROVIDER_ID},
            )
    finally:
        await engine.dispose()
