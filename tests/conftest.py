"""The one suite runs on SQLite and on PostgreSQL: every test that takes ``client`` (or
``database_url``) runs once per backend, on a schema built by the migrations.

PostgreSQL: ``BOOKING_TEST_POSTGRES_URL`` names a database the suite may wipe (default
``postgresql://postgres@127.0.0.1:5432/booking_test``, created when missing). When it cannot be
reached, the PostgreSQL half is skipped and the run says so at the end; with ``CI=true`` the run
fails instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url

from booking import migrations
from booking.clock import FrozenClock
from booking.config import Settings, load_settings
from booking.db import create_engine
from booking.main import create_app
from booking.models import metadata
from booking.providers.models import DEFAULT_PROVIDER_ID

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/booking_test"
POSTGRES_URL = os.environ.get("BOOKING_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Monday 30 November 2026, 09:00 in Chicago: the practice is open, the day has just begun.
NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

# Tests sign with a key of their own: nothing writes a generated secret file into the repo.
TEST_SECRET_KEY = "tests-only-Zq8vN3xL0pR7wK2mJ5tY9bH4cF6dG1sA"

_postgres_skip_reason: list[str] = []


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "environment": "development",
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "practice_timezone": "America/Chicago",
        "open_weekdays": "mon,tue,wed,thu,fri",
        "closed_dates": "2026-12-25",
        "booking_horizon_days": 90,
        "notifier": "console",
        "public_rate_limit": "0",
        # Tests deliver the outbox themselves (tests/notifications), one batch at a time.
        "relay_in_process": False,
        # Most tests send many requests from one address; tests/notifications/test_receipt_cap.py
        # turns the cap on.
        "receipts_per_address_per_day": 0,
    }
    values.update(overrides)
    return load_settings(**values)


# --- PostgreSQL -------------------------------------------------------------------------------


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _ensure_database(url: str, *, fresh: bool) -> None:
    """Create the database when missing (or drop it first, with ``fresh``)."""
    target = make_url(url)
    admin = _asyncpg_dsn(str(target.set(database="postgres")))
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


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The migrated PostgreSQL test database, or a skip (a failure in CI) when unreachable."""
    if _postgres_skip_reason:
        pytest.skip(_postgres_skip_reason[0])
    try:
        asyncio.run(_ensure_database(POSTGRES_URL, fresh=True))
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        unreachable = (
            f"PostgreSQL is not reachable at {make_url(POSTGRES_URL).render_as_string()} "
            f"({type(error).__name__})"
        )
        if IN_CI:
            pytest.fail(f"{unreachable}, and CI=true requires it", pytrace=False)
        reason = f"{unreachable}: the PostgreSQL half of the suite was skipped"
        _postgres_skip_reason.append(reason)
        pytest.skip(reason)
    asyncio.run(_migrate(POSTGRES_URL))
    return POSTGRES_URL


async def _migrate(url: str) -> None:
    engine = create_engine(make_settings(url))
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()


async def _empty_tables(url: str) -> None:
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


# --- SQLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    return path


# --- the fixtures tests use -------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "booking.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_url")
    yield url
    asyncio.run(_empty_tables(url))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def app(settings: Settings, clock: FrozenClock) -> AsyncIterator[FastAPI]:
    application = create_app(settings, clock=clock)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://booking.test") as client:
        yield client


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _postgres_skip_reason:
        terminalreporter.write_sep("!", "PostgreSQL half SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(_postgres_skip_reason[0])


# --- staff ------------------------------------------------------------------------------------

STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def staff_password_hash() -> str:
    """Hashed once: argon2 is slow on purpose, and most tests only need a signed-in clerk."""
    from booking.staff.passwords import _hasher

    return _hasher.hash(STAFF_PASSWORD)


async def add_staff(
    app: FastAPI, password_hash: str, *, email: str, role: str = "front_desk"
) -> Any:
    from booking.staff.models import StaffAccount

    now = app.state.clock.now()
    account = StaffAccount(
        email=email,
        display_name=email.split("@")[0],
        role=role,
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
    )
    async with app.state.sessionmaker() as session, session.begin():
        session.add(account)
    return account


def bearer(app: FastAPI, account: Any) -> dict[str, str]:
    from booking.staff.tokens import issue_access_token

    token = issue_access_token(
        staff_id=account.id,
        generation=account.token_generation,
        secret_key=app.state.settings.secret_key,
        now=app.state.clock.now(),
        # Long enough for tests that move the clock by weeks; expiry is tested with real sign-ins.
        lifetime=dt.timedelta(days=60),
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def desk_account(app: FastAPI, staff_password_hash: str) -> Any:
    return await add_staff(app, staff_password_hash, email="desk@practice.example")


@pytest.fixture
async def admin_account(app: FastAPI, staff_password_hash: str) -> Any:
    return await add_staff(app, staff_password_hash, email="admin@practice.example", role="admin")


@pytest.fixture
def desk(app: FastAPI, desk_account: Any) -> dict[str, str]:
    """Headers of a signed-in front-desk clerk."""
    return bearer(app, desk_account)


@pytest.fixture
def admin(app: FastAPI, admin_account: Any) -> dict[str, str]:
    return bearer(app, admin_account)
