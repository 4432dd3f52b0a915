"""The desk's forms are parsed into the API's own models: the same checks, the same messages,
and the buttons the lifecycle's table allows."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from booking.appointments.lifecycle import TRANSITIONS, Action, allowed_actions
from booking.appointments.service import STEPS
from booking.clock import FrozenClock
from tests.helpers import assert_problem, create_request
from tests.web.test_desk_sessions import csrf_token, desk_client, signed_in_cookie

CONFIRM_AT = {"date": "2026-12-07", "time": "09:30"}


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A browser without JavaScript, as far as forms go: httpx with the desk's cookies."""
    async with desk_client(app) as client:
        yield client


async def api_message(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, body: dict[str, Any]
) -> str:
    """What the API says of this input: the message of its one invalid field."""
    response = await client.post(path, json=body, headers=headers)
    errors = assert_problem(response, 422)["errors"]
    assert len(errors) == 1, errors
    return f"{errors[0]['field'].replace('_', ' ').capitalize()}: {errors[0]['message']}."


async def desk_post(
    browser: httpx.AsyncClient, appointment_id: str, slug: str, fields: dict[str, str]
) -> httpx.Response:
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    return await browser.post(
        f"/desk/appointments/{appointment_id}/{slug}",
        data={"csrf_token": csrf_token(page), **fields},
    )


@pytest.mark.parametrize(
    ("slug", "desk_fields", "api_body"),
    [
        # The desk used to cut a long note silently; the API refuses it.
        (
            "confirm",
            {**CONFIRM_AT, "message": "x" * 1001},
            {"start": "2026-12-07T09:30:00-06:00", "message": "x" * 1001},
        ),
        # The desk used to skip the check for control and direction-changing characters.
        ("decline", {"reason": "Not for us\u202e today"}, {"reason": "Not for us\u202e today"}),
        ("cancel", {"reason": "r" * 501}, {"reason": "r" * 501}),
        ("confirm", {**CONFIRM_AT, "duration_minutes": "500"}, None),
    ],
)
async def test_the_desk_refuses_what_the_api_refuses_with_the_same_words(
    app: FastAPI,
    client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    desk: dict[str, str],
    slug: str,
    desk_fields: dict[str, str],
    api_body: dict[str, Any] | None,
) -> None:
    appointment_id = await create_request(client)
    path = f"/api/v1/appointments/{appointment_id}/{slug}"
    if api_body is None:  # the duration: the desk sends it as a number, like the API
        api_body = {"start": "2026-12-07T09:30:00-06:00", "duration_minutes": 500}
    expected = await api_message(client, desk, path, api_body)
    await signed_in_cookie(browser)

    response = await desk_post(browser, appointment_id, slug, desk_fields)

    assert response.status_code == 422
    assert expected in html.unescape(response.text)
    history = await client.get(f"/api/v1/appointments/{appointment_id}/events", headers=desk)
    assert [event["action"] for event in history.json()] == ["created"]  # nothing changed


def buttons(page: httpx.Response) -> list[str]:
    return [
        html.unescape(label)
        for label in re.findall(
            r'<button type="submit" formaction="[^"]+"[^>]*>([^<]+)</button>', page.text
        )
    ]


async def test_the_desk_offers_the_actions_the_lifecycle_allows(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock
) -> None:
    appointment_id = await create_request(client)
    await signed_in_cookie(browser)
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    assert buttons(page) == [t.label for t in allowed_actions("requested")]
    assert buttons(page) == ["Confirm", "Decline", "Cancel the appointment"]

    confirmed = await desk_post(browser, appointment_id, "confirm", CONFIRM_AT)
    assert confirmed.status_code == 303, confirmed.text
    page = await browser.get(confirmed.headers["location"])
    assert TRANSITIONS[Action.confirm].notice in page.text
    # Completed and No-show only once the visit has begun (see the test below).
    assert buttons(page) == ["Move", "Cancel the appointment"]
    clock.advance(dt.datetime(2026, 12, 7, 15, 30, tzinfo=dt.UTC) - clock.now())  # 9:30 CST
    await signed_in_cookie(browser)  # a week later: the session has ended
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    assert buttons(page) == [t.label for t in allowed_actions("confirmed")]
    assert buttons(page) == ["Move", "Cancel the appointment", "Completed", "No-show"]


async def test_completed_and_no_show_are_offered_only_once_the_visit_has_begun(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, desk: dict[str, str], clock: FrozenClock
) -> None:
    appointment_id = await create_request(client)
    await client.post(
        f"/api/v1/appointments/{appointment_id}/confirm",
        json={"start": "2026-12-01T09:30:00-06:00"},
        headers=desk,
    )
    # Tuesday 1 December, 9:29 in Chicago: a minute to go.
    clock.advance(dt.datetime(2026, 12, 1, 15, 29, tzinfo=dt.UTC) - clock.now())
    await signed_in_cookie(browser)
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    assert "Completed" not in buttons(page)
    assert "No-show" not in buttons(page)
    assert "Completed and No-show: offered once the visit has begun." in page.text
    # A form kept open from before (or a forged post) is still refused by the service.
    refused = await desk_post(browser, appointment_id, "complete", {})
    assert refused.status_code == 409
    assert "Mark the visit once its time has come." in refused.text

    clock.advance(dt.timedelta(minutes=1))
    page = await browser.get(f"/desk/appointments/{appointment_id}")
    assert buttons(page)[-2:] == ["Completed", "No-show"]
    assert "offered once the visit has begun" not in page.text
    done = await desk_post(browser, appointment_id, "no-show", {})
    assert done.status_code == 303, done.text


def test_every_action_in_the_table_has_a_step_and_an_api_route(app: FastAPI) -> None:
    operations = {
        operation["operationId"]: path
        for path, item in app.openapi()["paths"].items()
        for operation in item.values()
    }
    routes = set(operations.values())
    for action, transition in TRANSITIONS.items():
        assert action in STEPS, f"{action} has no step in appointments.service"
        path = f"/api/v1/appointments/{{appointment_id}}/{transition.slug}"
        if transition.by_system:  # the scheduler's (expire): no route for anyone to call
            assert path not in routes
            continue
        assert operations[transition.operation_id] == path
