"""The ``booking`` command: serve, migrate, worker, outbox, staff, apikey, openapi."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import json
import logging
import os
import secrets
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import httpx
import uvicorn
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from booking import migrations
from booking.apikeys import service as apikeys
from booking.apikeys.models import ApiScope
from booking.clock import SystemClock
from booking.config import (
    LogFormat,
    Settings,
    SettingsError,
    load_settings,
    resolve_secret_key,
)
from booking.db import create_engine, create_sessionmaker
from booking.errors import DomainError
from booking.jobs.scheduler import Scheduler
from booking.notifications import service as notifications
from booking.notifications.models import OutboxStatus
from booking.notifications.notifiers import load_notifier
from booking.notifications.relay import Relay
from booking.privacy import service as privacy
from booking.staff import service as staff_service
from booking.staff.models import StaffAccount, StaffRole
from booking.values import ShortLine

T = TypeVar("T")


def _read_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _with_secret_key(settings: Settings) -> Settings:
    try:
        return resolve_secret_key(settings)
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _settings() -> Settings:
    """Settings for a command that works on an existing database (all but serve and migrate).

    SQLite creates a missing file when asked to open it: run from the wrong folder, `booking
    staff create` would put the account in a new, empty database nobody serves. Refuse instead.
    """
    settings = _read_settings()
    path = settings.sqlite_path
    if path is not None and not path.exists():
        raise click.ClickException(
            f"there is no database at {path}, and this command does not create one.\n"
            "  Point BOOKING_DATABASE_URL at the database the service uses "
            "(e.g. BOOKING_DATABASE_URL=sqlite:////srv/booking/booking.db),\n"
            f"  or run the command from the folder that holds {path.name},\n"
            "  or create a new, empty database on purpose with `booking migrate`."
        )
    return _with_secret_key(settings)


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


def _create_private_sqlite_file(settings: Settings) -> None:
    """A new SQLite database holds patients' details: readable by its owner only (0600, as the
    secret beside it). SQLite gives its -wal and -shm files the database file's mode."""
    path = settings.sqlite_path
    if path is not None and not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it a moment ago
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _ready_database(settings: Settings) -> None:
    """SQLite (one box) is migrated on the spot; PostgreSQL must be migrated on purpose."""
    if settings.is_sqlite:
        _create_private_sqlite_file(settings)
        _with_engine(settings, migrations.upgrade)
    elif _with_engine(settings, migrations.pending_migrations):
        click.echo(
            "The PostgreSQL database has migrations pending: run `booking migrate` to apply "
            "them, then run this command again.",
            err=True,
        )
        sys.exit(1)


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
    settings = _read_settings()
    _ready_database(settings)
    # Generated (in development) before the workers start, so that they all read one file.
    _with_secret_key(settings)
    served = served_base_url(host, port)
    if not settings.public_base_url:
        # Development (production refuses an empty base URL): links in emails follow the
        # address served. An environment variable, not a global: with --workers > 1 uvicorn
        # imports the app afresh in each worker process, and those read their Settings.
        os.environ["BOOKING_SERVED_BASE_URL"] = served
    click.echo(f"booking: serving on {served} ({workers} worker(s))", err=True)
    click.echo(f"booking: links in emails point to {settings.public_base_url or served}", err=True)
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
        # uvicorn kills a --workers child that does not answer its health check within 5 s and
        # starts another: on a busy box a child still starting up was killed over and over.
        timeout_worker_healthcheck=30,
        # uvicorn's access log prints query strings (a desk search is a patient's name);
        # booking.access logs route templates instead.
        access_log=False,
        log_config=_log_config(settings),
        # X-Forwarded-For is believed only from the proxies named in BOOKING_TRUSTED_PROXIES.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=",".join(settings.trusted_proxies) or "",
    )


