"""How the FHIR routes are declared in OpenAPI: FHIR JSON in, OperationOutcome on errors.

The resources' own structure is FHIR's (hl7.org/fhir/R4); the document only says which
resource comes back, and shows the errors as the renderer writes them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from booking.errors import FHIR_MEDIA_TYPE, operation_outcome
from booking.problem_docs import example_problem


class FhirResponse(Response):
    media_type = FHIR_MEDIA_TYPE


_RESOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A FHIR R4 resource (a Bundle for searches); see hl7.org/fhir/R4.",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
}

_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A FHIR R4 OperationOutcome: what went wrong, one issue per fault.",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"type": "string"},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def fhir_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a FHIR route."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        if status < 400:
            content = {"schema": _RESOURCE_SCHEMA}
        else:
            content = {
                "schema": _OUTCOME_SCHEMA,
                "example": operation_outcome(example_problem(status)),
            }
        declared[status] = {
            "description": HTTPStatus(status).phrase,
            "content": {FHIR_MEDIA_TYPE: content},
        }
    return declared
