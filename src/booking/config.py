"""The one typed settings object, read from ``BOOKING_*`` variables and a ``.env`` file.

Nothing else in the code reads ``os.environ``: everything is passed a ``Settings``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import secrets
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import RateLimitItem, parse
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PLACEHOLDER_SECRET_KEYS = frozenset({"change-me", "changeme", "secret", "dev-secret-key"})
# Words of the placeholders people paste and repeat to reach 32 characters.
PLACEHOLDER_WORDS = ("change", "secret", "password", "placeholder", "example", "default")
MIN_SECRET_KEY_BITS = 90  # a 32-character hex secret (128 random bits) scores 96 or more
MIN_METRICS_TOKEN_LENGTH = 16
RANDOM_VALUE_HINT = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Where links point in development when nothing says otherwise: `booking serve`'s default port.
DEVELOPMENT_BASE_URL = "http://127.0.0.1:8000"


class SmtpSecurity(StrEnum):
    none = "none"
    starttls = "starttls"
    tls = "tls"


class LogFormat(StrEnum):
    json = "json"
    text = "text"


class LogLevel(StrEnum):
    debug = "DEBUG"
    info = "INFO"
    warning = "WARNING"
    error = "ERROR"


class Environment(StrEnum):
    development = "development"
    production = "production"


def _split_commas(value: object) -> object:
    """A list setting is written as people write it: ``a, b, c`` (empty means none)."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def async_database_url(raw_url: str) -> URL:
    """Turn a plain ``sqlite:///…`` or ``postgresql://…`` URL into one with our async driver.

    PostgreSQL goes through asyncpg: it is the fastest async driver (the hot path is the public
    POST), and behind PgBouncer in transaction mode its statement cache is switched off (see
    docs/deploying.md).
    """
    try:
        url = make_url(raw_url)
    except ArgumentError as error:
        raise ValueError(
            "is not a database URL; expected e.g. sqlite:///booking.db "
            "or postgresql://user@host/dbname"
        ) from error
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite")
    if backend in {"postgresql", "postgres"}:
        return url.set(drivername="postgresql+asyncpg")
    raise ValueError(f"uses an unsupported database {backend!r}; use sqlite or postgresql")


