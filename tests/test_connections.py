"""The pool hands out no dead connections, without pinging on every checkout: a request whose
first statement finds its pooled connection dead is run again once, on a fresh one."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, event, text

from tests.databases import asyncpg_dsn
from tests.helpers import create_request
from tests.servers import next_open_day


async def drop_every_connection(database_url: str) -> int:
    """What a database restart does to every pooled connection."""
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return int(
            await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await admin.close()


# SQLite has no server that could drop a connection.
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_the_first_request_after_the_server_dropped_its_connections_succeeds(
    client: httpx.AsyncClient, app: FastAPI, database_url: str
) -> None:
    await create_request(client)  # the pool now holds a live connection
    async with app.state.sessionmaker() as session:
        own_pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert await drop_every_connection(database_url) >= 1

    await create_request(client)
    async with app.state.sessionmaker() as session:
        assert await session.scalar(text("SELECT pg_backend_pid()")) != own_pid


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_desk_read_after_the_server_dropped_its_connections_succeeds(
    client: httpx.AsyncClient, desk: dict[str, str], database_url: str
) -> None:
    appointment_id = await create_request(client)
    assert await drop_every_connection(database_url) >= 1

    listed = await client.get("/api/v1/appointments", headers=desk)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [appointment_id]


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_desk_reads_run_every_statement_outside_a_transaction(
    client: httpx.AsyncClient, app: FastAPI, desk: dict[str, str]
) -> None:
    """db.ReadsOnly comes before the router's credential check: the check's statements (the
    staff account) run in autocommit too, so a desk read makes no BEGIN and no COMMIT."""
    appointment_id = await create_request(client)
    levels: list[str | None] = []

    def record(connection: Connection, *_: object) -> None:
        levels.append(connection.get_execution_options().get("isolation_level"))

    engine = app.state.engine.sync_engine
    event.listen(engine, "after_cursor_execute", record)
    try:
        for path in (
            "/api/v1/appointments",
            f"/api/v1/appointments/{appointment_id}",
            f"/api/v1/appointments/{appointment_id}/events",
            f"/api/v1/schedule?date={next_open_day()}",
            "/fhir/r4/Appointment",
        ):
            levels.clear()
            response = await client.get(path, headers=desk)
            assert response.status_code == 200, response.text
            assert levels, path
            assert set(levels) == {"AUTOCOMMIT"}, path
    finally:
        event.remove(engine, "after_cursor_execute", record)
