"""The ``booking`` command: serve, migrate, openapi."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
import uvicorn
from sqlalchemy.exc import DBAPIError, OperationalError

from booking import migrations
from booking.config import Settings, SettingsError, load_settings
from booking.db import create_engine

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _with_engine(settings: Settings, work: Callable[..., Awaitable[T]], *args: object) -> T:
    async def run() -> T:
        engine = create_engine(settings)
        try:
            return await work(engine, *args)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OperationalError, DBAPIError, OSError) as error:
        url = settings.async_database_url.render_as_string(hide_password=True)
        raise click.ClickException(
            f"cannot reach the database at {url}: {type(error).__name__}"
        ) from None


@click.group()
def main() -> None:
    """booking: appointment requests for a spine practice."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Run the HTTP service.

    On SQLite the database is migrated first, so one box needs no setup. On PostgreSQL, where
    several replicas may start at once, migrations are a separate step: `booking migrate`.
    """
    settings = _settings()
    if settings.is_sqlite:
        _with_engine(settings, migrations.upgrade)
    elif _with_engine(settings, migrations.pending_migrations):
        click.echo(
            "The PostgreSQL database has migrations pending: run `booking migrate` to apply "
            "them, then start `booking serve` again.",
            err=True,
        )
        sys.exit(1)
    click.echo(f"booking: serving on http://{host}:{port} ({workers} worker(s))", err=True)
    uvicorn.run(
        "booking.main:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="auto",
        http="auto",
        server_header=False,
        timeout_graceful_shutdown=20,
    )


@main.command()
@click.option("--revision", default="head", show_default=True)
def migrate(revision: str) -> None:
    """Apply the database migrations (to the latest by default)."""
    settings = _settings()
    _with_engine(settings, migrations.upgrade, revision)
    click.echo("booking: database migrated to " + revision, err=True)


@main.command()
def openapi() -> None:
    """Print the OpenAPI document."""
    from booking.main import create_app

    click.echo(json.dumps(create_app(_settings()).openapi(), indent=2, ensure_ascii=False))
