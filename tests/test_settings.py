"""Settings: typed, from BOOKING_* variables, refusing bad values with a clear message."""

from __future__ import annotations

import datetime as dt
import secrets
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from booking.config import Settings, SettingsError, async_database_url, load_settings


def test_defaults_need_no_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.is_sqlite
    assert settings.practice_timezone == "America/Chicago"
    assert settings.notifier == "console"
    assert settings.max_body_bytes == 64 * 1024


def test_values_come_from_booking_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOOKING_PRACTICE_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("BOOKING_CORS_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("BOOKING_OPEN_WEEKDAYS", "Mon,tue, wed")
    monkeypatch.setenv("BOOKING_CLOSED_DATES", "2026-12-24,2026-12-25")
    settings = load_settings(_env_file=None)
    assert settings.practice_timezone == "Europe/Berlin"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.open_weekday_numbers == {0, 1, 2}
    assert settings.closed_dates == [dt.date(2026, 12, 24), dt.date(2026, 12, 25)]


def test_values_come_from_a_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BOOKING_PRACTICE_NAME=Backs & Necks\n")
    assert load_settings().practice_name == "Backs & Necks"


def test_an_unknown_time_zone_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match=r"BOOKING_PRACTICE_TIMEZONE.*Mars/Olympus"):
        load_settings(_env_file=None, practice_timezone="Mars/Olympus")


@pytest.mark.parametrize("url", ["not a url", "mysql://root@localhost/x", "://"])
def test_a_malformed_or_unsupported_database_url_is_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="BOOKING_DATABASE_URL"):
        load_settings(_env_file=None, database_url=url)


def test_unknown_weekdays_are_refused() -> None:
    with pytest.raises(SettingsError, match="BOOKING_OPEN_WEEKDAYS"):
        load_settings(_env_file=None, open_weekdays="monday,funday")


@pytest.mark.parametrize("secret", ["change-me", "secret", "short"])
def test_a_placeholder_secret_is_refused_outside_development(secret: str) -> None:
    with pytest.raises(SettingsError, match="BOOKING_SECRET_KEY"):
        load_settings(_env_file=None, environment="production", secret_key=secret)


@pytest.mark.parametrize(
    "secret",
    [
        "change-me-change-me-change-me-change-me",
        "a" * 32,
        "k" * 40,
        "0123456789abcdef" * 2,
        "my-super-secret-key-for-production-2026",
    ],
)
def test_a_long_but_guessable_secret_is_refused_in_production(secret: str) -> None:
    with pytest.raises(SettingsError, match="BOOKING_SECRET_KEY"):
        load_settings(_env_file=None, environment="production", secret_key=secret)


@pytest.mark.parametrize("make", [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(16)])
def test_a_random_secret_is_accepted_in_production(make: Callable[[], str]) -> None:
    for _ in range(200):  # random secrets must never be refused by bad luck
        secret = make()
        settings = load_settings(
            _env_file=None,
            environment="production",
            secret_key=secret,
            public_base_url="https://book.example.com",
            notifier="smtp",
        )
        assert settings.secret_key == secret


def test_a_known_placeholder_is_refused_in_development_too() -> None:
    with pytest.raises(SettingsError, match=r"BOOKING_SECRET_KEY.*placeholder"):
        load_settings(_env_file=None, secret_key="change-me")


def test_development_generates_a_private_secret_beside_the_sqlite_database(
    tmp_path: Path,
) -> None:
    from booking.config import resolve_secret_key

    url = f"sqlite:///{tmp_path / 'booking.db'}"
    first = resolve_secret_key(load_settings(_env_file=None, database_url=url))
    again = resolve_secret_key(load_settings(_env_file=None, database_url=url))
    secret_file = tmp_path / "booking.db.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert first.secret_key == again.secret_key == secret_file.read_text().strip()
    assert len(first.secret_key) >= 43  # token_urlsafe(32)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert resolve_secret_key(load_settings(_env_file=None, database_url=other)).secret_key not in {
        first.secret_key,
        "change-me",
    }
    explicit = load_settings(_env_file=None, database_url=url, secret_key=secrets.token_hex(16))
    assert resolve_secret_key(explicit) == explicit  # a set key wins, and no file is read