def served_base_url(host: str, port: int) -> str:
    """The address a browser on this machine opens for ``--host``/``--port``."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"  # a name, e.g. localhost
    if address.is_unspecified:  # 0.0.0.0 or ::, every interface: this machine's loopback
        address = ipaddress.ip_address("::1" if address.version == 6 else "127.0.0.1")
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"http://{shown}:{port}"


def _log_config(settings: Settings) -> dict[str, Any]:
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    if settings.log_format is LogFormat.json:
        json_formatter = {"()": "booking.observability.JsonFormatter"}
        config["formatters"] = {"default": json_formatter, "access": json_formatter}
    config["loggers"]["booking"] = {
        "handlers": ["default"],
        "level": settings.log_level.value,
        "propagate": False,
    }
    return config


@main.command()
@click.option("--revision", default="head", show_default=True)
def migrate(revision: str) -> None:
    """Apply the database migrations (to the latest by default); creates a new SQLite file."""
    settings = _read_settings()
    _create_private_sqlite_file(settings)
    _with_engine(settings, migrations.upgrade, revision)
    click.echo("booking: database migrated to " + revision, err=True)


@main.command()
def openapi() -> None:
    """Print the OpenAPI document."""
    from booking.main import create_app

    # The document signs nothing: a throwaway key rather than a secret file in this folder.
    settings = _read_settings().model_copy(update={"secret_key": secrets.token_urlsafe(32)})
    click.echo(json.dumps(create_app(settings).openapi(), indent=2, ensure_ascii=False))


@main.group()
def staff() -> None:
    """Manage staff accounts."""


def _short_line(value: str, param_hint: str) -> str:
    """A name given on the command line, cleaned and checked as the API checks it."""
    try:
        return TypeAdapter(ShortLine).validate_python(value)
    except ValidationError as error:
        message = error.errors()[0]["msg"].removeprefix("Value error, ")
        raise click.BadParameter(message, param_hint=param_hint) from None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run(engine: AsyncEngine) -> T:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await work(session)

    try:
        return _with_engine(settings, run)
    except DomainError as error:
        raise click.ClickException(error.detail) from None


def _by_email(email: str) -> Callable[[AsyncSession], Awaitable[StaffAccount]]:
    async def find(session: AsyncSession) -> StaffAccount:
        account = await staff_service.find_by_email(session, email)
        if account is None:
            raise click.ClickException(f"no staff account with the email {email}")
        return account

    return find


@staff.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([role.value for role in StaffRole]), default="front_desk")
@click.option("--name", "display_name", default="", help="Shown in the audit trail.")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
def staff_create(email: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create a staff account."""
    if display_name:
        display_name = _short_line(display_name, "--name")
    settings = _settings()
    _ready_database(settings)
    password = _read_password(password_stdin)
    account = _in_transaction(
        settings,
        lambda session: staff_service.create_staff(
            session,
            email=email,
            display_name=display_name,
            role=StaffRole(role),
            password=password,
            now=SystemClock().now(),
        ),
    )
    click.echo(f"created {account.role} {account.email} ({account.id})")


@staff.command("list")
def staff_list() -> None:
    """List staff accounts."""
    settings = _settings()
    _ready_database(settings)
    for account in _in_transaction(settings, staff_service.list_staff):
        state = "active" if account.is_active else "deactivated"
        click.echo(f"{account.email}\t{account.role}\t{state}\t{account.display_name}")


@staff.command("deactivate")
@click.argument("email")
def staff_deactivate(email: str) -> None:
    """Deactivate a staff account; its tokens stop working at once."""
    _change_account(email, staff_service.deactivate_staff)
    click.echo(f"deactivated {email}; its desk sessions and tokens ended")


@staff.command("end-sessions")
@click.argument("email")
def staff_end_sessions(email: str) -> None:
    """Sign an account out everywhere: desk sessions end, tokens stop working."""
    ended = _change_account(email, staff_service.end_sessions)
    click.echo(f"ended {ended} desk session(s) of {email}; its tokens stopped working")


def _change_account(email: str, change: Callable[..., Awaitable[T]]) -> T:
    """Run a staff service that takes ``staff_id`` and ``now`` on the account with this email."""
    settings = _settings()
    _ready_database(settings)

    async def run(session: AsyncSession) -> T:
        account = await _by_email(email)(session)
        return await change(session, staff_id=account.id, now=SystemClock().now())

    return _in_transaction(settings, run)


