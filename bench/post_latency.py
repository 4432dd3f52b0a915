"""One-client latency of the public POST, on SQLite and PostgreSQL, over loopback.

    python bench/post_latency.py [--requests 500] [--postgres postgresql://postgres@127.0.0.1/booking_bench]

Starts `booking serve` itself on a fresh database for each backend, sends requests one after
another (a new Idempotency-Key each), and prints p50, p90, p99 and max in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.databases import ensure_database
from tests.factories import appointment_request
from tests.servers import BOOKING, booking_env, next_open_day, running_servers


def measure(database_url: str, requests: int, workdir: Path, **settings: str) -> list[float]:
    subprocess.run(
        [BOOKING, "migrate"], env=booking_env(database_url), check=True, capture_output=True
    )
    payload = appointment_request(
        preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}]
    )
    with (
        running_servers(database_url, workdir) as [base],
        httpx.Client(base_url=base, timeout=10) as client,
    ):
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
        asyncio.run(ensure_database(args.postgres, fresh=True))
        report("postgresql", measure(args.postgres, args.requests, Path(workdir)))


if __name__ == "__main__":
    main()