def test_processes_starting_together_agree_on_one_generated_secret(tmp_path: Path) -> None:
    from booking.config import resolve_secret_key

    for attempt in range(10):
        settings = load_settings(
            _env_file=None, database_url=f"sqlite:///{tmp_path / f'db{attempt}.db'}"
        )
        start = threading.Barrier(8)

        def load(settings: Settings = settings, start: threading.Barrier = start) -> str:
            start.wait()
            return resolve_secret_key(settings).secret_key

        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(lambda _: load(), range(8)))
        assert len(keys) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"db{n}.db.secret" for n in range(10)]


def test_postgresql_needs_a_secret_key_even_in_development() -> None:
    from booking.config import resolve_secret_key

    settings = load_settings(_env_file=None, database_url="postgresql://booking@db/booking")
    with pytest.raises(SettingsError, match="BOOKING_SECRET_KEY"):
        resolve_secret_key(settings)


def test_a_metrics_token_must_be_long() -> None:
    with pytest.raises(SettingsError, match="BOOKING_METRICS_TOKEN"):
        load_settings(_env_file=None, metrics_token="short")


@pytest.mark.parametrize(
    ("plain", "driver"),
    [
        ("sqlite:///booking.db", "sqlite+aiosqlite"),
        ("sqlite:////var/lib/booking/booking.db", "sqlite+aiosqlite"),
        ("postgresql://booking@db/booking", "postgresql+asyncpg"),
        ("postgres://booking:pw@db:5432/booking", "postgresql+asyncpg"),
        ("postgresql+psycopg://booking@db/booking", "postgresql+asyncpg"),
    ],
)
def test_plain_database_urls_get_the_async_driver(plain: str, driver: str) -> None:
    assert async_database_url(plain).drivername == driver


def test_every_setting_is_in_env_example() -> None:
    from booking.config import Settings

    example = (Path(__file__).parents[1] / ".env.example").read_text()
    for name in Settings.model_fields:
        assert f"BOOKING_{name.upper()}=" in example, name


def test_the_log_level_is_a_setting_the_server_and_worker_obey() -> None:
    from booking.cli import _log_config
    from booking.config import LogLevel

    quiet = load_settings(_env_file=None, log_level="warning")
    assert quiet.log_level is LogLevel.warning
    assert _log_config(quiet)["loggers"]["booking"]["level"] == "WARNING"
    with pytest.raises(SettingsError, match="BOOKING_LOG_LEVEL"):
        load_settings(_env_file=None, log_level="chatty")


# A key as `python -c 'import secrets; print(secrets.token_urlsafe(32))'` prints one.
REAL_SECRET = "q3V9-xLw2Rk7TzPa8sYdN4mEuHb6JcFg1KoZiWtC5nM"


def test_production_refuses_to_start_without_a_public_base_url() -> None:
    with pytest.raises(SettingsError, match="BOOKING_PUBLIC_BASE_URL must be set"):
        load_settings(
            _env_file=None, environment="production", secret_key=REAL_SECRET, notifier="smtp"
        )


def test_production_refuses_the_console_notifier() -> None:
    with pytest.raises(SettingsError, match="BOOKING_NOTIFIER=console") as refused:
        load_settings(
            _env_file=None,
            environment="production",
            secret_key=REAL_SECRET,
            public_base_url="https://book.example.com",
        )
    assert "BOOKING_PUBLIC_BASE_URL" not in str(refused.value)


def test_links_follow_the_served_address_only_when_no_base_url_is_set() -> None:
    served = {"_env_file": None, "served_base_url": "http://127.0.0.1:8123"}
    assert load_settings(**served).links_base_url == "http://127.0.0.1:8123"
    configured = load_settings(**served, public_base_url="https://book.example.com/")
    assert configured.links_base_url == "https://book.example.com"
    assert load_settings(_env_file=None).links_base_url == "http://127.0.0.1:8000"
    with pytest.raises(SettingsError, match="BOOKING_PUBLIC_BASE_URL"):
        load_settings(_env_file=None, public_base_url="book.example.com")
