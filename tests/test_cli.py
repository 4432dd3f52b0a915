"""The ``booking`` command as an operator uses it: a real process, a real port."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import _ensure_database, postgres_database_url
from tests.factories import appointment_request

BOOKING = str(Path(sys.executable).with_name("booking"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env["BOOKING_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = run_env(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")
    process = subprocess.Popen(
        [BOOKING, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base_url + "/api/v1/reason-codes", timeout=1)
            break
        except httpx.TransportError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            time.sleep(0.2)
    yield base_url, process
    process.terminate()
    process.wait(timeout=20)


def test_serve_migrates_a_new_sqlite_database_and_accepts_requests(
    serving: tuple[str, subprocess.Popen[str]],
) -> None:
    base_url, _ = serving
    today_plus = appointment_request()
    # The real clock: ask for the next open day instead of the frozen test day.
    import datetime as dt

    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    today_plus["preferred_windows"] = [{"date": day.isoformat(), "part_of_day": "any"}]
    response = httpx.post(base_url + "/api/v1/appointments", json=today_plus, timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "requested"


def test_serve_refuses_a_postgresql_database_with_pending_migrations(
    tmp_path: Path, postgres_url: str
) -> None:
    url = postgres_database_url("unmigrated")
    asyncio.run(_ensure_database(url, fresh=True))
    result = subprocess.run(
        [BOOKING, "serve", "--port", str(free_port())],
        env=run_env(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "migrations pending" in result.stderr
    assert "booking migrate" in result.stderr

    migrated = subprocess.run(
        [BOOKING, "migrate"],
        env=run_env(tmp_path, url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr


def test_a_bad_setting_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    env = run_env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}")
    env["BOOKING_PRACTICE_TIMEZONE"] = "Atlantis/Capital"
    result = subprocess.run(
        [BOOKING, "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "BOOKING_PRACTICE_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr


def test_openapi_prints_the_spec(tmp_path: Path) -> None:
    result = subprocess.run(
        [BOOKING, "openapi"],
        env=run_env(tmp_path, f"sqlite:///{tmp_path / 'x.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    spec = json.loads(result.stdout)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/appointments" in spec["paths"]
