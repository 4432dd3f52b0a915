"""The ``booking`` command as an operator uses it: real processes, real ports."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
from pathlib import Path

import httpx
import jwt
import pytest

from booking.staff.tokens import ALGORITHM, signing_key
from tests.databases import ensure_database, postgres_database_url
from tests.factories import appointment_request
from tests.servers import booking_env, free_port, next_open_day, running_servers
from tests.servers import run_booking as run
from tests.staff.helpers import create_staff_with_cli


def test_serve_migrates_a_new_sqlite_database_and_accepts_requests(tmp_path: Path) -> None:
    with running_servers(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path) as [base_url]:
        body = appointment_request(preferred_windows=[{"date": next_open_day()}])
        response = httpx.post(base_url + "/api/v1/appointments", json=body, timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "requested"


def test_serve_refuses_a_postgresql_database_with_pending_migrations(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_database_url("unmigrated")
    asyncio.run(ensure_database(url, fresh=True))

    refused = run("serve", "--port", str(free_port()), env=booking_env(url))
    assert refused.returncode == 1
    assert "migrations pending" in refused.stderr
    assert "booking migrate" in refused.stderr

    migrated = run("migrate", env=booking_env(url))
    assert migrated.returncode == 0, migrated.stderr
    assert run("migrate", env=booking_env(url)).returncode == 0  # running it again is harmless


def test_an_unreachable_database_is_a_clear_message(tmp_path: Path) -> None:
    result = run("migrate", env=booking_env("postgresql://nobody@127.0.0.1:1/none"))
    assert result.returncode == 1
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    env = booking_env(f"sqlite:///{tmp_path / 'x.db'}", practice_timezone="Atlantis/Capital")
    result = run("serve", env=env)
    assert result.returncode != 0
    assert "BOOKING_PRACTICE_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_openapi_prints_the_spec(tmp_path: Path) -> None:
    result = run("openapi", env=booking_env(f"sqlite:///{tmp_path / 'x.db'}"))
    spec = json.loads(result.stdout)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/appointments" in spec["paths"]


def test_staff_accounts_are_managed_from_the_command_line(tmp_path: Path) -> None:
    env = booking_env(f"sqlite:///{tmp_path / 'staff.db'}")
    assert run("migrate", env=env).returncode == 0

    def staff(*args: str, password: str | None = None) -> subprocess.CompletedProcess[str]:
        return run("staff", *args, env=env, stdin=password)

    created = staff(
        "create",
        "Admin@Practice.example",
        "--role",
        "admin",
        "--name",
        "Ada",
        "--password-stdin",
        password="a long enough password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "admin@practice.example" in created.stdout

    weak = staff("create", "weak@practice.example", "--password-stdin", password="short\n")
    assert weak.returncode == 1
    assert "at least 12 characters" in weak.stderr
    twice = staff("create", "admin@practice.example", "--password-stdin", password="x" * 12)
    assert twice.returncode == 1
    assert "exists" in twice.stderr

    assert "admin@practice.example\tadmin\tactive\tAda" in staff("list").stdout
    reset = staff("reset-password", "admin@practice.example", "--password-stdin", password="y" * 14)
    assert reset.returncode == 0, reset.stderr
    last_admin = staff("deactivate", "admin@practice.example")
    assert last_admin.returncode == 1
    assert "last active admin" in last_admin.stderr
    assert "admin@practice.example\tadmin\tactive" in staff("list").stdout
    clerk = staff("create", "clerk@practice.example", "--password-stdin", password="z" * 12)
    assert clerk.returncode == 0, clerk.stderr
    assert staff("deactivate", "clerk@practice.example").returncode == 0
    assert "clerk@practice.example\tfront_desk\tdeactivated" in staff("list").stdout
    ended = staff("end-sessions", "admin@practice.example")
    assert ended.returncode == 0, ended.stderr
    assert "ended 0 desk session(s)" in ended.stdout
    garbled = staff("create", "x@practice.example", "--name", "Ada\x1b[2J", "--password-stdin")
    assert garbled.returncode == 2
    assert "control characters" in garbled.stderr
    missing = staff("deactivate", "nobody@practice.example")
    assert missing.returncode == 1
    assert "no staff account" in missing.stderr


PASSWORD = "a long enough password"


@pytest.mark.parametrize(
    ("command", "stdin"),
    [
        (["staff", "create", "clerk@practice.example", "--password-stdin"], PASSWORD + "\n"),
        (["staff", "list"], None),
        (["staff", "deactivate", "clerk@practice.example"], None),
        (["staff", "reset-password", "clerk@practice.example", "--password-stdin"], PASSWORD),
        (["worker", "--once"], None),
        (["outbox", "list"], None),
        (["outbox", "retry", "--all-dead"], None),
        (["purge", "--dry-run"], None),
    ],
)
def test_commands_refuse_to_create_a_second_sqlite_database(
    tmp_path: Path, command: list[str], stdin: str | None
) -> None:
    """Run from the wrong folder, a command must not make an empty booking.db there."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run(*command, env=booking_env("sqlite:///booking.db"), cwd=elsewhere, stdin=stdin)
    assert result.returncode != 0
    assert str(elsewhere / "booking.db") in result.stderr  # where it looked, absolute
    assert "BOOKING_DATABASE_URL" in result.stderr
    assert "booking migrate" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(elsewhere.iterdir()) == []  # no database, no secret file


def test_migrate_creates_a_sqlite_database_on_purpose(tmp_path: Path) -> None:
    env = booking_env("sqlite:///booking.db")
    assert run("migrate", env=env, cwd=tmp_path).returncode == 0
    # Patients' details: readable by the service's user only, like the secret beside it.
    assert stat.S_IMODE((tmp_path / "booking.db").stat().st_mode) == 0o600
    create_staff_with_cli(env, tmp_path, "clerk@practice.example", password=PASSWORD)
    assert "clerk@practice.example" in run("staff", "list", env=env, cwd=tmp_path).stdout


def test_without_a_secret_key_serve_generates_one_that_every_process_shares(
    tmp_path: Path,
) -> None:
    """No BOOKING_SECRET_KEY (as the Dockerfile runs it): a random secret, kept in a private
    file beside the database; two servers accept each other's tokens, and a token signed with
    the old placeholder `change-me` opens nothing."""
    database = tmp_path / "booking.db"
    env = booking_env(f"sqlite:///{database}")
    assert "BOOKING_SECRET_KEY" not in env
    assert run("migrate", env=env).returncode == 0
    admin = create_staff_with_cli(
        env, tmp_path, "admin@practice.example", "--role", "admin", password=PASSWORD
    )

    with running_servers(f"sqlite:///{database}", tmp_path, count=2) as [first, second]:
        secret_file = tmp_path / "booking.db.secret"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        secret = secret_file.read_text().strip()
        assert len(secret) >= 43
        assert secret != "change-me"

        token = admin.access_token(first)
        listed = httpx.get(
            second + "/api/v1/appointments", headers={"Authorization": f"Bearer {token}"}
        )
        assert listed.status_code == 200, listed.text

        claims = jwt.decode(token, options={"verify_signature": False})
        for placeholder in ("change-me", ""):
            forged = jwt.encode(claims, signing_key(placeholder), algorithm=ALGORITHM)
            refused = httpx.get(
                second + "/api/v1/appointments", headers={"Authorization": f"Bearer {forged}"}
            )
            assert refused.status_code == 401
