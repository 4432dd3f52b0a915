"""The pool hands out no dead connections, without pinging on every checkout."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import _asyncpg_dsn
from tests.helpers import create_request


# SQLite has no server that could drop a connection.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_the_first_request_after_the_server_dropped_its_connections_succeeds(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    await create_request(client)  # the pool now holds a live connection
    async with app.state.sessionmaker() as session:
        own_pid = await session.scalar(text("SELECT pg_backend_pid()"))
    # What a database restart does to every pooled connection.
    admin = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        dropped = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert dropped >= 1

    await create_request(client)
    async with app.state.sessionmaker() as session:
        assert await session.scalar(text("SELECT pg_backend_pid()")) != own_pid
