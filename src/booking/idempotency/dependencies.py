"""``IdempotencyDep``: what a route uses to make its work safe to retry.

    return await idempotency.respond(session, scope="public", payload=payload, produce=work)

``produce`` does the work in the request's session and returns the response; the same response
is stored with the work in one transaction and replayed for a retry with the same key.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from booking.clock import Clock
from booking.config import Settings
from booking.dependencies import ClockDep, SettingsDep
from booking.errors import (
    PROBLEM_MEDIA_TYPE,
    DomainError,
    FieldError,
    RequestInvalid,
    problem_response,
)
from booking.idempotency import service

# Headers that belong to the outcome and are replayed with it.
_REPLAYED_HEADERS = ("location", "etag", "content-type")


class Idempotency:
    def __init__(
        self,
        *,
        key: str | None,
        request: Request,
        clock: Clock,
        ttl: dt.timedelta,
    ) -> None:
        self.key = key
        self.request = request
        self.clock = clock
        self.ttl = ttl

    async def respond(
        self,
        session: AsyncSession,
        *,
        scope: str,
        payload: Any,
        produce: Callable[[], Awaitable[Response]],
    ) -> Response:
        """Claim the key, do the work, store its response: one transaction, the request's.

        A refusal (a DomainError) is an outcome too: the work is undone back to a savepoint,
        the refusal is stored under the key and answered, as the renderer would answer it; the
        request's session dependency commits the key with it, as it commits any outcome.
        """
        if self.key is None:
            return await produce()
        keyed = service.KeyedRequest(
            scope=scope,
            key=self.key,
            fingerprint=service.request_fingerprint(
                self.request.method, self.request.scope["path"], payload
            ),
            ttl=self.ttl,
        )
        if not await service.claim_key(session, keyed, self.clock.now()):
            return replayed(await service.stored_outcome(session, keyed))
        try:
            async with session.begin_nested():
                response = await produce()
        except DomainError as error:
            response = problem_response(error.payload(), headers=error.headers)
            stored = service.StoredResponse(
                error.status,
                bytes(response.body).decode(),
                {"content-type": PROBLEM_MEDIA_TYPE, **error.headers},
            )
        else:
            stored = _to_stored(response)
        await service.store_response(session, scope=scope, key=self.key, response=stored)
        return response

    async def respond_json(
        self,
        session: AsyncSession,
        *,
        scope: str,
        payload: Any,
        produce: Callable[[], Awaitable[BaseModel]],
        status_code: int = 200,
    ) -> Response:
        """``respond`` for work whose outcome is a model, answered as JSON with ``status_code``."""

        async def as_response() -> Response:
            return JSONResponse(jsonable_encoder(await produce()), status_code=status_code)

        return await self.respond(session, scope=scope, payload=payload, produce=as_response)


def staff_scope(staff_id: uuid.UUID) -> str:
    """The keys of one staff account: another account's key never replays this one's."""
    return f"staff:{staff_id}"


def _to_stored(response: Response) -> service.StoredResponse:
    headers = {
        name: response.headers[name] for name in _REPLAYED_HEADERS if name in response.headers
    }
    return service.StoredResponse(response.status_code, bytes(response.body).decode(), headers)


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID is ideal). A retry with the same key and "
        "body replays the first response; kept for 24 hours.",
    ),
]


def key_record(
    key: str, *, scope: str, fingerprint: str, settings: Settings
) -> service.KeyedRequest:
    """A request's key as the one-statement write stores it (the API's POST, the /book form)."""
    return service.KeyedRequest(
        scope=scope,
        key=key,
        fingerprint=fingerprint,
        ttl=dt.timedelta(hours=settings.idempotency_key_ttl_hours),
    )


async def keyed_request(
    key: str | None, *, scope: str, request: Request, settings: Settings
) -> service.KeyedRequest | None:
    """The API POST's key (None without one). The fingerprint is of the body's bytes, as sent
    (already read and cached by the time the route runs): a retry sends the same bytes, and
    hashing them is cheaper than re-encoding the parsed body."""
    if key is None:
        return None
    fingerprint = service.body_fingerprint(
        request.method, request.scope["path"], await request.body()
    )
    return key_record(key, scope=scope, fingerprint=fingerprint, settings=settings)


def replayed(stored: service.StoredResponse) -> Response:
    return Response(
        content=stored.body,
        status_code=stored.status,
        headers={**stored.headers, "Idempotent-Replayed": "true"},
    )


async def get_idempotency(
    request: Request,
    clock: ClockDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Idempotency:
    return Idempotency(
        key=idempotency_key,
        request=request,
        clock=clock,
        ttl=dt.timedelta(hours=settings.idempotency_key_ttl_hours),
    )


IdempotencyDep = Annotated[Idempotency, Depends(get_idempotency)]


def refuse_idempotency_key(why: str) -> Any:
    """A router dependency for a POST where a stored response makes no sense (signing in,
    creating an API key: a token or key is never stored for a replay): a key is refused with
    a 422 saying ``why``, never silently ignored."""

    async def refuse(request: Request) -> None:
        if "idempotency-key" in request.headers:
            raise RequestInvalid(
                [FieldError("header.Idempotency-Key", f"is not accepted here: {why}")]
            )

    return Depends(refuse)
