"""The one typed settings object, read from ``BOOKING_*`` variables and a ``.env`` file.

Nothing else in the code reads ``os.environ``: everything is passed a ``Settings``.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import RateLimitItem, parse
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

PLACEHOLDER_SECRET_KEYS = frozenset({"", "change-me", "changeme", "secret", "dev-secret-key"})

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
    secret_key: str = "change-me"  # noqa: S105  (refused outside development)
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
    default_phone_region: str = "US"
    emergency_number: str = "911"
    crisis_line: str = "the 988 Suicide & Crisis Lifeline (call or text 988)"

    notifier: str = "console"
    mail_dir: str = "mail"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.none
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = Field(default=10, gt=0, le=300)
    mail_from: str = "booking@localhost"
    front_desk_email: str = "front-desk@localhost"
    manage_link_days: int = Field(default=60, ge=1, le=365)
    # "We received your request" emails to one address in any 24 hours; 0: no cap.
    receipts_per_address_per_day: int = Field(default=3, ge=0, le=1000)

    webhook_urls: Annotated[list[str], NoDecode] = []
    webhook_secret: str = ""

    relay_in_process: bool = True
    outbox_max_attempts: int = Field(default=8, ge=1, le=50)
    outbox_batch_size: int = Field(default=50, ge=1, le=1000)

    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    sign_in_failures_per_account: str = "5/15minutes"
    sign_in_failures_per_client: str = "20/15minutes"
    rate_limit_storage_url: str = "memory://"

    public_rate_limit: str = "10/minute"
    form_min_fill_seconds: float = Field(default=3, ge=0, le=60)
    trusted_proxies: Annotated[list[str], NoDecode] = []
    ready_max_outbox_backlog: int = Field(default=1000, ge=1)
    retention_days: int = Field(default=730, ge=30)
    log_format: LogFormat = LogFormat.json
    cors_origins: Annotated[list[str], NoDecode] = []
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    idempotency_key_ttl_hours: int = Field(default=24, ge=1)

    @field_validator(
        "open_weekdays",
        "closed_dates",
        "cors_origins",
        "webhook_urls",
        "trusted_proxies",
        mode="before",
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split_commas(value)

    @field_validator("open_weekdays")
    @classmethod
    def _known_weekdays(cls, value: list[str]) -> list[str]:
        days = [day.lower()[:3] for day in value]
        unknown = [day for day in days if day not in WEEKDAY_NAMES]
        if unknown or not days:
            raise ValueError(f"must be a comma-separated list of {', '.join(WEEKDAY_NAMES)}")
        return days

    @field_validator("opening_hours")
    @classmethod
    def _valid_opening_hours(cls, value: str) -> str:
        parse_opening_hours(value)
        return value

    @field_validator(
        "sign_in_failures_per_account", "sign_in_failures_per_client", "public_rate_limit"
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
        if self.webhook_urls and len(self.webhook_secret) < 16:
            raise ValueError(
                "BOOKING_WEBHOOK_SECRET (16+ characters) is required when "
                "BOOKING_WEBHOOK_URLS is set: receivers verify every delivery with it"
            )
        return self

    @model_validator(mode="after")
    def _real_secret_outside_development(self) -> Settings:
        if self.environment is not Environment.development and (
            self.secret_key.strip().lower() in PLACEHOLDER_SECRET_KEYS or len(self.secret_key) < 32
        ):
            raise ValueError(
                "BOOKING_SECRET_KEY must be set to a random value of at least 32 characters "
                "outside development (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

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
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.practice_timezone)

    @property
    def async_database_url(self) -> URL:
        return async_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.get_backend_name() == "sqlite"

    @property
    def opening_times(self) -> tuple[dt.time, dt.time]:
        return parse_opening_hours(self.opening_hours)

    @property
    def open_weekday_numbers(self) -> frozenset[int]:
        return frozenset(WEEKDAY_NAMES.index(day) for day in self.open_weekdays)


class SettingsError(Exception):
    """Start-up refused: the message names every bad setting and why."""


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
