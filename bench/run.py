"""booking's benchmark: one command, over loopback, side by side with a bare FastAPI endpoint.

    python bench/run.py [--duration 10] [--connections 32] [--rows 200000] [--skip-postgres]

For SQLite and PostgreSQL it starts `booking serve` (one worker, in-process relay, console
notifier) on a fresh database and measures: the public POST, the desk list's first page and a
page deep in a large table (--rows requests), and a confirm flow (confirms at distinct times,
32 at once). It also serves a bare FastAPI endpoint taking the same body with no database, the
ceiling, and prints every throughput as a share of it. Load comes from wrk when installed
(`apt-get install wrk`), else from an asyncio client in this process (which competes with the
server for the CPU: the numbers are then lower bounds). Server CPU seconds and peak RSS come
from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from deep_page import fill  # noqa: E402

from tests.databases import ensure_database  # noqa: E402
from tests.factories import appointment_request  # noqa: E402
from tests.servers import BOOKING, booking_env, free_port, next_open_day  # noqa: E402
from tests.staff.helpers import StaffLogin, create_staff_with_cli  # noqa: E402


@dataclass
class Result:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int = 0


class Server:
    """A server process on a free port, with its CPU time and peak memory from /proc."""

    def __init__(self, command: list[str], env: dict[str, str], workdir: Path) -> None:
        self.port = free_port()
        self.log = (workdir / f"server-{self.port}.log").open("w")
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            env=env,
            cwd=workdir,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                httpx.get(self.url + "/openapi.json", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def bare_server(workdir: Path) -> Server:
    """The ceiling: bench/bare.py, the same body into a FastAPI endpoint with no database."""
    command = [sys.executable, "-m", "uvicorn", "bare:app", "--app-dir", str(ROOT / "bench")]
    return Server(
        [*command, "--log-level", "warning", "--no-access-log"], dict(os.environ), workdir
    )


def wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    script: str | None = None,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Result:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    env = {**os.environ, "BOOKING_BENCH_BODY": body or "", "BOOKING_BENCH_KEYED": "1"}
    output = subprocess.run([*command, url], capture_output=True, text=True, env=env).stdout

    def latency(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Result("", rate, latency("50"), latency("99"), int(errors.group(1)) if errors else 0)


async def python_load(
    url: str,
    *,
    duration: int,
    connections: int,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> Result:
    timings: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration
    async with httpx.AsyncClient(
        timeout=30, limits=httpx.Limits(max_connections=connections)
    ) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                request_headers = {**(headers or {}), "Idempotency-Key": uuid.uuid4().hex}
                started = time.perf_counter()
                response = await client.request(method, url, content=body, headers=request_headers)
                timings.append((time.perf_counter() - started) * 1000)
                errors += response.status_code >= 300

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    ordered = sorted(timings)
    return Result(
        "",
        len(ordered) / elapsed,
        statistics.median(ordered),
        ordered[int(len(ordered) * 0.99)],
        errors,
    )


def load(
    url: str,
    *,
    duration: int,
    connections: int,
    post_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> Result:
    if shutil.which("wrk"):
        script = str(ROOT / "bench" / "post.lua") if post_body else None
        hdrs = {**(headers or {}), **({"Content-Type": "application/json"} if post_body else {})}
        return wrk(
            url,
            duration=duration,
            connections=connections,
            script=script,
            headers=hdrs,
            body=post_body,
        )
    method = "POST" if post_body else "GET"
    hdrs = {**(headers or {}), **({"Content-Type": "application/json"} if post_body else {})}
    return asyncio.run(
        python_load(
            url,
            duration=duration,
            connections=connections,
            method=method,
            headers=hdrs,
            body=post_body,
        )
    )


async def confirm_flow(url: str, token: str, count: int, connections: int) -> Result:
    """Create ``count`` requests, then confirm them all, ``connections`` at a time, at distinct
    30-minute slots on open days (no clashes: this measures the happy path)."""
    headers = {"Authorization": f"Bearer {token}"}
    body = appointment_request(preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}])
    slots = []
    day = dt.date.fromisoformat(next_open_day())
    while len(slots) < count:
        if day.weekday() < 5:
            slots += [
                f"{day}T{hour:02d}:{minute:02d}:00-06:00"
                for hour in range(8, 17)
                for minute in (0, 30)
            ]
        day += dt.timedelta(days=1)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        ids = []
        for _ in range(count):
            response = await client.post("/api/v1/appointments", json=body)
            ids.append(response.json()["id"])
        gate = asyncio.Semaphore(connections)
        timings: list[float] = []
        errors = 0

        async def confirm(appointment_id: str, start: str) -> None:
            nonlocal errors
            async with gate:
                began = time.perf_counter()
                response = await client.post(
                    f"/api/v1/appointments/{appointment_id}/confirm",
                    json={"start": start},
                    headers=headers,
                )
                timings.append((time.perf_counter() - began) * 1000)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(confirm(i, s) for i, s in zip(ids, slots, strict=False)))
        elapsed = time.perf_counter() - started
    ordered = sorted(timings)
    return Result(
        "confirm flow",
        count / elapsed,
        statistics.median(ordered),
        ordered[int(len(ordered) * 0.99)],
        errors,
    )


def deep_cursor(database_url: str, depth: int) -> str:
    from deep_page import deep_cursor as find

    cursor, _ = asyncio.run(find(database_url, depth))
    return cursor


def prepare_database(env: dict[str, str], workdir: Path, staff_email: str) -> StaffLogin:
    """Migrate the database and give it a staff account."""
    subprocess.run([BOOKING, "migrate"], env=env, cwd=workdir, check=True, capture_output=True)
    return create_staff_with_cli(env, workdir, staff_email)


def run_backend(
    name: str, database_url: str, args: argparse.Namespace, workdir: Path, bare_rate: float
) -> list[tuple[str, Result, float, float]]:
    env = booking_env(database_url, public_rate_limit="0", log_format="text")
    env["BOOKING_PUBLIC_BASE_URL"] = "http://127.0.0.1"
    clerk = prepare_database(env, workdir, "bench@example.com")
    server = Server([BOOKING, "serve"], env, workdir)
    rows: list[tuple[str, Result, float, float]] = []
    try:
        token = clerk.access_token(server.url)
        auth = {"Authorization": f"Bearer {token}"}
        body = json.dumps(
            appointment_request(preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}])
        )

        def measure(label: str, run: object) -> None:
            cpu_before = server.cpu_seconds()
            result = run() if callable(run) else run  # type: ignore[operator]
            result.name = label
            rows.append((label, result, server.cpu_seconds() - cpu_before, server.peak_rss_mb()))

        load(
            server.url + "/api/v1/appointments",
            duration=2,
            connections=args.connections,
            post_body=body,
        )  # warm-up
        measure(
            "POST /api/v1/appointments",
            lambda: load(
                server.url + "/api/v1/appointments",
                duration=args.duration,
                connections=args.connections,
                post_body=body,
            ),
        )
        measure(
            "confirm flow",
            lambda: asyncio.run(confirm_flow(server.url, token, args.confirms, args.connections)),
        )
        asyncio.run(fill(database_url, args.rows))
        cursor = deep_cursor(database_url, args.rows // 4)
        list_url = server.url + "/api/v1/appointments?status=requested"
        measure(
            "desk list, first page",
            lambda: load(
                list_url, duration=args.duration, connections=args.connections, headers=auth
            ),
        )
        measure(
            f"desk list, page at {args.rows // 4:,}",
            lambda: load(
                f"{list_url}&cursor={cursor}",
                duration=args.duration,
                connections=args.connections,
                headers=auth,
            ),
        )
    finally:
        server.stop()
    print(f"\n{name} ({args.rows:,} rows in the list's table; {args.connections} connections)")
    print(
        f"  {'what':<34}{'req/s':>9}{'of bare':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
        f"{'CPU s':>8}{'RSS MB':>8}"
    )
    for label, result, cpu, rss in rows:
        share = f"{result.requests_per_second / bare_rate:.1%}"
        print(
            f"  {label:<34}{result.requests_per_second:>9.0f}{share:>9}{result.p50_ms:>9.1f}"
            f"{result.p99_ms:>9.1f}{result.errors:>9}{cpu:>8.1f}{rss:>8.0f}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--confirms", type=int, default=400)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/booking_bench_run"
    )
    args = parser.parse_args()
    generator = "wrk" if shutil.which("wrk") else "python asyncio (apt-get install wrk is better)"
    print(f"load generator: {generator}")
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        body = json.dumps(appointment_request(preferred_windows=[{"date": next_open_day()}]))
        bare = bare_server(workdir)
        try:
            load(
                bare.url + "/api/v1/appointments",
                duration=2,
                connections=args.connections,
                post_body=body,
            )
            ceiling = load(
                bare.url + "/api/v1/appointments",
                duration=args.duration,
                connections=args.connections,
                post_body=body,
            )
            print(
                f"bare FastAPI POST (no database): {ceiling.requests_per_second:.0f} req/s, "
                f"p50 {ceiling.p50_ms:.1f} ms, p99 {ceiling.p99_ms:.1f} ms, "
                f"peak RSS {bare.peak_rss_mb():.0f} MB"
            )
        finally:
            bare.stop()
        run_backend(
            "sqlite", f"sqlite:///{workdir}/bench.db", args, workdir, ceiling.requests_per_second
        )
        if not args.skip_postgres:
            asyncio.run(ensure_database(args.postgres, fresh=True))
            run_backend("postgresql", args.postgres, args, workdir, ceiling.requests_per_second)


if __name__ == "__main__":
    main()
