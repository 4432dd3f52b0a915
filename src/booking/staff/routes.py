"""Sign-in and staff administration."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from starlette.responses import Response

from booking.db import SessionDep
from booking.dependencies import (
    NO_STORE_RESPONSES,
    ClockDep,
    SettingsDep,
    client_address,
    no_store,
    require_json_body,
)
from booking.errors import NotFound
from booking.idempotency.dependencies import refuse_idempotency_key
from booking.problem_docs import problem_responses
from booking.security import sign
from booking.staff import service as staff
from booking.staff.admin import AdminChangeDep
from booking.staff.dependencies import AdminStaff, CurrentStaff
from booking.staff.errors import LastActiveAdmin, StaffEmailTaken
from booking.staff.schemas import AccessToken, SessionsEnded, StaffCreate, StaffOut
from booking.staff.throttle import SignInThrottle
from booking.staff.tokens import issue_access_token

router = APIRouter(prefix="/api/v1", tags=["staff"])


async def get_sign_in_throttle(request: Request) -> SignInThrottle:
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    return throttle


STAFF_NOT_FOUND = NotFound("No staff account with this id.")


@router.post(
    "/auth/token",
    summary="Sign in as staff",
    # RFC 6749 §5.1: a token response is never cached. A sign-in needs no Idempotency-Key
    # (and no token is ever stored for a replay): one is refused with a 422.
    dependencies=[
        Depends(no_store),
        refuse_idempotency_key("this request is safe to repeat without one"),
    ],
    responses={**NO_STORE_RESPONSES, **problem_responses(401, 429)},
)
async def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    throttle: Annotated[SignInThrottle, Depends(get_sign_in_throttle)],
) -> AccessToken:
    """OAuth2 password flow: `username` is the staff email. Failed attempts are throttled per
    account and client, per account and per client (429 with `Retry-After`). Signing in again
    is safe, so an `Idempotency-Key` is refused (422 naming the header)."""
    account = await staff.sign_in(
        session,
        throttle=throttle,
        email=form.username,
        password=form.password,
        client=client_address(request),
    )
    lifetime = dt.timedelta(minutes=settings.access_token_minutes)
    token = issue_access_token(
        staff_id=account.id,
        generation=account.token_generation,
        secret_key=settings.secret_key,
        now=clock.now(),
        lifetime=lifetime,
    )
    return AccessToken(access_token=token, expires_in=int(lifetime.total_seconds()))


@router.get(
    "/staff/me",
    summary="Who am I",
    responses=problem_responses(401),
)
async def get_signed_in_staff(me: CurrentStaff) -> StaffOut:
    """The account the bearer token belongs to."""
    return StaffOut.model_validate(me, from_attributes=True)


@router.get(
    "/staff",
    summary="List staff accounts (admin)",
    responses=problem_responses(401, 403),
)
async def list_staff(_admin: AdminStaff, session: SessionDep) -> list[StaffOut]:
    """Every staff account, active or not, by email."""
    accounts = await staff.list_staff(session)
    return [StaffOut.model_validate(account, from_attributes=True) for account in accounts]


@router.post(
    "/staff",
    status_code=201,
    summary="Create a staff account (admin)",
    response_model=StaffOut,
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(401, 403, StaffEmailTaken(), 415),
)
async def create_staff(
    body: StaffCreate, change: AdminChangeDep, settings: SettingsDep
) -> Response:
    """A new front-desk clerk or admin; the password needs 12 characters or more. Send an
    `Idempotency-Key` to make a retry safe."""

    async def produce() -> StaffOut:
        account = await staff.create_staff(
            change.session,
            email=body.email,
            display_name=body.display_name,
            role=body.role,
            password=body.password,
            now=change.clock.now(),
        )
        return StaffOut.model_validate(account, from_attributes=True)

    return await change.respond(
        produce,
        # The password enters the stored fingerprint only through a keyed hash.
        payload={
            **body.model_dump(mode="json"),
            "password": sign(settings.secret_key, "idempotency-fingerprint", body.password),
        },
        status_code=201,
    )


@router.post(
    "/staff/{staff_id}/deactivate",
    summary="Deactivate a staff account (admin); its tokens stop working at once",
    response_model=StaffOut,
    responses=problem_responses(
        401, 403, STAFF_NOT_FOUND, LastActiveAdmin("Make another account an admin first.")
    ),
)
async def deactivate_staff(staff_id: uuid.UUID, change: AdminChangeDep) -> Response:
    """The account can no longer sign in; its tokens and desk sessions end at once. 409
    `cannot-deactivate-self` for your own account, `last-active-admin` for the last admin."""

    async def produce() -> StaffOut:
        account = await staff.deactivate_staff(
            change.session, staff_id=staff_id, now=change.clock.now(), by=change.admin.id
        )
        return StaffOut.model_validate(account, from_attributes=True)

    return await change.respond(produce)


@router.post(
    "/staff/{staff_id}/end-sessions",
    summary="Sign a staff account out everywhere (admin)",
    response_model=SessionsEnded,
    responses=problem_responses(401, 403, STAFF_NOT_FOUND),
)
async def end_staff_sessions(staff_id: uuid.UUID, change: AdminChangeDep) -> Response:
    """Every desk session of the account ends and its bearer tokens stop working; the account
    stays active and can sign in again. `ended` counts the desk sessions."""

    async def produce() -> SessionsEnded:
        ended = await staff.end_sessions(change.session, staff_id=staff_id, now=change.clock.now())
        return SessionsEnded(ended=ended)

    return await change.respond(produce)
