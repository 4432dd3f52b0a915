"""Real processes: the relay inside `booking serve`, and two `booking worker`s at once."""

from __future__ import annotations

import collections
import subprocess
import time
from pathlib import Path

import httpx

from tests.factories import appointment_request
from tests.notifications.smtp import SmtpServer
from tests.servers import BOOKING, booking_env, next_open_day, run_booking, running_servers


def request_body() -> dict[str, object]:
    return appointment_request(preferred_windows=[{"date": next_open_day(), "part_of_day": "any"}])


def smtp_settings(smtp_server: SmtpServer) -> dict[str, str]:
    return {"notifier": "smtp", "smtp_host": "127.0.0.1", "smtp_port": str(smtp_server.port)}


def test_the_relay_inside_serve_delivers_right_after_the_commit(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    with running_servers(database_url, tmp_path, **smtp_settings(smtp_server)) as [url]:
        started = time.monotonic()
        response = httpx.post(url + "/api/v1/appointments", json=request_body(), timeout=10)
        assert response.status_code == 201
        while len(smtp_server.messages) < 2 and time.monotonic() - started < 10:
            time.sleep(0.02)
    assert len(smtp_server.messages) == 2, "the emails did not arrive within 10 seconds"


def test_two_workers_drain_the_outbox_without_duplicates(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    settings = {**smtp_settings(smtp_server), "relay_in_process": "false", "outbox_batch_size": "7"}
    with running_servers(database_url, tmp_path, **settings) as [url], httpx.Client() as http:
        for _ in range(40):
            assert http.post(url + "/api/v1/appointments", json=request_body()).status_code == 201
    assert smtp_server.messages == []  # nothing delivered without a relay

    env = booking_env(database_url, **settings)
    workers = [
        subprocess.Popen(
            [BOOKING, "worker", "--once"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120)[1] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs

    counts = collections.Counter(message["Message-ID"] for message in smtp_server.messages)
    assert len(counts) == 80
    assert set(counts.values()) == {1}
    delivered = sum(int(output.rsplit("delivered ", 1)[1].split()[0]) for output in outputs)
    assert delivered == 80


def test_the_outbox_command_lists_and_retries_dead_messages(
    database_url: str, tmp_path: Path, smtp_server: SmtpServer
) -> None:
    settings = {**smtp_settings(smtp_server), "relay_in_process": "false"}
    env = booking_env(database_url, **settings)
    with running_servers(database_url, tmp_path, **settings) as [url]:
        assert httpx.post(url + "/api/v1/appointments", json=request_body()).status_code == 201

    def booking(*args: str) -> subprocess.CompletedProcess[str]:
        return run_booking(*args, env=env)

    smtp_server.inbox.refuse_with = "550 5.7.1 Refused"
    assert booking("worker", "--once").returncode == 0
    dead = booking("outbox", "list", "--dead").stdout.splitlines()
    assert len(dead) == 2
    assert all("\tdead\t1\t" in line and "SMTP 550" in line for line in dead)

    smtp_server.inbox.refuse_with = None
    first_id = dead[0].split("\t")[0]
    assert "1 message(s)" in booking("outbox", "retry", first_id).stdout
    assert "1 message(s)" in booking("outbox", "retry", "--all-dead").stdout
    assert booking("worker", "--once").returncode == 0
    assert len(smtp_server.messages) == 2
    assert "no pending or dead messages" in booking("outbox", "list").stderr
