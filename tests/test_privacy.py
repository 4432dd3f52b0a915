"""Sentinel values in every personal field never reach a log line, a metric, a webhook body
or an email header; `booking purge` anonymises what is past its retention."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select

from booking.appointments.models import Appointment, AppointmentEvent
from booking.clock import FrozenClock
from booking.main import create_app
from booking.manage.models import ManageToken
from booking.notifications.emails import build_email
from booking.notifications.models import OutboxMessage
from booking.privacy import service as privacy
from tests.factories import appointment_request
from tests.helpers import chicago, confirm
from tests.settings import make_settings
from tests.staff.helpers import bearer

SENTINELS = {
    "first": "Qzfirstsentinel",
    "last": "Qzlastsentinel",
    "email": "qzmailsentinel@qzdomain.example",
    "phone": "+1 312 555 0199",
    "detail": "Qzdetailsentinel",
}


async def test_sentinels_reach_no_log_metric_webhook_or_email_header(
    database_url: str,
    clock: FrozenClock,
    caplog: pytest.LogCaptureFixture,
    staff_password_hash: str,
) -> None:
    settings = make_settings(
        database_url,
        webhook_urls="http://127.0.0.1:9/hooks",
        webhook_secret="a webhook secret of enough length",
    )
    app = create_app(settings, clock=clock)
    from tests.staff.helpers import add_staff

    caplog.set_level(logging.DEBUG)
    async with LifespanManager(app):
        desk_account = await add_staff(app, staff_password_hash, email="desk@practice.example")
        desk = bearer(app, desk_account)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = appointment_request(
                patient__first_name=SENTINELS["first"],
                patient__last_name=SENTINELS["last"],
                patient__email=SENTINELS["email"],
                patient__phone=SENTINELS["phone"],
                reason_code="other",
                reason_detail=SENTINELS["detail"],
                urgent_symptoms=["saddle_numbness"],
            )
            created = await client.post("/api/v1/appointments", json=body)
            appointment_id = created.json()["id"]
            await client.get("/api/v1/appointments", params={"q": SENTINELS["last"]}, headers=desk)
            await confirm(client, desk, appointment_id, start=chicago("2026-12-07", "10:00"))
            await client.post("/api/v1/appointments", json={**body, "consent": False})
            metrics = (await client.get("/metrics")).text

        async with app.state.sessionmaker() as session:
            messages = list((await session.execute(select(OutboxMessage))).scalars())

    webhook_bodies = [str(m.payload) for m in messages if m.channel == "webhook"]
    headers = []
    for message in messages:
        if message.channel != "webhook":
            email = build_email(message, settings=settings, manage_url="https://x/manage/t")
            headers += [f"{name}: {value}" for name, value in email.items() if name != "To"]
    places = {
        # httpx's own lines are this test's client talking (the service's relay is not running).
        "logs": "\n".join(
            record.getMessage() for record in caplog.records if record.name != "httpx"
        ),
        "metrics": metrics,
        "webhooks": "\n".join(webhook_bodies),
        "email headers": "\n".join(headers),
    }
    assert webhook_bodies
    assert headers
    phone_digits = "3125550199"
    for place, text in places.items():
        for name, sentinel in {**SENTINELS, "phone digits": phone_digits}.items():
            assert sentinel.lower() not in text.lower(), f"{name} leaked into {place}"
        assert "saddle" not in text, f"a symptom leaked into {place}"


async def count(app: Any, model: Any, *conditions: Any) -> int:
    async with app.state.sessionmaker() as session:
        statement = select(func.count()).select_from(model).where(*conditions)
        return int((await session.execute(statement)).scalar_one())


async def test_purge_anonymises_closed_requests_past_retention_only(
    client: httpx.AsyncClient, app: Any, desk: dict[str, str], clock: FrozenClock
) -> None:
    old = (await client.post("/api/v1/appointments", json=appointment_request())).json()["id"]
    await client.post(f"/api/v1/appointments/{old}/decline", json={"reason": "r"}, headers=desk)
    still_open = (await client.post("/api/v1/appointments", json=appointment_request())).json()
    recent = (await client.post("/api/v1/appointments", json=appointment_request())).json()["id"]
    clock.advance(dt.timedelta(days=800))
    # Closed only now: its retention starts now.
    await client.post(f"/api/v1/appointments/{recent}/cancel", json={"reason": "r"}, headers=desk)

    async with app.state.sessionmaker() as session, session.begin():
        dry = await privacy.purge(session, now=clock.now(), retention_days=730, dry_run=True)
        result = await privacy.purge(session, now=clock.now(), retention_days=730)
    assert dry.anonymised == result.anonymised == 1

    async with app.state.sessionmaker() as session:
        rows = {str(a.id): a for a in (await session.execute(select(Appointment))).scalars()}
    purged = rows[old]
    assert (purged.first_name, purged.email, purged.phone, purged.reason_detail) == (
        "",
        "",
        "",
        None,
    )
    assert purged.anonymised_at == clock.now()
    assert purged.status == "declined"
    assert rows[still_open["id"]].first_name == "Ana"  # still open: kept whatever its age
    assert rows[recent].first_name == "Ana"  # closed, but recently
    assert await count(app, AppointmentEvent, AppointmentEvent.appointment_id == purged.id) == 0
    assert await count(app, ManageToken, ManageToken.appointment_id == purged.id) == 0
    assert await count(app, OutboxMessage, OutboxMessage.appointment_id == purged.id) == 0
