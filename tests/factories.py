"""Request bodies for tests: a valid one, and ways to spoil it."""

from __future__ import annotations

import copy
from typing import Any

# Monday 7 December 2026 is an open day inside the horizon of the frozen clock (see conftest).
OPEN_DAY = "2026-12-07"


def appointment_request(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "patient": {
            "first_name": "Ana",
            "last_name": "Ruiz",
            "email": "ana.ruiz@example.com",
            "phone": "(312) 555-0142",
            "date_of_birth": "1980-04-02",
            "is_new_patient": True,
        },
        "reason_code": "back_pain",
        "preferred_windows": [{"date": OPEN_DAY, "part_of_day": "morning"}],
        "contact_preference": "email",
        "urgent_symptoms": [],
        "consent": True,
    }
    for path, value in changes.items():
        set_path(body, path, value)
    return body


def set_path(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """``set_path(body, "patient__email", x)``: double underscores separate the levels."""
    parts = dotted.split("__")
    target: Any = body
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is DELETE:
        target.pop(last, None)
    else:
        target[last] = value
    return body


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()


def without(body: dict[str, Any], dotted: str) -> dict[str, Any]:
    return set_path(copy.deepcopy(body), dotted, DELETE)
