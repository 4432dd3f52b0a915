"""Domain errors and the one RFC 9457 problem+json renderer.

Every error the service answers with goes through ``problem_payload``: domain errors raised by
services, request validation errors, HTTP errors from routing (404, 405), the body limit (413) and
unexpected exceptions (500, which reveal only a request id). No renderer ever echoes what the client
sent: patient details are health information.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

logger = logging.getLogger("booking.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "/problems/"
# The 404 of an address no route serves.
NOTHING_HERE = "There is nothing at this address."


def problem_type(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


def problem_payload(
    *, status: int, type_: str, title: str, detail: str, **ext: Any
) -> dict[str, Any]:
    return {"type": type_, "title": title, "status": status, "detail": detail, **ext}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        pointer = "#/" + "/".join(self.field.split(".")) if self.field != "body" else "#"
        return {"field": self.field, "pointer": pointer, "message": self.message}


# The schemas' field examples, rendered like the real thing.
_FIELD_ERROR_EXAMPLE = FieldError("patient.email", "Enter an email address like name@example.com.")


class ProblemFieldError(BaseModel):
    field: str = Field(
        examples=[_FIELD_ERROR_EXAMPLE.field], description="Dotted path of the bad field."
    )
    pointer: str = Field(
        examples=[_FIELD_ERROR_EXAMPLE.as_json()["pointer"]],
        description="JSON Pointer to the field.",
    )
    message: str = Field(
        examples=[_FIELD_ERROR_EXAMPLE.message],
        description="For the public request body, written for the patient: show it as it is.",
    )


class ValidationProblem(BaseModel):
    """A 422: every field at fault, by path; what was sent is never echoed."""

    errors: list[ProblemFieldError]


class NotReadyProblem(BaseModel):
    """/readyz's 503: each check and its state."""

    checks: dict[str, str] = Field(examples=[{"database": "ok", "migrations": "pending"}])


class DomainError(Exception):
    """An error with a meaning the client can act on: one problem type, rendered by ``payload``.

    A kind of error names its problem type in its class statement, and inherits what it leaves
    out from its base::

        class SlotTaken(Conflict, slug="slot-taken", title="The provider already has ..."): ...

    ``headers`` (a class attribute) are sent with every response of that kind. An instance adds
    the detail (the title when none is given), the fields at fault for a 422, and any other
    extension members; a kind that adds members declares them as a model (``members=``), which
    is its schema in the OpenAPI document (``problem_schemas``).
    """

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    members: ClassVar[type[BaseModel] | None] = None
    headers: Mapping[str, str] = MappingProxyType({})

    def __init_subclass__(
        cls,
        *,
        status: int = 0,
        slug: str = "",
        title: str = "",
        members: type[BaseModel] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = status or cls.status
        cls.slug = slug or cls.slug
        cls.title = title or cls.title
        cls.members = members or cls.members

    def __init__(
        self, detail: str | None = None, *, errors: Sequence[FieldError] = (), **extensions: Any
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extensions = {"errors": [e.as_json() for e in errors]} if errors else {}
        self.extensions.update(extensions)

    def payload(self) -> dict[str, Any]:
        return problem_payload(
            status=self.status,
            type_=problem_type(self.slug),
            title=self.title,
            detail=self.detail,
            **self.extensions,
        )


class RetryLater(DomainError, status=429, slug="rate-limited", title="Too many requests"):
    """A limit was reached; ``Retry-After`` says when to try again."""

    headers: Mapping[str, str] = MappingProxyType({"Retry-After": "60"})  # each instance's own

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"Try again in {retry_after_seconds} seconds.")
        self.headers = {"Retry-After": str(retry_after_seconds)}


class NotFound(DomainError, status=404, slug="not-found", title="Not found"): ...


class NotReady(
    DomainError, status=503, slug="not-ready", title="Not ready", members=NotReadyProblem
):
    """/readyz: a check failed; ``checks`` says which."""

    def __init__(self, checks: Mapping[str, str]) -> None:
        failing = ", ".join(f"{name}: {state}" for name, state in checks.items() if state != "ok")
        super().__init__(failing, checks=dict(checks))


class Conflict(DomainError, status=409, slug="conflict", title="Conflict"):
    """The base of the 409s: the request does not fit the current state of what it names."""


class RequestInvalid(
    DomainError,
    status=422,
    slug="validation-error",
    title="Your request has invalid fields",
    members=ValidationProblem,
):
    """422 for rules checked by a service (dates, horizon, ...): same shape as schema errors.
    A kind of its own (a weak password, say) subclasses it and may give its own ``detail``."""

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or _count_detail(len(errors)), errors=errors)
        self.field_errors = list(errors)  # for pages that place each message by its field


class UnsupportedMediaType(
    DomainError, status=415, slug="unsupported-media-type", title="Unsupported media type"
): ...


class PayloadTooLarge(
    DomainError, status=413, slug="payload-too-large", title="Request body too large"
): ...


