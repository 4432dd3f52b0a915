"""Named dependencies every route can take: the settings, the clock, a JSON-only body guard.

All ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool (~0.1 ms a hop).
"""

from __future__ import annotations

import json
from email.message import Message
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from booking.clock import Clock
from booking.config import Settings
from booking.errors import (
    FieldError,
    ModelT,
    RequestInvalid,
    UnsupportedMediaType,
    field_errors_from_validation,
    validated,
)


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


def client_address(request: Request) -> str:
    """The caller's address (the proxy's forwarded one only from BOOKING_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "unknown"


async def no_store(request: Request) -> None:
    """A router dependency for responses with patient data: SecurityHeadersMiddleware adds
    ``Cache-Control: no-store`` to whatever the route answers (a model, a Response, a replayed
    idempotent response, an error), so no browser or proxy keeps a copy."""
    request.state.no_store = True


# Declares the header in OpenAPI; pass as the router's ``responses``.
NO_STORE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            "Cache-Control": {
                "description": "`no-store`: the response holds patient data.",
                "schema": {"type": "string", "enum": ["no-store"]},
            }
        }
    }
}


def emailed_link_router(prefix: str) -> APIRouter:
    """The API of a link a patient got by email (their appointment's, an offer's): patient
    self-service, never kept by a browser or a proxy."""
    return APIRouter(
        prefix=prefix,
        tags=["patient self-service"],
        dependencies=[Depends(no_store)],
        responses=NO_STORE_RESPONSES,
    )


def emailed_token(email: str) -> Any:
    """The path parameter of such a link's token (``Annotated[str, emailed_token(...)]``)."""
    return Path(max_length=100, description=f"The token from the {email}.")


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


def is_json_media_type(content_type: str) -> bool:
    if content_type == "application/json":  # nearly every caller: skip the parse
        return True
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def require_json_body(request: Request) -> None:
    """415 for a body that is not JSON (a form post, say), instead of a puzzling 422."""
    content_type = request.headers.get("content-type")
    if content_type is None:
        if (
            request.headers.get("content-length", "0") != "0"
            or "transfer-encoding" in request.headers
        ):
            raise UnsupportedMediaType("Send the body as application/json.")
        return
    if not is_json_media_type(content_type):
        raise UnsupportedMediaType("Send the body as application/json.")


def parse_json_body(body: bytes, model: type[ModelT], context: dict[str, Any]) -> ModelT:
    """``model`` from a JSON body, validated with ``context`` (FastAPI's own body parameters
    cannot pass one). Errors are the 422 FastAPI's would be: one problem naming every field."""
    if not body:
        raise RequestInvalid([FieldError("body", "is required")])
    try:
        return model.model_validate_json(body, context=context)
    except ValidationError as error:
        if error.errors()[0]["type"] != "json_invalid":
            raise RequestInvalid(field_errors_from_validation(error.errors())) from None
    # pydantic's parser refuses some text Python's accepts and browsers send (an escaped
    # lone surrogate, NaN): parsed as FastAPI would, the field that holds it is named.
    try:
        data = json.loads(body)
    except ValueError:
        raise RequestInvalid([FieldError("body", "the body is not valid JSON")]) from None
    return validated(model, data, context)
