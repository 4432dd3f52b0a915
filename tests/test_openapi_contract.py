"""The OpenAPI document as integrators' tools see it: valid OpenAPI 3.1 (openapi-spec-validator),
0 errors and 0 warnings from Spectral (``spectral:oas``) and Redocly (``recommended``), and a
TypeScript client generated from it that type-checks under ``tsc --strict``.

The node tools are pinned in tools/package.json (with its lock). ``.ci/run`` installs them;
without node_modules this module installs them itself when npm is there. Without node the
tests say so: a skip on a developer's machine, a failure in CI (CI=true), which has node.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

ROOT = Path(__file__).parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
TOOLS = ROOT / "tools"
BIN = TOOLS / "node_modules" / ".bin"
QUIET = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"true", "1", "yes"}


@pytest.fixture(scope="session")
def node_tools() -> Path:
    """tools/node_modules/.bin, installed from the lock file when missing or out of date."""
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if missing:
        message = (
            f"{' and '.join(missing)} not found: the OpenAPI linters (Spectral, Redocly) and "
            "the TypeScript client check need Node.js 20 or later with npm "
            "(then `npm ci --prefix tools`)."
        )
        if in_ci():
            pytest.fail(message + " CI must have node.")
        pytest.skip(message)
    installed = TOOLS / "node_modules" / ".package-lock.json"
    lock = TOOLS / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--prefix", str(TOOLS), "--no-audit", "--no-fund"],
            check=True,
            timeout=600,
        )
    return BIN


def run(
    command: list[str], env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, **QUIET, **(env_extra or {})},
        check=False,
    )


def spectral_results(bin_: Path, document: Path) -> list[dict[str, Any]]:
    report = document.with_suffix(".spectral.json")
    result = run(
        [
            *(str(bin_ / "spectral"), "lint", "-r", str(TOOLS / "spectral.yaml")),
            *("-f", "json", "-o", str(report), "--fail-severity", "hint", str(document)),
        ]
    )
    assert report.exists(), result.stdout + result.stderr
    results: list[dict[str, Any]] = json.loads(report.read_text())
    return results


def redocly_totals(bin_: Path, document: Path) -> tuple[dict[str, int], list[dict[str, Any]]]:
    result = run(
        [
            str(bin_ / "redocly"),
            "lint",
            "--config",
            str(TOOLS / "redocly.yaml"),
            "--format",
            "json",
            str(document),
        ]
    )
    assert result.stdout.strip(), result.stderr
    report = json.loads(result.stdout)
    return report["totals"], report["problems"]


def broken_document(tmp_path: Path) -> Path:
    """The document with the mistake integrators found: an ETag header without a schema."""
    document = json.loads(DOCUMENT.read_text())
    read = document["paths"]["/api/v1/appointments/{appointment_id}"]["get"]
    del read["responses"]["200"]["headers"]["ETag"]["schema"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    return path


def test_the_document_is_valid_openapi() -> None:
    validate(json.loads(DOCUMENT.read_text()))


def test_the_validator_refuses_a_header_without_a_schema(tmp_path: Path) -> None:
    with pytest.raises(OpenAPIValidationError):
        validate(json.loads(broken_document(tmp_path).read_text()))


def test_spectral_finds_nothing(node_tools: Path, tmp_path: Path) -> None:
    document = tmp_path / "openapi.json"
    shutil.copy(DOCUMENT, document)
    results = spectral_results(node_tools, document)
    found = [f"{r['code']} {'.'.join(map(str, r['path']))}: {r['message']}" for r in results]
    assert found == []


def test_spectral_finds_a_header_without_a_schema(node_tools: Path, tmp_path: Path) -> None:
    codes = {result["code"] for result in spectral_results(node_tools, broken_document(tmp_path))}
    assert "oas3-schema" in codes


def test_redocly_finds_nothing(node_tools: Path) -> None:
    totals, problems = redocly_totals(node_tools, DOCUMENT)
    found = [f"{p['ruleId']}: {p['message']}" for p in problems]
    assert (totals["errors"], totals["warnings"], found) == (0, 0, [])


def test_redocly_finds_a_header_without_a_schema(node_tools: Path, tmp_path: Path) -> None:
    totals, problems = redocly_totals(node_tools, broken_document(tmp_path))
    assert totals["errors"] >= 1
    assert "struct" in {problem["ruleId"] for problem in problems}


def test_every_problem_type_is_a_member_of_one_schema_and_responses_name_their_kinds() -> None:
    from booking.errors import DomainError, problem_type
    from booking.main import create_app
    from booking.problem_docs import problem_kinds
    from tests.settings import make_settings

    spec = create_app(make_settings("sqlite:///unused.db")).openapi()
    schemas = spec["components"]["schemas"]
    every_kind, pending = set(), [DomainError]  # what the app has imported by now
    while pending:
        kind = pending.pop()
        every_kind.add(kind)
        pending.extend(kind.__subclasses__())
    assert every_kind == set(problem_kinds())
    enums = {
        name: schema["properties"]["type"]["enum"]
        for name, schema in schemas.items()
        if name == "Problem" or name.endswith("Problem")
    }
    for kind in problem_kinds():
        holders = [name for name, types in enums.items() if problem_type(kind.slug) in types]
        assert len(holders) == 1, kind
        if kind.members is not None:
            assert holders == [kind.members.__name__]
            assert set(kind.members.model_fields) <= set(schemas[holders[0]]["required"])
    assert "request_id" not in schemas["Problem"]["required"]
    assert schemas["PreconditionFailedProblem"]["properties"]["current_etag"]["type"] == "string"

    create = spec["paths"]["/api/v1/appointments"]["post"]["responses"]
    assert create["409"]["content"]["application/problem+json"]["example"]["type"] == (
        "/problems/idempotency-key-in-use"
    )
    assert "Retry-After" in create["429"]["headers"]
    confirm = spec["paths"]["/api/v1/appointments/{appointment_id}/confirm"]["post"]["responses"]
    assert confirm["200"]["headers"]["ETag"]["schema"] == {"type": "string"}
    assert confirm["412"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/PreconditionFailedProblem"
    }
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            assert "security" in operation, f"{method} {path}"
            for status, response in operation["responses"].items():
                assert "X-Request-ID" in response["headers"], f"{method} {path} {status}"


def test_each_operation_documents_what_any_may_answer_and_is_named_by_its_function() -> None:
    """No route restates these (booking.openapi derives them): a 500 on every operation, a
    422 (ours, not FastAPI's HTTPValidationError) on each that takes input, and the credential's
    401 and 403 on every operation of a guarded router; each operation's id is its function's
    name in camelCase."""
    from booking.main import create_app
    from tests.settings import make_settings

    app = create_app(make_settings("sqlite:///unused.db"))
    spec = app.openapi()
    assert "HTTPValidationError" not in json.dumps(spec)
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            responses = operation["responses"]
            assert "500" in responses, f"{method} {path}"
            takes_input = bool(operation.get("parameters")) or "requestBody" in operation
            assert ("422" in responses) == takes_input, f"{method} {path}"
            assert list(responses) == sorted(responses, key=lambda s: (not s.isdigit(), s))
            if path.startswith(("/api/v1/availability", "/api/v1/schedule", "/fhir/r4/")):
                assert {"401", "403"} <= set(responses), f"{method} {path}"
    ids = {
        operation["operationId"]
        for methods in spec["paths"].values()
        for operation in methods.values()
    }
    assert {"listFreeSlots", "getSignedInStaff", "fhirSearchSlots", "confirmAppointment"} <= ids
    assert len(ids) == sum(len(methods) for methods in spec["paths"].values())


def test_a_generated_typescript_client_type_checks_books_lists_and_narrows_problems(
    node_tools: Path, tmp_path: Path
) -> None:
    """openapi-typescript's types for the document, tools/client/booking-client.ts checked
    against them under ``tsc --strict``, then run against a real server."""
    from tests.servers import booking_env, next_open_day, run_booking, running_servers
    from tests.staff.helpers import create_staff_with_cli

    client = tmp_path / "client"
    shutil.copytree(TOOLS / "client", client, ignore=shutil.ignore_patterns("generated", "dist"))
    (client / "node_modules").symlink_to(TOOLS / "node_modules", target_is_directory=True)
    generated = run(
        [
            *(str(node_tools / "openapi-typescript"), str(DOCUMENT)),
            *("-o", str(client / "generated" / "booking.d.ts")),
        ]
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    checked = run([str(node_tools / "tsc"), "--strict", "--noEmit", "-p", str(client)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    built = run([str(node_tools / "tsc"), "--strict", "-p", str(client)])
    assert built.returncode == 0, built.stdout + built.stderr

    database_url = f"sqlite:///{tmp_path / 'client.db'}"
    migrated = run_booking("migrate", env=booking_env(database_url))
    assert migrated.returncode == 0, migrated.stderr
    clerk = create_staff_with_cli(booking_env(database_url), tmp_path, "clerk@practice.example")
    with running_servers(database_url, tmp_path) as [base_url]:
        ran = run(
            ["node", str(client / "dist" / "booking-client.js")],
            env_extra={
                "BOOKING_URL": base_url,
                "BOOKING_TOKEN": clerk.access_token(base_url),
                "BOOKING_DAY": next_open_day(),
            },
        )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    outcome = json.loads(ran.stdout.strip().splitlines()[-1])
    assert outcome["status"] == "requested"
    assert outcome["badField"] == "preferred_windows"
    assert outcome["listed"] is True
    assert outcome["currentStatus"] == "cancelled"


def test_tsc_refuses_a_client_that_ignores_the_problem_type(
    node_tools: Path, tmp_path: Path
) -> None:
    """The check can fail: reading a member the problem's type does not carry is an error."""
    client = tmp_path / "client"
    shutil.copytree(TOOLS / "client", client, ignore=shutil.ignore_patterns("generated", "dist"))
    (client / "node_modules").symlink_to(TOOLS / "node_modules", target_is_directory=True)
    script = client / "booking-client.ts"
    source = script.read_text()
    narrowed = 'if (conflict.type === "/problems/invalid-transition") {'
    assert narrowed in source
    script.write_text(source.replace(narrowed, "if (conflict.type !== undefined) {"))
    run(
        [
            *(str(node_tools / "openapi-typescript"), str(DOCUMENT)),
            *("-o", str(client / "generated" / "booking.d.ts")),
        ]
    )
    checked = run([str(node_tools / "tsc"), "--strict", "--noEmit", "-p", str(client)])
    assert checked.returncode != 0
    assert "current_status" in checked.stdout
