"""Real ``booking`` processes: commands run to completion, and ``booking serve`` on real ports,
for tests that need more than one process."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

BOOKING = str(Path(sys.executable).with_name("booking"))


def run_booking(
    *args: str, env: dict[str, str], cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``booking ARGS`` to its end (a minute at most), its output captured; never raises on a
    non-zero exit: the caller asserts what it expects."""
    return subprocess.run(
        [BOOKING, *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def booking_env(database_url: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env["BOOKING_DATABASE_URL"] = database_url
    env["BOOKING_PUBLIC_RATE_LIMIT"] = "0"
    env["BOOKING_RECEIPTS_PER_ADDRESS_PER_DAY"] = "0"  # tests send many requests from one address
    env["PYTHONUNBUFFERED"] = "1"
    # The scheduler runs in `serve` and `worker`: no morning digest in a test's inbox unless
    # the test asks for one (reminders and expiry need data a test makes on purpose).
    env["BOOKING_DIGEST_TIME"] = ""
    if database_url.startswith("postgres"):
        # PostgreSQL needs a shared key even in development; SQLite servers generate theirs.
        env["BOOKING_SECRET_KEY"] = "tests-only-postgresql-Hc7Wm2Qx9Lb4Vz6Rt1Np8Ks3"
    env.update({f"BOOKING_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def running_servers(
    database_url: str, workdir: Path, count: int = 1, workers: int = 1, **settings: str
) -> Iterator[list[str]]:
    """Start ``count`` servers (of ``workers`` processes each) on one database; yield their base
    URLs; stop them. Each has BOOKING_PUBLIC_BASE_URL set to its address unless told otherwise."""
    processes: list[subprocess.Popen[str]] = []
    urls = []
    try:
        for number in range(count):
            port = free_port()
            # A file, not a pipe: nobody reads a pipe, and a full one blocks the server.
            log = workdir / f"serve-{number}-{port}.log"
            command = [BOOKING, "serve", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--workers", str(workers)]
            with log.open("w") as output:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=workdir,
                        env=booking_env(
                            database_url,
                            **{"public_base_url": f"http://127.0.0.1:{port}", **settings},
                        ),
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        text=True,
                    )
                )
            urls.append(f"http://127.0.0.1:{port}")
            _wait_until_serving(urls[-1], processes[-1], log)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def _wait_until_serving(base_url: str, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(base_url + "/api/v1/reason-codes", timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None:
                raise RuntimeError(f"booking serve exited early:\n{log.read_text()}") from None
            time.sleep(0.1)
    raise TimeoutError(f"{base_url} did not answer within 30 s")


def next_open_day() -> str:
    """A weekday after today by the real clock (servers in processes cannot share a fake one)."""
    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.isoformat()
