"""Alembic environment wired to the app's metadata and settings.

``booking migrate`` (and the tests) hand over an open connection in
``config.attributes["connection"]``; a developer's plain ``alembic upgrade head`` connects with
the app's own engine factory, so both see the same SQLite pragmas and PostgreSQL driver.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import Connection

from alembic import context
from booking.config import load_settings
from booking.db import create_engine
from booking.models import metadata

config = context.config


def run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine() -> None:
    engine = create_engine(load_settings())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_with)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; use `booking migrate`")

given_connection = config.attributes.get("connection")
if given_connection is not None:
    run_with(given_connection)
else:
    asyncio.run(run_with_own_engine())
