from __future__ import annotations

from fastapi import APIRouter, Depends

from booking.db import SessionDep
from booking.dependencies import ClockDep, require_json_body
from booking.errors import problem_responses
from booking.providers import service as providers
from booking.providers.schemas import ProviderCreate, ProviderOut
from booking.staff.dependencies import AdminStaff, CurrentStaff

router = APIRouter(prefix="/api/v1", tags=["providers"])


@router.get(
    "/providers",
    operation_id="listProviders",
    summary="List providers",
    responses=problem_responses(401, 500),
)
async def list_providers(_staff: CurrentStaff, session: SessionDep) -> list[ProviderOut]:
    """Whose diaries visits go into. A new database has one, "Practice"."""
    found = await providers.list_providers(session)
    return [ProviderOut.model_validate(provider, from_attributes=True) for provider in found]


@router.post(
    "/providers",
    status_code=201,
    operation_id="addProvider",
    summary="Add a provider (admin)",
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(401, 403, 415, 422, 500),
)
async def add_provider(
    body: ProviderCreate, _admin: AdminStaff, session: SessionDep, clock: ClockDep
) -> ProviderOut:
    """Once a practice has two providers, confirming a visit names one (`provider_id`)."""
    provider = await providers.add_provider(session, name=body.name, now=clock.now())
    return ProviderOut.model_validate(provider, from_attributes=True)
