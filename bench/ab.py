"""Two builds of the service side by side: CPU milliseconds per request of each server process,
on PostgreSQL, relay off, in alternating rounds.

    python bench/ab.py --base /path/to/old/.venv/bin/booking [--new booking] [--rounds 3]

Each build gets its own fresh database, migrated by its own ``booking migrate``, with a staff
account made by its own CLI, and the two grow at the same rate: a round runs, for each build
in turn (which goes first alternates), the public POST without and with an ``Idempotency-Key``
and the desk list (25 rows, unfiltered) under wrk. Alternating rounds spreads the machine's
drift over both builds; the spread of a build's rounds is the noise to read its numbers
against.

To measure an older commit: ``git worktree add /tmp/base <rev>``, then make a virtualenv there
and ``pip install -e /tmp/base``; pass that virtualenv's ``booking`` as ``--base``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from cpu import settle, wrk  # noqa: E402
from run import Server  # noqa: E402

from tests.databases import ensure_database  # noqa: E402
from tests.factories import appointment_request  # noqa: E402
from tests.servers import booking_env, next_open_day  # noqa: E402
from tests.staff.helpers import STAFF_PASSWORD, StaffLogin  # noqa: E402

STAFF_EMAIL = "ab@example.com"


def prepare(executable: str, database_url: str, workdir: Path) -> dict[str, str]:
    """A fresh database for one build, migrated and given a staff account by that build."""
    asyncio.run(ensure_database(database_url, fresh=True))
    env = booking_env(database_url, public_rate_limit="0", log_format="text")
    env["BOOKING_PUBLIC_BASE_URL"] = "http://127.0.0.1"
    env["BOOKING_RELAY_IN_PROCESS"] = "false"
    env["BOOKING_NOTIFIER"] = "console"
    subprocess.run([executable, "migrate"], env=env, cwd=workdir, check=True, capture_output=True)
    subprocess.run(
        [executable, "staff", "create", STAFF_EMAIL, "--password-stdin"],
        env=env,
        cwd=workdir,
        input=STAFF_PASSWORD + "\n",
        text=True,
        check=True,
        capture_output=True,
    )
    return env


def one_round(
    executable: str, env: dict[str, str], workdir: Path, args: argparse.Namespace
) -> dict[str, float]:
    """CPU ms per request of each load, on one server of this build."""
    server = Server([executable, "serve"], env, workdir)
    try:
        token = StaffLogin(STAFF_EMAIL, STAFF_PASSWORD).access_token(server.url)
        body = json.dumps(
            appointment_request(preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}])
        )
        post_url = server.url + "/api/v1/appointments"
        list_url = server.url + "/api/v1/appointments?limit=25"
        loads = {
            "POST, no key": lambda: wrk(post_url, args, body=body),
            "POST, Idempotency-Key": lambda: wrk(post_url, args, body=body, keyed=True),
            "desk list, 25 rows": lambda: wrk(
                list_url, args, headers={"Authorization": f"Bearer {token}"}
            ),
        }
        wrk(post_url, args, body=body)  # warm-up
        costs = {}
        for label, load in loads.items():
            settle(server)
            before = server.cpu_seconds()
            served = load()[0]
            settle(server)
            costs[label] = (server.cpu_seconds() - before) * 1000 / max(served, 1)
        return costs
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the older build's booking executable")
    parser.add_argument("--new", default=shutil.which("booking") or "booking")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=6)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/booking_ab")
    args = parser.parse_args()
    builds = {"base": args.base, "new": args.new}
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        prepared = {}
        for name, executable in builds.items():
            workdir = Path(folder) / name
            workdir.mkdir()
            env = prepare(executable, f"{args.postgres}_{name}", workdir)
            prepared[name] = (env, workdir)
        for round_number in range(args.rounds):
            # Each build goes first in every other round: neither always meets a warmer
            # database, a fuller page cache or the machine's drift first.
            order = list(builds.items())
            for name, executable in order if round_number % 2 == 0 else order[::-1]:
                env, workdir = prepared[name]
                for label, cost in one_round(executable, env, workdir, args).items():
                    results.setdefault((label, name), []).append(cost)
    print("CPU ms per request, PostgreSQL, relay off, one column a round")
    for (label, name), costs in sorted(results.items()):
        print(f"{label:24} {name:5} " + "  ".join(f"{cost:.2f}" for cost in costs))


if __name__ == "__main__":
    main()
