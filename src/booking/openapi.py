"""The OpenAPI document: FastAPI's generation, plus what it cannot see.

- the models FastAPI does not meet in a signature (the public POST's body, validated in the
  route) and the problem schemas (``problem_docs``);
- the headers every response carries (``X-Request-ID``), and ``Idempotent-Replayed`` on every
  response of an operation that takes an ``Idempotency-Key``;
- ``security: []`` on the operations anyone may call, the tags' descriptions, a server, the
  licence and a contact: what integrators' linters (Spectral, Redocly) ask of a document.

``tests/test_openapi_contract.py`` lints the result with those tools.
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from booking.appointments.schemas import AppointmentCreate, MoveRequest
from booking.errors import FHIR_BASE_PATH, PROBLEM_MEDIA_TYPE, http_problem
from booking.fhir.schemas import fhir_responses
from booking.problem_docs import PLAIN_PROBLEM, SCHEMA_REF, problem_responses, problem_schemas


def operation_id(route: APIRoute) -> str:
    """An operation's id is its function's name in camelCase (``list_free_slots``:
    ``listFreeSlots``): one name to choose, none to keep in step. FastAPI's
    ``generate_unique_id_function``; an explicit ``operation_id=`` still wins (the lifecycle's
    action routes take theirs from the table)."""
    first, *rest = route.name.split("_")
    return first + "".join(word.capitalize() for word in rest)


def fhir_operation_id(route: APIRoute) -> str:
    """The FHIR API's: ``read_appointment`` is ``fhirReadAppointment``."""
    name = operation_id(route)
    return "fhir" + name[0].upper() + name[1:]


def body_checked_in_route(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of an operation whose JSON body the route validates itself (with the
    day's booking rules as pydantic's context): FastAPI cannot see it, so it is named here and
    ``build_document`` adds the model's schema to the components."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


# Every tag an operation uses, described (a tag missing here fails the document's build).
TAGS: dict[str, str] = {
    "appointments": "The practice's website form: a patient requests an appointment.",
    "reason codes": "The reasons a patient can give, for the website form to offer.",
    "patient self-service": "The link a patient receives: see the appointment, cancel it.",
    "staff": "Staff sign-in and accounts (admins manage them).",
    "front desk": "The desk's work: list, read and act on appointment requests.",
    "providers": "Who sees patients, their working hours and time off.",
    "availability": "Free times, suggestions for a request, the day's schedule.",
    "operations": "Health, readiness and metrics, for the people who run the service.",
    "api keys": "Keys for machines (an EHR, an integration), with scopes; admins manage them.",
    "fhir": "FHIR R4, read-only, for the practice's EHR: appointments, schedules, free slots.",
}

SERVERS = [
    {
        "url": "{origin}",
        "description": "Where the practice runs booking.",
        "variables": {
            "origin": {
                "default": "http://localhost:8000",
                "description": "The scheme, host and port of the practice's booking service.",
            }
        },
    }
]

REQUEST_ID_HEADER = {
    "description": "The request's id (yours, when you sent a sane `X-Request-ID`); quote it "
    "when asking for help.",
    "schema": {"type": "string"},
}
REPLAYED_HEADER = {
    "description": "`true` when this is the stored response to an earlier request with the "
    "same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}
# For operations that name no client error of their own (a GET without parameters): what
# the address still answers to a request it does not serve, a method it does not offer.
ANY_CLIENT_ERROR = {
    "description": "Any client error (a method this address does not offer) is a problem.",
    "content": {
        PROBLEM_MEDIA_TYPE: {
            "schema": {"$ref": SCHEMA_REF.format(model=PLAIN_PROBLEM)},
            "example": http_problem(405),
        }
    },
}


def build_document(app: FastAPI) -> dict[str, Any]:
    schema = copy.deepcopy(
        get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            webhooks=app.webhooks.routes,
            tags=[{"name": name, "description": text} for name, text in TAGS.items()],
            servers=SERVERS,
            license_info={"name": "MIT", "identifier": "MIT"},
            contact={"name": "The practice's booking administrator"},
        )
    )
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # Bodies validated in the route (with the booking rules as context), unseen by FastAPI.
    for model in (AppointmentCreate, MoveRequest):
        definition = model.model_json_schema(ref_template=SCHEMA_REF)
        schemas.update(definition.pop("$defs", {}))
        schemas[model.__name__] = definition
    _as_fastapi_writes_it(schemas)
    schemas.update(problem_schemas())
    components["schemas"] = dict(sorted(schemas.items()))
    components["headers"] = {
        "X-Request-ID": REQUEST_ID_HEADER,
        "Idempotent-Replayed": REPLAYED_HEADER,
    }
    for path, operation in _operations(schema["paths"]):
        _add_common_problems(operation, fhir=path.startswith(FHIR_BASE_PATH))
        _complete(operation)
    # FastAPI's own 422 body, replaced by ours everywhere.
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    for _, operation in _operations(schema.get("webhooks", {})):
        # The receiver knows the sender by the Booking-Signature header, not by a scheme.
        operation.setdefault("security", [])
    return schema


def _operations(paths: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method in {"get", "put", "post", "patch", "delete", "head", "options"}
    ]


def _add_common_problems(operation: dict[str, Any], *, fhir: bool) -> None:
    """The problems any operation may answer, so that no route restates them: 500 always,
    and 422 when it takes a parameter or a body (in place of FastAPI's own
    ``HTTPValidationError``, which no response of ours has). The FHIR API's as
    OperationOutcomes. An operation's own declaration of either stays."""
    responses = operation["responses"]
    fastapis_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
    if fastapis_422.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]
    takes_input = bool(operation.get("parameters")) or "requestBody" in operation
    statuses = (422, 500) if takes_input else (500,)
    common = fhir_responses(*statuses) if fhir else problem_responses(*statuses)
    for status, response in common.items():
        responses.setdefault(str(status), response)


def _complete(operation: dict[str, Any]) -> None:
    for tag in operation.get("tags", []):
        if tag not in TAGS:
            raise ValueError(f"describe the tag {tag!r} in booking.openapi.TAGS")
    operation.setdefault("security", [])
    responses = operation["responses"]
    if not any(str(status).startswith("4") for status in responses):
        responses["4XX"] = copy.deepcopy(ANY_CLIENT_ERROR)
    # By status, wherever each was declared (FastAPI puts the router's, such as its
    # credential's 401 and 403, before the operation's own), a range such as 4XX last.
    operation["responses"] = responses = dict(
        sorted(responses.items(), key=lambda item: (not item[0].isdigit(), item[0]))
    )
    keyed = any(
        parameter.get("name") == "Idempotency-Key" for parameter in operation.get("parameters", [])
    )
    for response in responses.values():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/X-Request-ID"}
        if keyed:
            headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/Idempotent-Replayed"}


def _as_fastapi_writes_it(components: dict[str, Any]) -> None:
    """Request models' schemas as FastAPI's generator leaves them (pydantic's adds
    ``"default": null`` to optional fields; FastAPI omits it)."""
    for definition in components.values():
        for field in definition.get("properties", {}).values():
            if "default" in field and field["default"] is None:
                del field["default"]
