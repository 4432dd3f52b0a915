"""Every error the app can answer with is problem+json; a 500 reveals only a request id."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from booking.db import get_session
from tests.factories import appointment_request
from tests.helpers import assert_problem

LEAKY_MESSAGE = "patient Ana Ruiz, ana.ruiz@example.com"


async def test_unknown_path_gets_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    body = assert_problem(response, 404)
    assert body["type"] == "about:blank"


async def test_wrong_method_gets_405_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/reason-codes")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_every_response_has_a_request_id_and_a_sane_one_is_kept(
    client: httpx.AsyncClient,
) -> None:
    generated = await client.get("/api/v1/reason-codes")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/api/v1/reason-codes", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["x-request-id"] == "abc-123"
    replaced = await client.get("/api/v1/reason-codes", headers={"X-Request-ID": "<script>"})
    assert replaced.headers["x-request-id"] != "<script>"


@pytest.fixture
async def failing_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    def explode() -> None:
        raise RuntimeError(LEAKY_MESSAGE)

    app.dependency_overrides[get_session] = explode  # every write route opens a session
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://booking.test") as client:
        yield client
    app.dependency_overrides.clear()


async def test_an_unexpected_error_is_a_500_problem_revealing_only_a_request_id(
    failing_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await failing_client.post(
            "/api/v1/appointments",
            json=appointment_request(),
            headers={"X-Request-ID": "req-500"},
        )
    body = assert_problem(response, 500)
    assert body["request_id"] == "req-500"
    assert "req-500" in body["detail"]
    assert "Ana" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-request-id"] == "req-500"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "req-500" in logged
    assert "RuntimeError" in logged
    assert "Ana" not in logged
    assert "ana.ruiz" not in logged


async def test_the_openapi_spec_declares_problem_responses(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    create = spec["paths"]["/api/v1/appointments"]["post"]
    assert create["operationId"] == "createAppointment"
    for status in ("409", "413", "415", "422", "500"):
        content = create["responses"][status]["content"]
        assert list(content) == ["application/problem+json"], status
    assert "Location" in create["responses"]["201"]["headers"]
    assert "ValidationProblem" in spec["components"]["schemas"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    parameters = {parameter["name"] for parameter in create["parameters"]}
    assert "Idempotency-Key" in parameters


async def test_the_access_log_names_route_templates_never_queries_or_ids(
    client: httpx.AsyncClient, desk: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="booking.access"):
        await client.get("/api/v1/appointments", params={"q": "Ruiz"}, headers=desk)
        await client.get("/api/v1/appointments/00000000-0000-4000-8000-000000000abc", headers=desk)
        await client.get("/api/v1/ana.ruiz@example.com")
    lines = [record.getMessage() for record in caplog.records if record.name == "booking.access"]
    assert lines[0].startswith("GET /api/v1/appointments 200 ")
    assert lines[1].startswith("GET /api/v1/appointments/{appointment_id} 404 ")
    assert lines[2].startswith("GET <unmatched> 404 ")
    assert "Ruiz" not in "\n".join(lines)
    assert "ana.ruiz" not in "\n".join(lines)
    assert "000000000abc" not in "\n".join(lines)


def test_the_committed_openapi_document_matches_the_app() -> None:
    """docs/openapi.json is what integrators read; refresh it with `booking openapi`."""
    import json
    from pathlib import Path

    from booking.main import create_app
    from tests.settings import make_settings

    committed = json.loads((Path(__file__).parents[1] / "docs" / "openapi.json").read_text())
    current = create_app(make_settings("sqlite:///unused.db")).openapi()
    assert current == committed, "the API changed: run `booking openapi > docs/openapi.json`"


def test_every_operation_is_documented_for_integrators() -> None:
    from booking.main import create_app
    from tests.settings import make_settings

    spec = create_app(make_settings("sqlite:///unused.db")).openapi()
    operation_ids = set()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), where
            assert operation.get("description"), where
            assert operation.get("tags"), where
            assert operation["operationId"][0].islower(), where
            operation_ids.add(operation["operationId"])
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")) and path.startswith("/fhir/"):
                    outcome = response["content"]["application/fhir+json"]["example"]
                    assert outcome["resourceType"] == "OperationOutcome", where
                elif status.startswith(("4", "5")):
                    problem = response["content"]["application/problem+json"]
                    if status.endswith("XX"):  # a range: 4XX
                        assert str(problem["example"]["status"])[0] == status[0], where
                    else:
                        assert problem["example"]["status"] == int(status), where
    assert {"createAppointment", "confirmAppointment", "listAppointments"} <= operation_ids


def test_each_problem_type_has_one_title_and_status_and_the_examples_use_them() -> None:
    """A kind of error inherits what its class statement leaves out: one that gave a new title
    but kept its base's slug would give one problem type two meanings."""
    from booking.errors import DomainError
    from booking.main import create_app
    from tests.settings import make_settings

    spec = create_app(make_settings("sqlite:///unused.db")).openapi()  # imports every domain
    kinds, pending = [], [DomainError]
    while pending:
        kind = pending.pop()
        kinds.append(kind)
        pending.extend(kind.__subclasses__())
    meanings: dict[str, set[tuple[int, str]]] = {}
    for kind in kinds:
        meanings.setdefault(f"/problems/{kind.slug}", set()).add((kind.status, kind.title))
    assert {slug: found for slug, found in meanings.items() if len(found) > 1} == {}

    examples = [
        response["content"]["application/problem+json"]["example"]
        for path, methods in spec["paths"].items()
        if not path.startswith("/fhir/")  # OperationOutcomes: tests/fhir
        for operation in methods.values()
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
    ]
    by_a_kind = [example for example in examples if example["type"] in meanings]
    assert {example["status"] for example in by_a_kind} >= {401, 403, 404, 409, 412, 422, 429}
    for example in by_a_kind:
        assert meanings[example["type"]] == {(example["status"], example["title"])}
