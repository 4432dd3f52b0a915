"""Inputs to the list the API cannot use are 422s naming the parameter, never 500s or a
silently different list."""

from __future__ import annotations

import uuid

import httpx
import pytest

from booking.appointments.listing import ListFilters, SortOrder, encode_cursor
from tests.helpers import assert_problem


@pytest.mark.parametrize(
    "timestamp",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-11-30T15:00:00"],
    ids=["underflows UTC", "overflows UTC", "naive"],
)
async def test_a_cursor_with_a_timestamp_outside_utc_is_a_422(
    client: httpx.AsyncClient, desk: dict[str, str], timestamp: str
) -> None:
    """Found by fuzzing: converting 0001-01-01T00:00+14:00 to UTC underflows (on both
    databases), which was a 500."""
    cursor = encode_cursor(SortOrder.triage, ListFilters(), [False, timestamp, str(uuid.uuid4())])
    response = await client.get("/api/v1/appointments", params={"cursor": cursor}, headers=desk)
    problem = assert_problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == ["query.cursor"]


@pytest.mark.parametrize("value", ["0", "1700000000", "-5"])
async def test_a_date_filter_written_as_a_number_is_a_422(
    client: httpx.AsyncClient, desk: dict[str, str], value: str
) -> None:
    """Found by schemathesis: pydantic read `scheduled_to=0` as 1970-01-01 (seconds)."""
    response = await client.get(
        "/api/v1/appointments", params={"scheduled_to": value}, headers=desk
    )
    problem = assert_problem(response, 422)
    assert [error["field"] for error in problem["errors"]] == ["query.scheduled_to"]
