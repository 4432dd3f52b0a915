"""The problems in the OpenAPI document, made from the ``DomainError`` declarations.

Every kind of problem (a ``DomainError`` subclass) names its status, its type and, when it adds
members, the model of those members. From that:

- ``Problem``: the plain problem; its ``type`` is an enum of every plain kind's type (and
  ``about:blank``, which routing errors and the 500 carry);
- one schema per members model (``ValidationProblem``, ``PreconditionFailedProblem``, ...),
  whose ``type`` is an enum of the kinds that carry those members;
- per declared status, the schemas of the kinds with that status, as a ``oneOf`` discriminated
  by ``type`` when there are several, so that a generated client narrows a problem by its type;
- the headers those kinds send, and one example rendered by the code that renders the error.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from collections.abc import Mapping
from http import HTTPStatus
from typing import Annotated, Any, NotRequired

from pydantic import BaseModel, Field, TypeAdapter
from typing_extensions import TypedDict

from booking.errors import (
    NOTHING_HERE,
    PROBLEM_MEDIA_TYPE,
    DomainError,
    FieldError,
    NotReady,
    PayloadTooLarge,
    RequestInvalid,
    RetryLater,
    UnsupportedMediaType,
    http_problem,
    internal_error_payload,
    problem_type,
)

SCHEMA_REF = "#/components/schemas/{model}"
PLAIN_PROBLEM = "Problem"
# Routing errors (404, 405), a body that is no JSON at all (400) and the 500 carry no type of
# their own (RFC 9457's default).
ABOUT_BLANK = "about:blank"
ABOUT_BLANK_STATUSES = frozenset({400, 404, 405, 500})

# How each header a kind of problem sends is documented.
PROBLEM_HEADERS: Mapping[str, dict[str, Any]] = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": "The bearer challenge (RFC 6750).",
        "schema": {"type": "string"},
    },
}


class Problem(TypedDict):
    """RFC 9457 problem details, as every error response of this API is shaped."""

    type: Annotated[str, Field(description="What went wrong: one of the types listed here.")]
    title: Annotated[str, Field(description="The type's title, the same for every occurrence.")]
    status: Annotated[int, Field(description="The response's status code.")]
    detail: Annotated[str, Field(description="This occurrence, explained for a person.")]
    request_id: NotRequired[
        Annotated[str, Field(description="On a 500 only: quote it when asking for help.")]
    ]


def _import_domain_errors() -> None:
    """Every package's ``errors`` module (they import this package's base, so they are found
    here rather than imported at the top): a new package's problems are in the document."""
    import booking

    for package in pkgutil.iter_modules(booking.__path__):
        name = f"booking.{package.name}.errors"
        if package.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


@functools.cache
def problem_kinds() -> tuple[type[DomainError], ...]:
    """Every kind of problem, the base first."""
    _import_domain_errors()
    kinds: list[type[DomainError]] = []
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        kind = pending.pop(0)
        if kind not in kinds:
            kinds.append(kind)
            pending.extend(kind.__subclasses__())
    return tuple(kinds)


def schema_name(kind: type[DomainError]) -> str:
    return kind.members.__name__ if kind.members is not None else PLAIN_PROBLEM


def _types_by_schema() -> dict[str, list[str]]:
    """Each schema's problem types, sorted (the order classes are defined in varies)."""
    types: dict[str, set[str]] = {PLAIN_PROBLEM: {ABOUT_BLANK}}
    for kind in problem_kinds():
        types.setdefault(schema_name(kind), set()).add(problem_type(kind.slug))
    return {name: sorted(types[name]) for name in sorted(types)}


def problem_schemas() -> dict[str, Any]:
    """The components: ``Problem``, one schema per members model, and what those refer to."""
    base = TypeAdapter(Problem).json_schema(ref_template=SCHEMA_REF)
    members_models = {
        kind.members.__name__: kind.members for kind in problem_kinds() if kind.members
    }
    components: dict[str, Any] = {}
    for name, types in _types_by_schema().items():
        schema = {
            **base,
            "title": name,
            "properties": {
                **base["properties"],
                "type": {**base["properties"]["type"], "type": "string", "enum": types},
            },
            "required": list(base["required"]),
        }
        model: type[BaseModel] | None = members_models.get(name)
        if model is not None:
            members = model.model_json_schema(ref_template=SCHEMA_REF)
            components.update(members.pop("$defs", {}))
            schema["description"] = members.get("description", "")
            schema["properties"].update(members["properties"])
            schema["required"] += members.get("required", [])
        components[name] = schema
    return components


def _schema_for(status: int) -> dict[str, Any]:
    """The body of a ``status`` response: one schema, or several discriminated by type."""
    kinds = [kind for kind in problem_kinds() if kind.status == status]
    names = sorted({schema_name(kind) for kind in kinds})
    if status in ABOUT_BLANK_STATUSES or not names:
        names = sorted({*names, PLAIN_PROBLEM})
    if len(names) == 1:
        return {"$ref": SCHEMA_REF.format(model=names[0])}
    types = _types_by_schema()
    return {
        "oneOf": [{"$ref": SCHEMA_REF.format(model=name)} for name in names],
        "discriminator": {
            "propertyName": "type",
            "mapping": {
                type_: SCHEMA_REF.format(model=name) for name in names for type_ in types[name]
            },
        },
    }


def _headers_for(status: int) -> dict[str, Any]:
    names = {name for kind in problem_kinds() if kind.status == status for name in kind.headers}
    return {name: PROBLEM_HEADERS[name] for name in sorted(names)}


@functools.cache
def _examples() -> dict[int, dict[str, Any]]:
    """One example body per status, for operations that name no error of their own."""
    from booking.appointments.errors import InvalidTransition, PreconditionFailed
    from booking.appointments.lifecycle import AppointmentStatus
    from booking.staff.errors import Forbidden, InvalidToken

    closed_on_saturdays = "The practice is closed on Saturdays; choose another day."
    errors: list[DomainError] = [
        InvalidToken("The token has expired; sign in again."),
        Forbidden("Only an admin can do this."),
        InvalidTransition(current_status=AppointmentStatus.cancelled, action="confirmed"),
        PreconditionFailed(current_version=3),
        PayloadTooLarge("The request body must be at most 65536 bytes."),
        UnsupportedMediaType("Send the body as application/json."),
        RequestInvalid(
            [
                FieldError("patient.email", "Enter an email address like name@example.com."),
                FieldError("preferred_windows.0.date", closed_on_saturdays),
            ]
        ),
        RetryLater(42),
        NotReady({"database": "ok", "migrations": "pending"}),
    ]
    examples = {error.status: error.payload() for error in errors}
    examples[400] = http_problem(400)
    examples[404] = http_problem(404, NOTHING_HERE)
    examples[500] = internal_error_payload("3f2c9a1b")
    return examples


def example_problem(status: int) -> dict[str, Any]:
    """The usual example of a problem with this status (the FHIR routes render it as an
    OperationOutcome)."""
    return _examples()[status]


def problem_responses(*declared: int | DomainError) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry declaring these problems in OpenAPI: a status (with the usual
    example for it), or an error the operation answers with (its status, itself as the
    example)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for item in declared:
        status = item.status if isinstance(item, DomainError) else item
        example = item.payload() if isinstance(item, DomainError) else _examples()[status]
        response: dict[str, Any] = {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _schema_for(status), "example": example}},
        }
        if headers := _headers_for(status):
            response["headers"] = headers
        responses[status] = response
    return responses
