"""Desk sessions as server-side records: start one at sign-in, find it on each page, end it at
sign-out, end all of an account's when it is deactivated, its password reset, or on demand.

The browser holds a random token; the table holds its SHA-256 (``DeskSession.id``). A session
ends at whichever comes first: 30 minutes without use, or its absolute deadline
(BOOKING_DESK_SESSION_HOURS after sign-in). Services never commit.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid

from sqlalchemy import delete, or_
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from booking.security import token_hash
from booking.staff.models import DeskSession

IDLE_TIMEOUT = dt.timedelta(minutes=30)
# last_seen_at is written at most this often: a page view is a read, not a write.
TOUCH_EVERY = dt.timedelta(minutes=1)


def session_id(token: str) -> str:
    return token_hash(token)


def is_over(desk_session: DeskSession, now: dt.datetime) -> bool:
    return now >= desk_session.expires_at or now - desk_session.last_seen_at >= IDLE_TIMEOUT


async def start_session(
    session: AsyncSession, *, staff_id: uuid.UUID, lifetime: dt.timedelta, now: dt.datetime
) -> tuple[str, DeskSession]:
    """A new session; returns the token for the cookie (never stored) and the record.

    Ended sessions are swept here rather than by a job: sign-ins are rare and the table is
    small (a few rows per clerk), so one DELETE per sign-in keeps it tidy at no real cost.
    """
    await session.execute(
        delete(DeskSession).where(
            or_(
                col(DeskSession.expires_at) <= now,
                col(DeskSession.last_seen_at) <= now - IDLE_TIMEOUT,
            )
        )
    )
    token = secrets.token_urlsafe(32)
    record = DeskSession(
        id=session_id(token),
        staff_id=staff_id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    await session.flush()
    return token, record


async def find_session(
    session: AsyncSession, *, token: str, now: dt.datetime
) -> DeskSession | None:
    """The live session this token opens, or None; marks it used (at most once a minute)."""
    if not token or len(token) > 100:
        return None
    record = await session.get(DeskSession, session_id(token))
    if record is None or is_over(record, now):
        return None
    if now - record.last_seen_at >= TOUCH_EVERY:
        record.last_seen_at = now
        await session.flush()
    return record


async def end_session(session: AsyncSession, *, token: str) -> None:
    await session.execute(delete(DeskSession).where(col(DeskSession.id) == session_id(token)))


async def end_all_sessions(session: AsyncSession, *, staff_id: uuid.UUID) -> int:
    """Ends every desk session of the account; returns how many there were."""
    result = await session.execute(delete(DeskSession).where(col(DeskSession.staff_id) == staff_id))
    assert isinstance(result, CursorResult)
    return result.rowcount


def board_filter(desk_session: DeskSession) -> dict[str, str]:
    """The board filter this session keeps (field name → value); empty when none."""
    try:
        kept = json.loads(desk_session.board_filter or "{}")
    except ValueError:
        return {}
    if not isinstance(kept, dict):
        return {}
    return {name: value for name, value in kept.items() if isinstance(value, str)}


async def keep_board_filter(
    session: AsyncSession, *, desk_session: DeskSession, chosen: dict[str, str]
) -> None:
    """Keep the board filter on the session (server-side: it may hold a patient's name)."""
    desk_session.board_filter = json.dumps(chosen) if chosen else None
    await session.flush()
