"""A commit that queued messages wakes the in-process relay; one that queued nothing, or a
rollback, does not (notifications.wake_on_commit)."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from booking.notifications.service import note_queued, wake_on_commit
from tests.helpers import create_request


async def test_only_a_commit_that_queued_messages_wakes_the_relay(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    wakeup = asyncio.Event()
    wake_on_commit(app.state.sessionmaker, wakeup)

    async with app.state.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        await session.commit()
    assert not wakeup.is_set(), "a commit that queued nothing"

    async with app.state.sessionmaker() as session:
        await session.execute(text("SELECT 1"))
        note_queued(session)
        await session.rollback()
        await session.commit()
    assert not wakeup.is_set(), "the queued rows were rolled back"

    await create_request(client)  # its receipt and the desk's email, in the POST's transaction
    assert wakeup.is_set()
