"""Alembic, driven from code: ``booking migrate``, ``booking serve`` and the tests use these.

Alembic is the only schema authority; nothing calls ``metadata.create_all``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from alembic import command
from booking.models import metadata


def alembic_directory() -> Path:
    packaged = Path(__file__).parent / "_alembic"  # inside an installed wheel
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "alembic"  # a source checkout
    if source.is_dir():
        return source
    raise RuntimeError("the alembic migrations directory is missing from this installation")


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(alembic_directory()))
    return config


def _run(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_run, "downgrade", revision)


@functools.cache
def head_revisions() -> frozenset[str]:
    """Read once per process: the migration files do not change under a running service, and
    /readyz asks on every probe."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    def read(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def pending_migrations(engine: AsyncEngine) -> bool:
    return await current_revisions(engine) != head_revisions()


async def schema_differences(engine: AsyncEngine) -> list[Any]:
    """What the models have that the migrated database lacks, or the other way round."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(compare)
