"""Engine and session factories, the naming convention, and the request's session dependency.

SQLite is the zero-setup database: WAL, a busy timeout, and every transaction opened with
``BEGIN IMMEDIATE`` so that two writers queue for the lock instead of failing with "database is
locked" half-way. In one process the pool holds a single connection: requests queue for it in
asyncio (cheap), rather than in SQLite's sleep-and-retry busy handler (p99 in seconds). The
consequence to remember: on SQLite, code must never hold two sessions with open transactions at
once (finish or roll back one before using the next).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from booking.config import Settings

# aiosqlite logs every statement with its parameters at DEBUG: patient data. Never below INFO.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware values only")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def _prepare_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


# JSON columns (preferred windows, symptoms, payloads) read and written with orjson: the
# standard library's json was about 4 % of the desk list's profile (docs/performance.md).
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": orjson.loads}


def create_engine(settings: Settings, *, pool_size: int = 10) -> AsyncEngine:
    """Parameters are never rendered into error messages or logs: they hold patient data."""
    url = settings.async_database_url
    if settings.is_sqlite:
        engine = create_async_engine(
            url, pool_size=1, max_overflow=0, pool_timeout=60, hide_parameters=True, **JSON_CODEC
        )
        _prepare_sqlite(engine)
        return engine
    engine = create_async_engine(
        url,
        # Requests beyond the pool wait for a connection (cheap, in asyncio) instead of opening
        # and closing overflow connections under load (a TLS-less connect still costs ~1 ms).
        pool_size=pool_size,
        max_overflow=0,
        # No pre-ping (three round trips on asyncpg: BEGIN, a ping, ROLLBACK, on every checkout).
        # A connection the server dropped is found by the first statement that uses it; the
        # request is then run again once (see ConnectionLostBeforeWork), and the whole pool is
        # replaced, so the first request after a restart still succeeds.
        pool_pre_ping=False,
        pool_recycle=1800,
        pool_timeout=30,
        hide_parameters=True,  # error messages must not quote patient data
        **JSON_CODEC,
    )
    _watch_for_lost_connections(engine)
    return engine


class ConnectionLostBeforeWork(Exception):
    """The first statement on a checked-out connection found it dead: nothing of the request
    reached the database, so running the request again (on a fresh connection) is safe."""


_WORKED = "booking.statement_succeeded"


def _watch_for_lost_connections(engine: AsyncEngine) -> None:
    """Tell "the pooled connection was already dead" apart from "the connection died mid-work".

    Only the first is safe to retry: a statement that failed on a connection that had run
    nothing since checkout never ran (a terminated backend refuses it before executing it).
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _fresh(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        record.info[_WORKED] = False

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _worked(connection: Any, *_args: Any) -> None:
        connection.info[_WORKED] = True

    @event.listens_for(engine.sync_engine, "handle_error")
    def _lost(context: Any) -> Exception | None:
        connection = context.connection
        fresh = connection is not None and not connection.info.get(_WORKED, True)
        if context.is_disconnect and fresh:
            return ConnectionLostBeforeWork("the pooled database connection was closed")
        return None


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions of a class of their own, so that session events (notifications.wake_on_commit)
    are heard for this application's sessions only."""
    session_class = type("BookingSession", (Session,), {})
    return async_sessionmaker(
        engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=session_class
    )


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent.

    The dependency is declared with ``scope="function"``: FastAPI runs the code after ``yield``
    when the route returns, not after the response has gone out, so a failed commit is an error
    response rather than a 2xx for work that was lost.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def reads_only(session: SessionDep) -> None:
    """For routes that only read (``dependencies=[ReadsOnly]``, which FastAPI resolves before
    the route's other dependencies): on PostgreSQL their statements run without BEGIN and
    COMMIT, two round trips of a desk list's four. Each statement sees a consistent snapshot of
    its own; a route that reads one thing and then another (the caller's account, then the
    page) needs no more. A write commits at once, on its own: fine for an API key's last-use
    stamp, wrong for anything that must be atomic with another write.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


ReadsOnly = Depends(reads_only)
