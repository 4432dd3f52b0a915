"""Alembic is the schema authority: upgrade from empty, agree with the models, go down and up."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from booking import migrations
from booking.db import create_engine
from tests.databases import ensure_database, postgres_database_url
from tests.settings import make_settings


@pytest.fixture
def empty_database_url(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) without PostgreSQL
    url = postgres_database_url("migrations")
    asyncio.run(ensure_database(url, fresh=True))
    yield url


async def table_names(engine: object) -> set[str]:
    async with engine.connect() as connection:  # type: ignore[attr-defined]
        return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))


async def test_upgrade_check_downgrade_upgrade(empty_database_url: str) -> None:
    engine = create_engine(make_settings(empty_database_url))
    try:
        assert await migrations.pending_migrations(engine)

        await migrations.upgrade(engine)
        assert not await migrations.pending_migrations(engine)
        assert {"appointments", "idempotency_keys"} <= await table_names(engine)
        assert await migrations.schema_differences(engine) == []

        await migrations.downgrade(engine, "base")
        assert await table_names(engine) <= {"alembic_version"}

        await migrations.upgrade(engine)
        assert await migrations.schema_differences(engine) == []
    finally:
        await engine.dispose()


def test_migration_files_are_named_by_date_and_slug() -> None:
    versions = Path(migrations.alembic_directory()) / "versions"
    names = [path.name for path in versions.glob("*.py")]
    assert names
    for name in names:
        assert name[:11].replace("_", "").isdigit(), name
