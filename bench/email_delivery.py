"""How fast emails leave: commit → local SMTP server, and draining a queue of 1,000 messages.

    python bench/email_delivery.py [--requests 200] [--queued 1000] [--sqlite]

1. Latency: `booking serve` with the in-process relay and a local SMTP server (aiosmtpd, in this
   process). One request at a time; for each, the time from sending the POST to the SMTP server
   accepting the patient's email (an upper bound of commit → accepted: it includes the request).
2. Drain: the same with the relay off; POST until --queued messages wait (two per request: the
   patient's and the desk's), then time `booking worker --once` delivering them all.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.databases import ensure_database
from tests.factories import appointment_request
from tests.servers import BOOKING, booking_env, free_port, next_open_day, running_servers


class Arrivals:
    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.changed:
            self.count += 1
            self.changed.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.count >= count, timeout=timeout)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/booking_bench_mail"
    )
    args = parser.parse_args()

    arrivals = Arrivals()
    port = free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=port)
    controller.start()
    smtp = {"notifier": "smtp", "smtp_host": "127.0.0.1", "smtp_port": str(port)}
    body = appointment_request(preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}])
    backend = "sqlite" if args.sqlite else "postgresql"
    try:
        with tempfile.TemporaryDirectory() as workdir:
            url = f"sqlite:///{workdir}/bench.db" if args.sqlite else args.postgres
            if not args.sqlite:
                asyncio.run(ensure_database(url, fresh=True))
            subprocess.run(
                [BOOKING, "migrate"], env=booking_env(url), check=True, capture_output=True
            )

            latencies = []
            with (
                running_servers(url, Path(workdir), **smtp) as [base],
                httpx.Client(base_url=base) as http,
            ):
                for _ in range(args.requests):
                    expected = arrivals.count + 2
                    started = time.perf_counter()
                    assert http.post("/api/v1/appointments", json=body).status_code == 201
                    arrivals.wait_for(expected, timeout=30)
                    latencies.append((time.perf_counter() - started) * 1000)

            quiet = {**smtp, "relay_in_process": "false"}
            with (
                running_servers(url, Path(workdir), **quiet) as [base],
                httpx.Client(base_url=base) as http,
            ):
                for _ in range(args.queued // 2):
                    assert http.post("/api/v1/appointments", json=body).status_code == 201
            before = arrivals.count
            started = time.perf_counter()
            subprocess.run(
                [BOOKING, "worker", "--once"],
                env=booking_env(url, **quiet),
                check=True,
                capture_output=True,
            )
            drain_seconds = time.perf_counter() - started
            drained = arrivals.count - before
    finally:
        controller.stop()

    print(
        f"{backend}: POST → patient's email accepted by the SMTP server, in-process relay, "
        f"{args.requests} sequential requests"
    )
    print(
        f"  p50 {statistics.median(latencies):6.1f} ms   p95 {percentile(latencies, 0.95):6.1f} ms"
        f"   p99 {percentile(latencies, 0.99):6.1f} ms   max {max(latencies):6.1f} ms"
    )
    print(
        f"{backend}: `booking worker --once` drained {drained} queued messages in "
        f"{drain_seconds:.2f} s ({drained / drain_seconds:.0f} messages/s, process start included)"
    )


if __name__ == "__main__":
    main()
