"""Idempotency-Key records: claim a key, replay a stored response, or refuse a reuse.

The database guarantees "one key, one outcome": a key is an INSERT on the (scope, key) primary
key. Two ways to use it:

- Work whose response is known before it is written (the public POST) inserts the record
  already ``completed``, response included, in the same statement as the work
  (``completed_record``, ``CLAIM_LINK``). A second request with the same key waits for the
  first's commit on the key's unique index and then replays it (``stored_outcome``); nothing is
  ever visible half-done, so there is no claim to take over.
- Other work (the desk's actions) claims the key in its own transaction first (``claim_key``),
  does the work, and stores the response (``store_response``), all in one transaction; a
  concurrent retry waits for it the same way.

A record still ``in_progress`` for another request answers 409; one whose request died (no
response after ``STALE_CLAIM``) is taken over.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from booking.idempotency.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from booking.idempotency.models import IdempotencyState, idempotency_keys
from booking.insert_chain import InsertChain, Link

STALE_CLAIM = dt.timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """An Idempotency-Key as a request presents it: who sent it, the key, and what it asked."""

    scope: str
    key: str
    fingerprint: str
    ttl: dt.timedelta


# The record as the first link of an insert chain: a key in use stops the chain, an expired
# record (or a claim whose request died) is replaced by the new one.
CLAIM_LINK = Link(
    idempotency_keys,
    tuple(column.name for column in idempotency_keys.columns),
    conflict=("scope", "key"),
    replace_when=or_(
        idempotency_keys.c.expires_at
        <= bindparam("claim_now", type_=idempotency_keys.c.locked_at.type),
        (idempotency_keys.c.state == IdempotencyState.in_progress)
        & (
            idempotency_keys.c.locked_at
            <= bindparam("claim_stale_before", type_=idempotency_keys.c.locked_at.type)
        ),
    ),
)


def claim_parameters(now: dt.datetime) -> dict[str, dt.datetime]:
    """The values CLAIM_LINK's replacement rule compares with."""
    return {"claim_now": now, "claim_stale_before": now - STALE_CLAIM}


def completed_record(
    keyed: KeyedRequest, response: StoredResponse, now: dt.datetime
) -> dict[str, Any]:
    """The record of a key whose response is known before the work is written."""
    return {
        "scope": keyed.scope,
        "key": keyed.key,
        "request_fingerprint": keyed.fingerprint,
        "state": IdempotencyState.completed,
        "response_status": response.status,
        "response_body": response.body,
        "response_headers": response.headers,
        "locked_at": now,
        "expires_at": now + keyed.ttl,
    }


async def stored_outcome(session: AsyncSession, keyed: KeyedRequest) -> StoredResponse:
    """The response to replay for a key that is taken, or why there is none (422, 409)."""
    table = idempotency_keys
    existing = (
        await session.execute(
            select(
                table.c.request_fingerprint,
                table.c.state,
                table.c.response_status,
                table.c.response_body,
                table.c.response_headers,
            ).where(table.c.scope == keyed.scope, table.c.key == keyed.key)
        )
    ).one()
    if existing.request_fingerprint != keyed.fingerprint:
        raise IdempotencyKeyReused(
            "Use a new Idempotency-Key for a different request; keys are kept for "
            f"{int(keyed.ttl.total_seconds() // 3600)} hours."
        )
    if existing.state != IdempotencyState.completed:
        raise IdempotencyKeyInUse("Retry in a moment to receive its response.")
    return StoredResponse(
        existing.response_status, existing.response_body, existing.response_headers or {}
    )


def body_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).hexdigest()


def request_fingerprint(method: str, path: str, payload: Any) -> str:
    canonical = json.dumps([method, path, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim_key(session: AsyncSession, keyed: KeyedRequest, now: dt.datetime) -> bool:
    """Claim the key in the caller's transaction (True), or find it taken (False: see
    ``stored_outcome``). A concurrent claim of the same key waits here for the first
    transaction to end, and then finds its response."""
    values = {
        "scope": keyed.scope,
        "key": keyed.key,
        "request_fingerprint": keyed.fingerprint,
        "state": IdempotencyState.in_progress,
        "response_status": None,
        "response_body": None,
        "response_headers": None,
        "locked_at": now,
        "expires_at": now + keyed.ttl,
    }
    inserted = await _CLAIM.run(session, [values], extra=claim_parameters(now))
    return inserted[0]


_CLAIM = InsertChain([CLAIM_LINK])


async def store_response(
    session: AsyncSession, *, scope: str, key: str, response: StoredResponse
) -> None:
    """Record the response in the caller's transaction (the one that did the work)."""
    table = idempotency_keys
    await session.execute(
        update(table)
        .where(table.c.scope == scope, table.c.key == key)
        .values(
            state=IdempotencyState.completed,
            response_status=response.status,
            response_body=response.body,
            response_headers=response.headers,
        )
    )


async def purge_expired_keys(session: AsyncSession, *, now: dt.datetime) -> int:
    table = idempotency_keys
    result = await session.execute(delete(table).where(table.c.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]
