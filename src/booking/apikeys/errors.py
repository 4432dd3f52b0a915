from __future__ import annotations

from booking.errors import DomainError, NotFound


class ApiKeyNotFound(NotFound, slug="api-key-not-found", title="No such API key"): ...


class MissingScope(
    DomainError, status=403, slug="missing-scope", title="The API key lacks a scope this needs"
):
    """A key without the scope an operation needs; the detail names the scope."""


class StaffOnly(
    DomainError, status=403, slug="staff-only", title="Only a signed-in staff member can do this"
): ...
