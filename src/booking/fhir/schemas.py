"""How the FHIR routes are declared in OpenAPI: FHIR JSON in, OperationOutcome on errors.

The resources' own structure is FHIR's (hl7.org/fhir/R4); the document only says which
resource comes back, and shows the errors as the renderer writes them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from booking.errors import FHIR_MEDIA_TYPE, DomainError, operation_outcome
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


def fhir_responses(*declared_items: int | DomainError) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry of a FHIR route: a status (with the usual example for it), or
    an error the operation answers with (its status, itself as the example)."""
    declared: dict[int | str, dict[str, Any]] = {}
    for item in declared_items:
        status = item.status if isinstance(item, DomainError) else item
        if status < 400:
            content = {"schema": _RESOURCE_SCHEMA}
        else:
            problem = item.payload() if isinstance(item, DomainError) else example_problem(status)
            content = {"schema": _OUTCOME_SCHEMA, "example": operation_outcome(problem)}
        declared[status] = {
            "description": HTTPStatus(status).phrase,
            "content": {FHIR_MEDIA_TYPE: content},
        }
    return declared
