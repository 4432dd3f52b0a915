"""Metrics (Prometheus text format), JSON logs, and the request id every log line carries.

Metrics are kept per process (one registry per app); with several workers, scrape each one or
put them behind a per-replica scrape. Nothing personal or medical is ever a label: routes are
templates, and appointment requests are counted by channel, not by reason code (docs/privacy.md).
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

# No `*_created` series: each one is the sub-second time a label combination was first seen,
# which for a rare route or status dates one person's action.
disable_created_metrics()  # type: ignore[no-untyped-call]

current_request_id: ContextVar[str | None] = ContextVar("booking_request_id", default=None)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "booking_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "booking_http_request_duration_seconds",
            "Time to answer, by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        # By channel ("api" or "form"), never by reason code: reason codes are health data,
        # and an increment between two scrapes would date one patient's reason.
        channel_help = "Appointment requests stored, by channel (api or form)."
        self.appointments_created = Counter(
            "booking_appointment_requests_total", channel_help, ["channel"], registry=registry
        )
        limit_help = "Requests refused by a rate limit."
        self.rate_limited = Counter(
            "booking_rate_limited_total", limit_help, ["limit"], registry=registry
        )
        spam_help = (
            "Hosted-form submissions dropped as spam (the hidden honeypot field was filled)."
        )
        self.spam = Counter("booking_spam_dropped_total", spam_help, registry=registry)
        skipped_help = (
            "Request-received emails not sent: the address had its daily cap "
            "(BOOKING_RECEIPTS_PER_ADDRESS_PER_DAY). The requests themselves were stored."
        )
        self.receipts_skipped = Counter(
            "booking_receipt_emails_skipped_total", skipped_help, registry=registry
        )
        outbox_help = "Outbox messages waiting (pending) or given up (dead), read at scrape time."
        self.outbox = Gauge("booking_outbox_messages", outbox_help, ["status"], registry=registry)

    def appointment_stored(self, channel: str, *, receipt_skipped: bool) -> None:
        """One request stored, through ``api`` or the hosted ``form``."""
        self.appointments_created.labels(channel).inc()
        if receipt_skipped:
            self.receipts_skipped.inc()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info and record.exc_info[0] is not None:
            # The kind of the exception and where, never its message (it may quote input).
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)
