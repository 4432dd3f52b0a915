"""A Hypothesis state machine over the lifecycle: requests arrive, clerks confirm, move,
decline and cancel (sometimes two at once). After every step:

- no two confirmed visits of one provider overlap;
- each change that tells the patient queued exactly one email, and nothing else did;
- the audit trail replays to the appointment's current status and version.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import shutil
import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from booking.appointments.models import Appointment, AppointmentEvent
from booking.clock import FrozenClock
from booking.main import create_app
from booking.notifications.models import OutboxMessage
from booking.notifications.service import PATIENT_EMAIL_FOR
from tests.databases import empty_tables
from tests.factories import appointment_request
from tests.settings import NOW, make_settings
from tests.staff.helpers import add_staff, bearer

SLOTS = [
    (dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=15 * n)).isoformat()
    for n in range(8)
]


class Lifecycle(RuleBasedStateMachine):
    database_url: str
    password_hash: str

    appointments = Bundle("appointments")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._start())

    async def _start(self) -> None:
        self.app = create_app(make_settings(self.database_url), clock=FrozenClock(NOW))
        self.lifespan = LifespanManager(self.app)
        await self.lifespan.__aenter__()
        clerks = [
            await add_staff(
                self.app, self.password_hash, email=f"clerk{n}-{uuid.uuid4().hex[:6]}@p.example"
            )
            for n in range(2)
        ]
        self.clerks = [bearer(self.app, clerk) for clerk in clerks]
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://machine")

    def teardown(self) -> None:
        async def stop() -> None:
            await self.client.aclose()
            await self.lifespan.__aexit__(None, None, None)

        self.loop.run_until_complete(stop())
        self.loop.close()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def act(self, clerk: int, appointment_id: str, action: str, body: Any) -> httpx.Response:
        response: httpx.Response = self.run(
            self.client.post(
                f"/api/v1/appointments/{appointment_id}/{action}",
                json=body,
                headers=self.clerks[clerk],
            )
        )
        assert response.status_code in {200, 409, 422}, response.text
        return response

    # --- rules -------------------------------------------------------------------------------

    @rule(target=appointments, urgent=st.booleans())
    def request_appointment(self, urgent: bool) -> str:
        body = appointment_request(urgent_symptoms=["recent_trauma"] if urgent else [])
        response = self.run(self.client.post("/api/v1/appointments", json=body))
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    @rule(appointment=appointments, slot=st.sampled_from(SLOTS), clerk=st.integers(0, 1))
    def confirm(self, appointment: str, slot: str, clerk: int) -> None:
        self.act(clerk, appointment, "confirm", {"start": slot})

    @rule(
        appointment=appointments, slot=st.sampled_from(SLOTS), minutes=st.sampled_from([15, 30, 45])
    )
    def reschedule(self, appointment: str, slot: str, minutes: int) -> None:
        self.act(0, appointment, "reschedule", {"start": slot, "duration_minutes": minutes})

    @rule(appointment=appointments)
    def decline(self, appointment: str) -> None:
        self.act(1, appointment, "decline", {"reason": "Not for us"})

    @rule(appointment=appointments)
    def cancel(self, appointment: str) -> None:
        self.act(0, appointment, "cancel", {"reason": "Patient called"})

    @rule(first=appointments, second=appointments, slot=st.sampled_from(SLOTS))
    def two_clerks_confirm_at_once(self, first: str, second: str, slot: str) -> None:
        async def both() -> list[httpx.Response]:
            return list(
                await asyncio.gather(
                    *(
                        self.client.post(
                            f"/api/v1/appointments/{appointment}/confirm",
                            json={"start": slot},
                            headers=self.clerks[clerk],
                        )
                        for clerk, appointment in enumerate((first, second))
                    )
                )
            )

        responses = self.run(both())
        assert all(r.status_code in {200, 409, 422} for r in responses)
        assert [r.status_code for r in responses].count(200) <= 1  # same slot: one at most

    # --- invariants --------------------------------------------------------------------------

    def rows(self, model: Any) -> list[Any]:
        async def read() -> list[Any]:
            async with self.app.state.sessionmaker() as session:
                return list((await session.execute(select(model))).scalars())

        return list(self.run(read()))

    @invariant()
    def no_overlapping_confirmed_visits(self) -> None:
        visits = [a for a in self.rows(Appointment) if a.status == "confirmed"]
        for a, b in itertools.combinations(visits, 2):
            if a.provider_id == b.provider_id:
                assert not (a.start_at < b.end_at and b.start_at < a.end_at), (a.id, b.id)

    @invariant()
    def one_email_per_change_that_tells_the_patient(self) -> None:
        events = self.rows(AppointmentEvent)
        expected = Counter(
            (event.appointment_id, event.version)
            for event in events
            if event.action in PATIENT_EMAIL_FOR
        )
        queued = Counter(
            (message.appointment_id, message.appointment_version)
            for message in self.rows(OutboxMessage)
            if message.channel == "patient_email"
        )
        assert queued == expected

    @invariant()
    def the_audit_trail_replays_to_the_current_state(self) -> None:
        history: dict[Any, list[AppointmentEvent]] = {}
        for event in self.rows(AppointmentEvent):
            history.setdefault(event.appointment_id, []).append(event)
        for appointment in self.rows(Appointment):
            events = sorted(history[appointment.id], key=lambda event: event.version)
            status = None
            for expected_version, event in enumerate(events, start=1):
                assert event.version == expected_version
                assert event.from_status == status
                status = event.to_status
            assert status == appointment.status
            assert events[-1].version == appointment.version


def test_the_lifecycle_keeps_its_invariants(
    database_url: str, backend: str, sqlite_template_path: Path | None, staff_password_hash: str
) -> None:
    workdir = Path(tempfile.mkdtemp())

    class Machine(Lifecycle):
        password_hash = staff_password_hash

        def __init__(self) -> None:
            # A fresh database for every example Hypothesis runs.
            if backend == "sqlite":
                assert sqlite_template_path is not None
                path = workdir / f"{uuid.uuid4().hex}.db"
                shutil.copy(sqlite_template_path, path)
                type(self).database_url = f"sqlite:///{path}"
            else:
                asyncio.run(empty_tables(database_url))
                type(self).database_url = database_url
            super().__init__()

    try:
        run_state_machine_as_test(
            Machine,
            settings=settings(
                max_examples=12,
                stateful_step_count=25,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def sqlite_template_path(backend: str, request: pytest.FixtureRequest) -> Path | None:
    return request.getfixturevalue("sqlite_template") if backend == "sqlite" else None