def parse_opening_hours(value: str) -> tuple[dt.time, dt.time]:
    """``08:00-17:00`` → (08:00, 17:00): when visits may begin and must have ended."""
    try:
        opens, closes = (dt.time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise ValueError(f"{value!r} is not opening hours such as 08:00-17:00") from None
    if opens >= closes:
        raise ValueError(f"{value!r}: the practice must open before it closes")
    return opens, closes


def parse_time_of_day(value: str) -> dt.time:
    """``07:30`` → 07:30, a practice-local time of day."""
    try:
        if len(value) != 5:
            raise ValueError
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a time of day such as 07:30 (empty: off)") from None


def parse_rate(value: str) -> RateLimitItem:
    return parse(value)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOOKING_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    environment: Environment = Environment.development
    database_url: str = "sqlite:///booking.db"
    # Empty: in development a random one is generated and kept beside the SQLite database
    # (resolve_secret_key); production requires a real one.
    secret_key: str = ""
    # Where patients and staff reach the service; required in production. Empty in development:
    # links follow the address `booking serve` actually serves (``served_base_url``).
    public_base_url: str = ""
    # Not an operator setting: `booking serve` sets it for the app it starts (every worker
    # process reads it from the environment) when BOOKING_PUBLIC_BASE_URL is empty.
    served_base_url: str = ""

    practice_name: str = "Spine Practice"
    practice_phone: str = "+1 312 555 0100"
    practice_address: str = "1 Main Street, Chicago, IL"
    practice_timezone: str = "America/Chicago"
    open_weekdays: Annotated[list[str], NoDecode] = ["mon", "tue", "wed", "thu", "fri"]
    closed_dates: Annotated[list[dt.date], NoDecode] = []
    booking_horizon_days: int = Field(default=90, ge=1, le=730)
    opening_hours: str = "08:00-17:00"
    # The grid free times are offered on, and the gap kept free between two visits.
    slot_minutes: int = Field(default=15, ge=5, le=240)
    visit_buffer_minutes: int = Field(default=0, ge=0, le=240)
    default_phone_region: str = "US"
    emergency_number: str = "911"
    crisis_line: str = "the 988 Suicide & Crisis Lifeline (call or text 988)"

    notifier: str = "console"
    mail_dir: str = "mail"
    # The file notifier flushes each .eml to disk before it counts as sent (a power cut then
    # loses none); off, the rename is still atomic but the last few may be lost with the OS.
    mail_fsync: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.none
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(default=10, gt=0, le=300)
    mail_from: str = "booking@localhost"
    front_desk_email: str = "front-desk@localhost"
    manage_link_days: int = Field(default=60, ge=1, le=365)
    # How long a waitlisted patient has to accept an offered time (it also ends when it starts).
    offer_hours: int = Field(default=12, ge=1, le=168)
    # "We received your request" emails to one address in any 24 hours; 0: no cap.
    receipts_per_address_per_day: int = Field(default=3, ge=0, le=1000)

    webhook_urls: Annotated[list[str], NoDecode] = []
    # One secret, or several comma-separated while rotating: each signs every delivery.
    webhook_secret: str = ""

    relay_in_process: bool = True
    # The scheduler (booking.jobs): how often it wakes, and what it does.
    jobs_interval_seconds: float = Field(default=60, gt=0, le=3600)
    # Hours before a confirmed visit the patient is reminded at; empty: no reminders.
    reminder_hours: Annotated[list[int], NoDecode] = [48, 2]
    # A request nobody answered expires after this many days (or once its preferred days have
    # passed); 0: only the passed days expire it.
    request_expiry_days: int = Field(default=14, ge=0, le=365)
    # When the front desk's digest is sent (practice time, HH:MM); empty: no digest.
    digest_time: str = "07:30"
    outbox_max_attempts: int = Field(default=8, ge=1, le=50)
    outbox_batch_size: int = Field(default=50, ge=1, le=1000)

    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    desk_session_hours: int = Field(default=12, ge=1, le=24 * 7)
    # Tight per (account, client), so a guesser locks out only themselves; a high ceiling per
    # account against guessing from many addresses; and per client against trying many accounts.
    sign_in_failures_per_account_and_client: str = "5/15minutes"
    sign_in_failures_per_account: str = "100/15minutes"
    sign_in_failures_per_client: str = "20/15minutes"
    rate_limit_storage_url: str = "memory://"

    public_rate_limit: str = "10/minute"
    form_min_fill_seconds: float = Field(default=3, ge=0, le=60)
    trusted_proxies: Annotated[list[str], NoDecode] = []
    ready_max_outbox_backlog: int = Field(default=1000, ge=1)
    retention_days: int = Field(default=730, ge=30)
    log_format: LogFormat = LogFormat.json
    # INFO writes an access line per request; WARNING keeps only what needs a person.
    log_level: LogLevel = LogLevel.info
    cors_origins: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    idempotency_key_ttl_hours: int = Field(default=24, ge=1)
    # Bearer token for /metrics. Empty: /metrics is open in development and off in production.
    metrics_token: str = ""

    @field_validator(
        "open_weekdays",
        "closed_dates",
        "cors_origins",
        "webhook_urls",
        "trusted_proxies",
        "reminder_hours",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("secret_key", "metrics_token", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("open_weekdays")
    @classmethod
    def _known_weekdays(cls, value: list[str]) -> list[str]:
        days = [day.lower()[:3] for day in value]
        unknown = [day for day in days if day not in WEEKDAY_NAMES]
        if unknown or not days:
            raise ValueError(f"must be a comma-separated list of {', '.join(WEEKDAY_NAMES)}")
        return days

    @field_validator("reminder_hours")
    @classmethod
    def _sensible_reminder_hours(cls, value: list[int]) -> list[int]:
        if any(hours < 1 or hours > 24 * 30 for hours in value) or len(set(value)) < len(value):
            raise ValueError("must be distinct whole hours from 1 to 720, e.g. 48,2 (empty: off)")
        return sorted(value, reverse=True)

    @field_validator("digest_time")
    @classmethod
    def _valid_digest_time(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_time_of_day(value)
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("opening_hours")
    @classmethod
    def _valid_opening_hours(cls, value: str) -> str:
        parse_opening_hours(value)
        return value

    @field_validator(
        "sign_in_failures_per_account_and_client",
        "sign_in_failures_per_account",
        "sign_in_failures_per_client",
        "public_rate_limit",
    )
    @classmethod
    def _valid_rate(cls, value: str) -> str:
        if value.strip() != "0":
            try:
                parse_rate(value)
            except ValueError:
                raise ValueError(f"{value!r} is not a rate such as 10/minute (0: off)") from None
        return value

    @field_validator("practice_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"{value!r} is not an IANA time zone such as America/Chicago"
            ) from error
        return value

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str) -> str:
        async_database_url(value)
        return value

    @field_validator("webhook_urls")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError("must be http:// or https:// addresses, separated by commas")
        return value

    @field_validator("public_base_url", "served_base_url")
    @classmethod
    def _http_base_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be an http:// or https:// address, e.g. https://book.example.com"
            )
        return value

    @model_validator(mode="after")
    def _webhooks_are_signed(self) -> Settings:
        secrets = self.webhook_secrets
        if self.webhook_urls and (not secrets or any(len(secret) < 16 for secret in secrets)):
            raise ValueError(
                "BOOKING_WEBHOOK_SECRET (16+ characters; several comma-separated while rotating, "
                "each 16+) is required when BOOKING_WEBHOOK_URLS is set: receivers verify every "
                "delivery with it"
            )
        return self

    @property
    def webhook_secrets(self) -> list[str]:
        return [secret.strip() for secret in self.webhook_secret.split(",") if secret.strip()]

    @model_validator(mode="after")
    def _no_known_secret(self) -> Settings:
        if self.secret_key.lower() in PLACEHOLDER_SECRET_KEYS:
            raise ValueError(
                "BOOKING_SECRET_KEY is a well-known placeholder: anyone could sign tokens with it. "
                "Leave it unset in development (one is generated), or set a random value "
                f"({RANDOM_VALUE_HINT})"
            )
        if self.environment is Environment.development:
            return self
        if len(self.secret_key) < 32 or looks_guessable(self.secret_key):
            raise ValueError(
                "BOOKING_SECRET_KEY must be a random value of at least 32 characters outside "
                f"development; this one is missing, short or guessable ({RANDOM_VALUE_HINT})"
            )
        return self

    @field_validator("metrics_token")
    @classmethod
    def _long_metrics_token(cls, value: str) -> str:
        if value and len(value) < MIN_METRICS_TOKEN_LENGTH:
            raise ValueError(
                f"must be at least {MIN_METRICS_TOKEN_LENGTH} random characters "
                f"({RANDOM_VALUE_HINT})"
            )
        return value

    @model_validator(mode="after")
    def _production_links_and_mail(self) -> Settings:
        if self.environment is Environment.development:
            return self
        problems = []
        if not self.public_base_url:
            problems.append(
                "BOOKING_PUBLIC_BASE_URL must be set outside development: every link in an "
                "email is built from it (e.g. https://book.example.com)"
            )
        if self.notifier.strip() == "console":
            problems.append(
                "BOOKING_NOTIFIER=console prints patients' emails to the log and sends nothing: "
                "development only; use smtp, file or a plug-in (package.module:factory)"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def links_base_url(self) -> str:
        """Where emailed links point: the configured address, else the one served."""
        return (self.public_base_url or self.served_base_url or DEVELOPMENT_BASE_URL).rstrip("/")

    @property
    def served_over_https(self) -> bool:
        """Reached over https (BOOKING_PUBLIC_BASE_URL): cookies are Secure, HSTS is sent."""
        return self.public_base_url.startswith("https://")

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.practice_timezone)

    @property
    def async_database_url(self) -> URL:
        return async_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, absolute; None for PostgreSQL or an in-memory database."""
        if not self.is_sqlite:
            return None
        database = self.async_database_url.database
        if not database or database == ":memory:":
            return None
        return Path(database).absolute()

    @property
    def digest_at(self) -> dt.time | None:
        return parse_time_of_day(self.digest_time) if self.digest_time else None

    @property
    def opening_times(self) -> tuple[dt.time, dt.time]:
        return parse_opening_hours(self.opening_hours)

    @property
    def open_weekday_numbers(self) -> frozenset[int]:
        return frozenset(WEEKDAY_NAMES.index(day) for day in self.open_weekdays)


def estimated_entropy_bits(value: str) -> float:
    """Shannon entropy of the characters, times the length: a rough estimate that is low for
    repeated or few distinct characters (32 x ``a`` scores 0, a token_urlsafe(32) about 200)."""
    counts = Counter(value).values()
    return -sum(count * math.log2(count / len(value)) for count in counts)


def looks_guessable(secret: str) -> bool:
    lowered = secret.lower()
    repeats_a_shorter_value = secret in (secret + secret)[1:-1]
    return (
        any(word in lowered for word in PLACEHOLDER_WORDS)
        or repeats_a_shorter_value
        or estimated_entropy_bits(secret) < MIN_SECRET_KEY_BITS
    )


class SettingsError(Exception):
    """Start-up refused: the message names every bad setting and why."""


def secret_key_file(settings: Settings) -> Path | None:
    """Where a development secret lives: beside the SQLite database, so that every process on
    that database (the workers of `serve`, `booking worker`, the CLI) signs with the same one."""
    path = settings.sqlite_path
    return None if path is None else path.with_name(path.name + ".secret")


def resolve_secret_key(settings: Settings) -> Settings:
    """The settings with a secret key: BOOKING_SECRET_KEY when set; in development on SQLite
    one generated once (random, 0600 file beside the database); never a known value.

    PostgreSQL needs BOOKING_SECRET_KEY even in development: its processes may run on several
    machines, and a file on each would make tokens from one replica fail on the next.
    """
    if settings.secret_key:
        return settings
    if not settings.is_sqlite:
        raise SettingsError(
            "invalid configuration:\n  BOOKING_SECRET_KEY must be set when the database is "
            f"PostgreSQL, in development too: every process must sign with the same key "
            f"({RANDOM_VALUE_HINT})"
        )
    path = secret_key_file(settings)
    if path is None:  # an in-memory database dies with the process, and so may its secret
        return settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})
    try:
        secret = _read_or_create_secret(path)
    except OSError as error:
        raise SettingsError(
            f"cannot keep the generated secret key in {path} ({error.strerror or error}); "
            "set BOOKING_SECRET_KEY instead"
        ) from None
    return settings.model_copy(update={"secret_key": secret})


def _read_or_create_secret(path: Path) -> str:
    """Read the secret file, or create it: written in full under a temporary name, then linked
    into place, which fails when the file exists (O_EXCL semantics): two processes starting at
    once never see a half-written file, and both end up with the winner's secret."""
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as file:
                file.write(secrets.token_urlsafe(32) + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its secret
        finally:
            temporary.unlink(missing_ok=True)
    secret = path.read_text(encoding="utf-8", errors="replace").strip()
    if len(secret) < 32:
        raise SettingsError(
            f"the secret key file {path} is damaged; delete it to generate a new one "
            "(everyone signed in is signed out) or set BOOKING_SECRET_KEY"
        )
    return secret


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            name = "BOOKING_" + "_".join(str(part) for part in problem["loc"]).upper()
            if not problem["loc"]:
                name = "settings"
            lines.append(f"  {name}: {problem['msg'].removeprefix('Value error, ')}")
        raise SettingsError("invalid configuration:\n" + "\n".join(lines)) from None
