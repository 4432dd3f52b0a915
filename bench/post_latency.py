"""One-client latency of the public POST, on SQLite and PostgreSQL, over loopback.

    python bench/post_latency.py [--requests 500] [--postgres postgresql://postgres@127.0.0.1/booking_bench]

Starts `booking serve` itself on a fresh database for each backend, sends requests one after
another (a new Idempotency-Key each), and prints p50, p90, p99 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

BOOKING = str(Path(sys.executable).with_name("booking"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def next_open_day() -> str:
    day = dt.date.today() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.isoformat()


def body() -> dict[str, object]:
    return {
        "patient": {
            "first_name": "Bench",
            "last_name": "Mark",
            "email": "bench@example.com",
            "phone": "+1 312 555 0142",
            "is_new_patient": True,
        },
        "reason_code": "back_pain",
        "preferred_windows": [{"date": next_open_day(), "part_of_day": "any"}],
        "contact_preference": "email",
        "consent": True,
    }


async def fresh_postgres(url: str) -> None:
    database = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()


def measure(database_url: str, requests: int, workdir: Path) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKING_")}
    env |= {"BOOKING_DATABASE_URL": database_url, "BOOKING_PUBLIC_RATE_LIMIT": "0"}
    subprocess.run([BOOKING, "migrate"], env=env, cwd=workdir, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [BOOKING, "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(100):
                try:
                    client.get("/api/v1/reason-codes")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            payload = body()
            for _ in range(50):  # warm-up
                client.post("/api/v1/appointments", json=payload)
            timings = []
            for _ in range(requests):
                headers = {"Idempotency-Key": uuid.uuid4().hex}
                started = time.perf_counter()
                response = client.post("/api/v1/appointments", json=payload, headers=headers)
                timings.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 201, response.text
            return timings
    finally:
        server.terminate()
        server.wait(timeout=20)


def report(name: str, timings: list[float]) -> None:
    ordered = sorted(timings)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1)]

    print(
        f"{name:<11} n={len(ordered)}  p50={statistics.median(ordered):6.2f} ms  "
        f"p90={pct(90):6.2f} ms  p99={pct(99):6.2f} ms  max={ordered[-1]:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/booking_bench")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        report("sqlite", measure(f"sqlite:///{workdir}/bench.db", args.requests, Path(workdir)))
        asyncio.run(fresh_postgres(args.postgres))
        report("postgresql", measure(args.postgres, args.requests, Path(workdir)))


if __name__ == "__main__":
    main()