def problem_response(
    payload: Mapping[str, Any], headers: Mapping[str, str] | None = None, *, path: str = ""
) -> Response:
    """The error as the client at ``path`` reads it: problem+json, or under the FHIR API a
    FHIR OperationOutcome carrying the same detail."""
    content, media_type = error_body(payload, path)
    return Response(
        content=content,
        status_code=int(payload["status"]),
        media_type=media_type,
        headers=dict(headers or {}),
    )


def problem_bytes(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# The FHIR API (booking.fhir) answers errors as its standard says: an OperationOutcome. It is
# the same error, rendered here from the same payload, so both APIs say the same thing.
FHIR_BASE_PATH = "/fhir/r4"
FHIR_MEDIA_TYPE = "application/fhir+json"

# FHIR's IssueType for each status we answer with (http://hl7.org/fhir/R4/valueset-issue-type).
_FHIR_ISSUE_CODES = {
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
}


def error_body(payload: Mapping[str, Any], path: str) -> tuple[bytes, str]:
    if not path.startswith(FHIR_BASE_PATH):
        return problem_bytes(payload), PROBLEM_MEDIA_TYPE
    return problem_bytes(operation_outcome(payload)), FHIR_MEDIA_TYPE


def operation_outcome(payload: Mapping[str, Any]) -> dict[str, Any]:
    status = int(payload["status"])
    code = "exception" if status >= 500 else _FHIR_ISSUE_CODES.get(status, "invalid")
    # One issue per field at fault (a 422), else one for the whole error.
    issues = [
        {
            "severity": "error",
            "code": "invalid",
            "diagnostics": f"{error['field']}: {error['message']}",
            "expression": [error["field"]],
        }
        for error in payload.get("errors", ())
    ] or [{"severity": "error", "code": code, "diagnostics": payload["detail"]}]
    return {"resourceType": "OperationOutcome", "issue": issues}


def http_problem(status: int, detail: str | None = None) -> dict[str, Any]:
    phrase = HTTPStatus(status).phrase
    return problem_payload(
        status=status, type_="about:blank", title=phrase, detail=detail or phrase
    )


def _count_detail(count: int) -> str:
    if count == 1:
        return "1 field of the request is invalid; see errors."
    return f"{count} fields of the request are invalid; see errors."


# Messages pydantic would otherwise build from the submitted value.
_FIXED_MESSAGES = {
    "uuid_parsing": "must be a valid UUID",
    "uuid_type": "must be a valid UUID",
    "json_invalid": "the body is not valid JSON",
    "model_attributes_type": "must be a JSON object",
    "model_type": "must be a JSON object",
    "dict_type": "must be a JSON object",
    "extra_forbidden": "is not a field of this request",
    "missing": "is required",
}


def field_errors_from_validation(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    result = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] == "body":
            location = location[1:]
        if error.get("type") == "json_invalid" or not location:
            field = "body"
        else:
            field = ".".join(location)
        message = _FIXED_MESSAGES.get(str(error.get("type")), str(error.get("msg", "is invalid")))
        result.append(FieldError(field=field, message=message.removeprefix("Value error, ")))
    return result


ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(model: type[ModelT], data: Any, context: dict[str, Any] | None = None) -> ModelT:
    """``model`` from parsed input (a form, a JSON document), or RequestInvalid naming every bad
    field as the API's 422 does: how the desk's forms use the API's own models."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        raise RequestInvalid(field_errors_from_validation(error.errors())) from None


async def _domain_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    return problem_response(error.payload(), headers=error.headers, path=request.url.path)


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    invalid = RequestInvalid(field_errors_from_validation(error.errors()))
    return problem_response(invalid.payload(), path=request.url.path)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400 and error.__cause__ is not None:
        # FastAPI's "error parsing the body" (bytes that are not UTF-8 JSON): a body error
        # like any other, so that clients meet one shape.
        invalid = RequestInvalid([FieldError("body", "the body is not valid UTF-8 JSON")])
        return problem_response(invalid.payload(), path=request.url.path)
    detail = error.detail if isinstance(error.detail, str) else None
    headers = dict(error.headers or {})
    if error.status_code == 404:
        detail = NOTHING_HERE
    if error.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem_response(
        http_problem(error.status_code, detail), headers=headers, path=request.url.path
    )


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route offers at this path (Starlette names only the first route's)."""
    allowed = []
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"):
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            allowed.append(method)
    return allowed


def unexpected_error_payload(error: BaseException, request_id: str) -> dict[str, Any]:
    """Log an unhandled error (its traceback, never its message) and describe it to the client.

    Messages can carry submitted values (a database error quotes its parameters), so neither the
    log nor the response contains one; the request id connects the two.
    """
    logger.error(
        "unhandled %s (request_id=%s)\n%s",
        type(error).__name__,
        request_id,
        "".join(traceback.format_tb(error.__traceback__)),
    )
    return internal_error_payload(request_id)


def internal_error_payload(request_id: str) -> dict[str, Any]:
    """The 500 problem: it reveals nothing but the request id."""
    payload = http_problem(500, f"Something went wrong on our side. Request id: {request_id}.")
    payload["request_id"] = request_id
    return payload


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Unexpected exceptions are rendered by RequestContextMiddleware, which (unlike Starlette's
    # outermost error middleware) does not re-raise them for the server to log with messages.
