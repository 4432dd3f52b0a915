"""``/api/v1/api-keys``: admins create, list and revoke the keys machines call the API with."""

from __future__ import annotations

import uuid

from fastapi import Depends, Response

from booking.apikeys import service as apikeys
from booking.apikeys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from booking.db import SessionDep
from booking.dependencies import NO_STORE_RESPONSES, ClockDep, no_store, require_json_body
from booking.idempotency.dependencies import refuse_idempotency_key
from booking.problem_docs import problem_responses
from booking.staff.dependencies import AdminStaff, admins_only

# Every operation here is an admin's.
router = admins_only().router(prefix="/api/v1/api-keys", tags=["api keys"])


def _out(record: object) -> ApiKeyOut:
    return ApiKeyOut.model_validate(record, from_attributes=True)


@router.post(
    "",
    status_code=201,
    summary="Create an API key (admin); the key is shown once",
    response_model=ApiKeyCreated,
    dependencies=[
        Depends(require_json_body),
        Depends(no_store),
        # A replay would have to store the key: a retry makes a second key instead (revoke
        # the one you did not get).
        refuse_idempotency_key("the key is shown once and never stored for a replay"),
    ],
    responses={201: NO_STORE_RESPONSES[200], **problem_responses(415)},
)
async def create_api_key(
    body: ApiKeyCreate, admin: AdminStaff, session: SessionDep, clock: ClockDep
) -> ApiKeyCreated:
    """A key for a machine, limited to `scopes`: `appointments:read` (the list, one
    appointment, its history, free times, the schedule), `appointments:write` (confirm,
    reschedule, decline, cancel, complete, no-show) and `fhir:read` (the FHIR API). Send it as
    `Authorization: Bearer <key>`. Only its hash is stored: `key` appears in this response
    and nowhere else."""
    record, key = await apikeys.create_key(
        session, name=body.name, scopes=body.scopes, created_by=admin.id, now=clock.now()
    )
    return ApiKeyCreated(
        id=record.id, name=record.name, scopes=body.scopes, key=key, created_at=record.created_at
    )


@router.get(
    "",
    summary="List API keys (admin)",
)
async def list_api_keys(session: SessionDep) -> list[ApiKeyOut]:
    """Every key, revoked ones too, oldest first, with when each was last used. Never the
    keys themselves."""
    return [_out(record) for record in await apikeys.list_keys(session)]


@router.delete(
    "/{api_key_id}",
    status_code=204,
    summary="Revoke an API key (admin); it stops working at once",
    responses=problem_responses(404),
)
async def revoke_api_key(api_key_id: uuid.UUID, session: SessionDep, clock: ClockDep) -> Response:
    """The key opens nothing from the next request on. Revoking a revoked key changes
    nothing."""
    await apikeys.revoke_key(session, key_id=api_key_id, now=clock.now())
    return Response(status_code=204)