@staff.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from one line of stdin.")
def staff_reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password; tokens issued before stop working."""
    settings = _settings()
    _ready_database(settings)
    password = _read_password(password_stdin)

    async def reset(session: AsyncSession) -> None:
        account = await _by_email(email)(session)
        await staff_service.reset_password(
            session, account=account, password=password, now=SystemClock().now()
        )

    _in_transaction(settings, reset)
    click.echo(f"password reset for {email}")


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def worker(once: bool) -> None:
    """Deliver queued emails and webhooks, and run the scheduled jobs (reminders, expiry, the
    desk's digest), as many workers as you like on PostgreSQL.

    Set BOOKING_RELAY_IN_PROCESS=false on the API servers when workers do the delivering.
    SIGTERM or Ctrl-C: the batch in hand is finished, then the worker exits. --once runs each
    job once, then delivers what is due.
    """
    settings = _settings()
    _ready_database(settings)
    notifier = load_notifier(settings)
    if not settings.public_base_url:
        # A worker serves no port to follow; development only (production requires the setting).
        click.echo(
            f"booking worker: BOOKING_PUBLIC_BASE_URL is not set; links in emails point to "
            f"{settings.links_base_url} (the default of `booking serve`)",
            err=True,
        )

    async def run(engine: AsyncEngine) -> int:
        async with httpx.AsyncClient(timeout=10) as http:
            relay = Relay(
                sessionmaker=create_sessionmaker(engine),
                settings=settings,
                clock=SystemClock(),
                notifier=notifier,
                http=http,
            )
            scheduler = Scheduler(
                sessionmaker=relay.sessionmaker,
                settings=settings,
                clock=relay.clock,
                worker_id=relay.worker_id,
            )
            if once:
                await scheduler.tick()
                return await relay.drain()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            click.echo(f"booking worker {relay.worker_id}: delivering", err=True)
            await asyncio.gather(relay.run(stop), scheduler.run(stop))
            return 0

    logging.basicConfig(level=settings.log_level.value, format="%(asctime)s %(name)s %(message)s")
    delivered = _with_engine(settings, run)
    if once:
        click.echo(f"delivered {delivered} message(s)", err=True)


@main.group()
def apikey() -> None:
    """API keys for machines (the API's POST/GET/DELETE /api/v1/api-keys, for admins)."""


@apikey.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice([scope.value for scope in ApiScope]),
    help="Repeat for several: appointments:read, appointments:write, fhir:read.",
)
def apikey_create(name: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it, alone on stdout (it is shown only this once)."""
    name = _short_line(name, "NAME")
    settings = _settings()
    _ready_database(settings)
    record, key = _in_transaction(
        settings,
        lambda session: apikeys.create_key(
            session,
            name=name,
            scopes=[ApiScope(scope) for scope in scopes],
            created_by=None,
            now=SystemClock().now(),
        ),
    )
    click.echo(f"created API key {record.id} ({', '.join(record.scopes)})", err=True)
    click.echo(key)


@main.group()
def outbox() -> None:
    """See and retry queued messages."""


@outbox.command("list")
@click.option("--dead", "only_dead", is_flag=True, help="Only messages that gave up.")
def outbox_list(only_dead: bool) -> None:
    """Pending and dead messages: id, channel, event, status, attempts, next try, last error."""
    settings = _settings()
    _ready_database(settings)
    statuses = [OutboxStatus.dead] if only_dead else [OutboxStatus.pending, OutboxStatus.dead]
    messages = _in_transaction(
        settings, lambda session: notifications.list_messages(session, statuses=statuses)
    )
    for message in messages:
        click.echo(
            f"{message.id}\t{message.channel}\t{message.event}\t{message.status}\t"
            f"{message.attempts}\t{message.next_attempt_at.isoformat()}\t"
            f"{message.last_error or '-'}"
        )
    if not messages:
        click.echo("no pending or dead messages", err=True)


@outbox.command("retry")
@click.argument("message_id", required=False, type=click.UUID)
@click.option("--all-dead", is_flag=True, help="Retry every dead message.")
def outbox_retry(message_id: uuid.UUID | None, all_dead: bool) -> None:
    """Give a dead message (or all of them) a fresh set of attempts."""
    if (message_id is None) == (not all_dead):
        raise click.UsageError("name one MESSAGE_ID, or pass --all-dead")
    settings = _settings()
    _ready_database(settings)
    count = _in_transaction(
        settings,
        lambda session: notifications.retry_dead(
            session, message_id=message_id, now=SystemClock().now()
        ),
    )
    click.echo(f"{count} message(s) queued again")


@main.command()
@click.option("--dry-run", is_flag=True, help="Only count what would be anonymised.")
def purge(dry_run: bool) -> None:
    """Anonymise closed requests older than BOOKING_RETENTION_DAYS; drop expired keys."""
    settings = _settings()
    _ready_database(settings)
    result = _in_transaction(
        settings,
        lambda session: privacy.purge(
            session,
            now=SystemClock().now(),
            retention_days=settings.retention_days,
            dry_run=dry_run,
        ),
    )
    verb = "would anonymise" if dry_run else "anonymised"
    click.echo(
        f"{verb} {result.anonymised} closed request(s) older than {settings.retention_days} "
        f"days; removed {result.expired_idempotency_keys} expired idempotency key(s)"
    )
