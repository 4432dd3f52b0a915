"""The settings and the moment the suite runs the app with (in process; see tests/servers.py
for real processes)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from booking.config import Settings, load_settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Monday 30 November 2026, 09:00 in Chicago: the practice is open, the day has just begun.
NOW = dt.datetime(2026, 11, 30, 15, 0, tzinfo=dt.UTC)

# Tests sign with a key of their own: nothing writes a generated secret file into the repo.
TEST_SECRET_KEY = "tests-only-Zq8vN3xL0pR7wK2mJ5tY9bH4cF6dG1sA"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "environment": "development",
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "practice_timezone": "America/Chicago",
        "open_weekdays": "mon,tue,wed,thu,fri",
        "closed_dates": "2026-12-25",
        "booking_horizon_days": 90,
        "notifier": "console",
        "public_rate_limit": "0",
        # Tests deliver the outbox themselves (tests/notifications), one batch at a time.
        "relay_in_process": False,
        # Most tests send many requests from one address; tests/notifications/test_receipt_cap.py
        # turns the cap on.
        "receipts_per_address_per_day": 0,
    }
    values.update(overrides)
    return load_settings(**values)
