"""The one suite runs on SQLite and on PostgreSQL: every test that takes ``client`` (or
``database_url``) runs once per backend, on a schema built by the migrations.

PostgreSQL: ``BOOKING_TEST_POSTGRES_URL`` names a database the suite may wipe (default
``postgresql://postgres@127.0.0.1:5432/booking_test``, created when missing). When it cannot be
reached, the PostgreSQL half is skipped and the run says so at the end; with ``CI=true`` the run
fails instead.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from booking.clock import FrozenClock
from booking.config import Settings
from booking.main import create_app
from tests.databases import POSTGRES_URL, empty_tables, ensure_database, migrate
from tests.settings import IN_CI, NOW, make_settings
from tests.staff.helpers import STAFF_PASSWORD, add_staff, bearer

_postgres_skip_reason: list[str] = []


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The migrated PostgreSQL test database, or a skip (a failure in CI) when unreachable."""
    if _postgres_skip_reason:
        pytest.skip(_postgres_skip_reason[0])
    try:
        asyncio.run(ensure_database(POSTGRES_URL, fresh=True))
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
    asyncio.run(migrate(POSTGRES_URL))
    return POSTGRES_URL


# --- SQLite -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database migrated once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(migrate(f"sqlite:///{path}"))
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
    asyncio.run(empty_tables(url))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """The app's settings; a test changes some with ``@pytest.mark.settings(name=value, ...)``
    (read here only: a folder whose conftest overrides this fixture does not see it)."""
    changed = request.node.get_closest_marker("settings")
    return make_settings(database_url, **(changed.kwargs if changed else {}))


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


@pytest.fixture
def smtp_server() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on a free port, collecting what it is sent."""
    from tests.notifications.smtp import SmtpServer

    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "settings(**changes): this test's app runs with these settings changed"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.postgres_only`` tests (several processes on one database: a PostgreSQL
    setup) are not run on SQLite: deselected, so that no skip is counted as a pass."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_sqlite = callspec is not None and callspec.params.get("backend") == "sqlite"
        (dropped if on_sqlite and item.get_closest_marker("postgres_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _postgres_skip_reason:
        terminalreporter.write_sep("!", "PostgreSQL half SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(_postgres_skip_reason[0])


# --- staff ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def staff_password_hash() -> str:
    """Hashed once: argon2 is slow on purpose, and most tests only need a signed-in clerk."""
    from booking.staff.passwords import hash_password

    return asyncio.run(hash_password(STAFF_PASSWORD))


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
