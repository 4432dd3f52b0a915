"""CPU milliseconds per request of the server process: steady where req/s on a shared 2-core
machine is not.

    python bench/cpu.py [--duration 8] [--connections 32] [--skip-sqlite] [--skip-postgres]

For each database, and with the relay in process (zero-config: `booking serve` delivers its own
emails to the console) and out of process (a `booking worker` would deliver; none runs here),
it starts one `booking serve`, loads one endpoint at a time with wrk, waits until the server is
idle again (the relay's work after the load counts), and divides the server's CPU time (from
/proc) by the requests served. The bare FastAPI endpoint is measured the same way, in the same
run, as the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from run import Server, bare_server, prepare_database  # noqa: E402

from tests.databases import ensure_database  # noqa: E402
from tests.factories import appointment_request  # noqa: E402
from tests.servers import BOOKING, booking_env, next_open_day  # noqa: E402

POST_SCRIPT = str(ROOT / "bench" / "post.lua")


def wrk(
    url: str,
    args: argparse.Namespace,
    *,
    body: str = "",
    keyed: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[int, float, float, int]:
    """(requests, req/s, p99 ms, non-2xx) of one wrk run."""
    command = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if body:
        command += ["-s", POST_SCRIPT]
    env = {**os.environ, "BOOKING_BENCH_BODY": body, "BOOKING_BENCH_KEYED": "1" if keyed else ""}
    output = subprocess.run([*command, url], capture_output=True, text=True, env=env).stdout
    served = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    match = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    p99 = float("nan")
    if match:
        value, unit = float(match.group(1)), match.group(2)
        p99 = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return served, rate, p99, int(errors.group(1)) if errors else 0


def settle(server: Server) -> None:
    """Wait until the server has used no CPU for a second: the relay's tail is counted."""
    last = server.cpu_seconds()
    while True:
        time.sleep(1.0)
        now = server.cpu_seconds()
        if now - last < 0.01:
            return
        last = now


def measure(
    server: Server, label: str, run: object, rows: list[list[str]], ceiling: float
) -> float:
    settle(server)
    before = server.cpu_seconds()
    served, rate, p99, errors = run()  # type: ignore[operator]
    settle(server)
    cpu_ms = (server.cpu_seconds() - before) * 1000 / max(served, 1)
    share = f"{rate / ceiling:.1%}" if ceiling else ""
    rows.append(
        [
            label,
            f"{cpu_ms:.2f}",
            f"{rate:.0f}",
            share,
            f"{p99:.1f}",
            str(errors),
            f"{server.peak_rss_mb():.0f}",
        ]
    )
    return rate


def worker_run(env: dict[str, str], workdir: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `booking worker --once`, from the kernel's account
    of this process's finished children."""
    before = os.times()
    started = time.perf_counter()
    subprocess.run(
        [BOOKING, "worker", "--once"], env=env, cwd=workdir, check=True, capture_output=True
    )
    wall = time.perf_counter() - started
    after = os.times()
    return (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    ), wall


def measure_drain(env: dict[str, str], workdir: Path, rows: list[list[str]]) -> None:
    """`booking worker --once` delivering what the POSTs above queued, to the file notifier
    (no fsync): CPU per email with the process's start-up (an empty run) taken away."""
    queued = asyncio.run(pending_messages(env["BOOKING_DATABASE_URL"]))
    mail = {**env, "BOOKING_NOTIFIER": "file", "BOOKING_MAIL_DIR": str(workdir / "mail")}
    cpu, wall = worker_run(mail, workdir)
    empty_cpu, empty_wall = worker_run(mail, workdir)
    per_email = (cpu - empty_cpu) * 1000 / max(queued, 1)
    rate = queued / max(wall - empty_wall, 1e-9)
    label = f"worker --once, {queued} queued emails to files"
    rows.append([label, f"{per_email:.2f}", f"{rate:.0f}", "", "", "", ""])


async def pending_messages(database_url: str) -> int:
    from sqlalchemy import func, select

    from booking.db import create_engine
    from booking.notifications.models import outbox_messages
    from tests.settings import make_settings

    engine = create_engine(make_settings(database_url))
    try:
        async with engine.connect() as connection:
            statement = select(func.count()).where(outbox_messages.c.status == "pending")
            return int(await connection.scalar(statement) or 0)
    finally:
        await engine.dispose()


def run_server(
    name: str,
    database_url: str,
    relay: bool,
    args: argparse.Namespace,
    workdir: Path,
    ceiling: float,
    rows: list[list[str]],
) -> None:
    env = booking_env(database_url, public_rate_limit="0", log_format="text")
    env["BOOKING_PUBLIC_BASE_URL"] = "http://127.0.0.1"
    env["BOOKING_RELAY_IN_PROCESS"] = "true" if relay else "false"
    env["BOOKING_NOTIFIER"] = "console"
    clerk = prepare_database(env, workdir, f"bench-{relay}@example.com")
    server = Server([BOOKING, "serve"], env, workdir)
    where = f"{name}, relay {'in process' if relay else 'off'}"
    try:
        token = clerk.access_token(server.url)
        body = json.dumps(
            appointment_request(preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}])
        )
        post_url = server.url + "/api/v1/appointments"
        wrk(post_url, args, body=body, keyed=True)  # warm-up
        measure(
            server, f"{where}: POST, no key", lambda: wrk(post_url, args, body=body), rows, ceiling
        )
        measure(
            server,
            f"{where}: POST, Idempotency-Key",
            lambda: wrk(post_url, args, body=body, keyed=True),
            rows,
            ceiling,
        )
        auth = {"Authorization": f"Bearer {token}"}
        list_url = server.url + "/api/v1/appointments?limit=25"
        measure(
            server,
            f"{where}: desk list, 25 rows",
            lambda: wrk(list_url, args, headers=auth),
            rows,
            0,
        )
        if not relay:
            measure_drain(env, workdir, rows)
            measure(
                server, f"{where}: /healthz", lambda: wrk(server.url + "/healthz", args), rows, 0
            )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/booking_bench_cpu"
    )
    args = parser.parse_args()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        body = json.dumps(appointment_request(preferred_windows=[{"date": next_open_day()}]))
        bare = bare_server(workdir)
        try:
            wrk(bare.url + "/api/v1/appointments", args, body=body)
            ceiling = measure(
                bare,
                "bare FastAPI POST (no database)",
                lambda: wrk(bare.url + "/api/v1/appointments", args, body=body),
                rows,
                0,
            )
        finally:
            bare.stop()
        backends = []
        if not args.skip_postgres:
            backends.append(("postgresql", args.postgres))
        if not args.skip_sqlite:
            backends.append(("sqlite", f"sqlite:///{workdir}/bench.db"))
        for name, url in backends:
            for relay in (False, True):
                if name == "postgresql":
                    asyncio.run(ensure_database(url, fresh=True))
                elif Path(url.removeprefix("sqlite:///")).exists():
                    for suffix in ("", "-wal", "-shm"):
                        Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
                run_server(name, url, relay, args, workdir, ceiling, rows)
    header = ["what", "CPU ms/req", "req/s", "of bare", "p99 ms", "non-2xx", "RSS MB"]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
