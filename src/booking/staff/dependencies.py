"""Who is calling, from the bearer credential: ``CurrentStaff`` and ``AdminStaff`` (a staff
token), or a ``Caller`` of a scoped operation (a staff token, or an API key with the scope)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordBearer

from booking.apikeys import service as apikeys
from booking.apikeys.errors import MissingScope, StaffOnly
from booking.apikeys.models import ApiKey, ApiScope
from booking.db import SessionDep
from booking.dependencies import ClockDep, SettingsDep
from booking.idempotency.dependencies import staff_scope
from booking.problem_docs import problem_responses
from booking.staff import service as staff
from booking.staff.errors import Forbidden, InvalidToken, NotAuthenticated
from booking.staff.models import StaffAccount, StaffRole
from booking.staff.tokens import read_access_token

bearer_token = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    auto_error=False,
    description="Sign in at POST /api/v1/auth/token with a staff email and password. "
    "Machines send an API key (`bk_…`, from POST /api/v1/api-keys) the same way, as "
    "`Authorization: Bearer <key>`, where the operation names the scope it needs.",
)


async def current_staff(
    token: Annotated[str | None, Depends(bearer_token)],
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> StaffAccount:
    """The signed-in staff member. Checked on every request, so deactivation acts at once.

    Read in the request's own session and transaction (no second session, no second
    connection): the account is then part of the same snapshot as the work.
    """
    if not token:
        raise NotAuthenticated("Send an Authorization: Bearer token from POST /api/v1/auth/token.")
    if apikeys.is_api_key(token):
        raise StaffOnly("API keys cannot do this: it needs a signed-in staff member.")
    claims = read_access_token(token, secret_key=settings.secret_key, now=clock.now())
    account = await staff.account_for_credential(
        session, staff_id=claims.staff_id, token_generation=claims.generation
    )
    if account is None:
        raise InvalidToken("This token no longer works; sign in again.")
    return account


CurrentStaff = Annotated[StaffAccount, Depends(current_staff)]


async def admin_staff(staff: CurrentStaff) -> StaffAccount:
    if staff.role != StaffRole.admin:
        raise Forbidden("Only an admin can do this.")
    return staff


AdminStaff = Annotated[StaffAccount, Depends(admin_staff)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls an operation that API keys may call too: a staff member, or a key."""

    staff: StaffAccount | None = None
    api_key: ApiKey | None = None

    @property
    def staff_id(self) -> uuid.UUID | None:
        return self.staff.id if self.staff else None

    @property
    def api_key_id(self) -> uuid.UUID | None:
        return self.api_key.id if self.api_key else None

    @property
    def idempotency_scope(self) -> str:
        """Whose Idempotency-Keys these are: one caller's key never replays another's."""
        return staff_scope(self.staff.id) if self.staff else f"apikey:{self.api_key_id}"


def scope_missing(scope: ApiScope) -> MissingScope:
    """The 403 for an API key without ``scope``; also the example in the OpenAPI document of
    the operations that need it."""
    return MissingScope(f"This needs an API key with the scope {scope.value}.")


@functools.cache
def caller_with(scope: ApiScope) -> Any:
    """``Annotated[Caller, caller_with(scope)]``: a signed-in staff member, or an API key
    holding ``scope`` (403 naming it otherwise). Keys are checked on every request, so a
    revoked key stops at once.

    A router whose every operation needs the scope declares it once, as a router dependency;
    the same ``Depends`` for the same scope (cached here) lets an operation that wants the
    caller itself take it as well, and FastAPI still checks once a request."""

    async def caller(
        token: Annotated[str | None, Depends(bearer_token)],
        session: SessionDep,
        settings: SettingsDep,
        clock: ClockDep,
    ) -> Caller:
        if token and apikeys.is_api_key(token):
            key = await apikeys.key_for_secret(session, token, now=clock.now())
            if key is None:
                raise InvalidToken("This API key is not valid, or it was revoked.")
            if scope.value not in key.scopes:
                raise scope_missing(scope)
            return Caller(api_key=key)
        return Caller(staff=await current_staff(token, session, settings, clock))

    return Depends(caller)


@dataclass(frozen=True, slots=True)
class RouterGuard:
    """The credential every operation of a router needs, declared once, on the router
    (``guard.router(prefix=..., tags=...)``): no operation can forget it, and none restates
    the 401 and 403 it answers."""

    check: Any  # a Depends
    problems: dict[int | str, dict[str, Any]]

    def router(
        self,
        *,
        dependencies: Sequence[Any] = (),
        responses: Mapping[int | str, dict[str, Any]] | None = None,
        **options: Any,
    ) -> APIRouter:
        """An ``APIRouter`` with the check after ``dependencies`` (so that ``db.ReadsOnly``
        there applies before the check's own statements) and the problems beside
        ``responses``."""
        return APIRouter(
            dependencies=[*dependencies, self.check],
            responses={**(responses or {}), **self.problems},
            **options,
        )


def staff_only() -> RouterGuard:
    return RouterGuard(Depends(current_staff), problem_responses(401))


def admins_only() -> RouterGuard:
    return RouterGuard(Depends(admin_staff), problem_responses(401, 403))


def callers_with(scope: ApiScope) -> RouterGuard:
    """Staff members, and API keys holding ``scope``."""
    return RouterGuard(caller_with(scope), problem_responses(401, scope_missing(scope)))


AppointmentsWriter = Annotated[Caller, caller_with(ApiScope.appointments_write)]
