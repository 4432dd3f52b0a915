from __future__ import annotations

from types import MappingProxyType

from booking.errors import Conflict, DomainError, FieldError, RequestInvalid, RetryLater


class NotAuthenticated(DomainError, status=401, slug="not-authenticated", title="Sign in first"):
    """The base of the 401s, which all challenge the client to send a bearer token."""

    headers = MappingProxyType({"WWW-Authenticate": "Bearer"})


class InvalidToken(NotAuthenticated, slug="invalid-token", title="The access token is not valid"):
    headers = MappingProxyType({"WWW-Authenticate": 'Bearer error="invalid_token"'})


class InvalidCredentials(
    NotAuthenticated, slug="invalid-credentials", title="Wrong email or password"
): ...


class TooManySignInAttempts(
    RetryLater, slug="too-many-sign-in-attempts", title="Too many failed sign-ins"
): ...


class Forbidden(
    DomainError, status=403, slug="forbidden", title="Your role does not allow this"
): ...


class StaffEmailTaken(
    Conflict, slug="staff-email-taken", title="A staff account with this email exists"
): ...


class WeakPassword(RequestInvalid, slug="weak-password", title="The password is too weak"):
    def __init__(self, detail: str) -> None:
        super().__init__([FieldError("password", detail)], detail)


class CannotDeactivateSelf(
    Conflict, slug="cannot-deactivate-self", title="You cannot deactivate your own account"
): ...


class LastActiveAdmin(
    Conflict, slug="last-active-admin", title="The last active admin cannot be deactivated"
): ...
