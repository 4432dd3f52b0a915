"""The relay: delivers outbox rows after their transaction committed, with retries.

Runs inside `booking serve` (woken right after a commit that queued something) and as
`booking worker`; any number can run at once:

1. Claim a batch: due, pending rows whose lease has lapsed; on PostgreSQL with
   ``FOR UPDATE SKIP LOCKED`` so that relays never wait for each other. The claim counts an
   attempt and sets a lease.
2. For each row: renew the lease only if this relay still holds it (another relay may have
   taken over a lapsed lease), then send, then mark it sent. A relay that dies between sending
   and marking leaves a lease that lapses; the next relay sends again, with the same
   Message-ID: at most one resend, recognisable as such.
3. A failure that retrying cannot fix (an SMTP 5xx) marks the row dead at once; others are
   retried with exponential backoff and jitter, and go dead after BOOKING_OUTBOX_MAX_ATTEMPTS.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import socket
import uuid
from collections.abc import Sequence
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from booking.clock import Clock
from booking.config import Settings
from booking.manage.service import mint_manage_token
from booking.notifications.emails import build_email
from booking.notifications.models import Channel, OutboxMessage, OutboxStatus, outbox_messages
from booking.notifications.notifiers import Notifier, PermanentDeliveryError
from booking.notifications.webhooks import deliver_webhook

logger = logging.getLogger("booking.relay")

CLAIM_LEASE = dt.timedelta(seconds=60)
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0


class LeaseLost(Exception):
    """Another relay took the message over after this relay's lease lapsed."""


def backoff(attempts: int) -> dt.timedelta:
    """Exponential, capped, with full jitter in its upper half (no thundering herd)."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=ceiling * random.uniform(0.5, 1.0))  # noqa: S311


class Relay:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        notifier: Notifier,
        http: httpx.AsyncClient,
        worker_id: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        self.notifier = notifier
        self.http = http
        self.worker_id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"
        self.wakeup = asyncio.Event()
        # One send may take a connection, a login and the data: three timeouts and a margin.
        self.send_lease = dt.timedelta(seconds=30 + 3 * settings.smtp_timeout_seconds)

    async def run(self, stop: asyncio.Event, *, idle_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set; the batch in hand is always finished first."""
        logger.info("relay %s started", self.worker_id)
        while not stop.is_set():
            try:
                delivered = await self.deliver_batch()
            except Exception as error:  # the database may be away for a moment
                logger.error("relay batch failed: %s", type(error).__name__)
                delivered = 0
            if delivered:
                continue
            self.wakeup.clear()
            waiters = [
                asyncio.ensure_future(stop.wait()),
                asyncio.ensure_future(self.wakeup.wait()),
            ]
            await asyncio.wait(waiters, timeout=idle_seconds, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        logger.info("relay %s stopped", self.worker_id)

    async def deliver_batch(self) -> int:
        claimed = await self._claim()
        try:
            for message in claimed:
                await self._deliver(message)
        finally:
            with contextlib.suppress(Exception):
                await self.notifier.aclose()
        return len(claimed)

    async def drain(self) -> int:
        """Deliver everything due now (tests, `booking outbox flush`)."""
        total = 0
        while delivered := await self.deliver_batch():
            total += delivered
        return total

    async def _claim(self) -> Sequence[OutboxMessage]:
        now = self.clock.now()
        table = outbox_messages
        async with self.sessionmaker() as session, session.begin():
            due = (
                select(table.c.id)
                .where(
                    table.c.status == OutboxStatus.pending,
                    table.c.next_attempt_at <= now,
                    or_(table.c.locked_until.is_(None), table.c.locked_until < now),
                )
                .order_by(table.c.next_attempt_at, table.c.created_at, table.c.appointment_version)
                .limit(self.settings.outbox_batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list((await session.execute(due)).scalars())
            if not ids:
                return []
            await session.execute(
                update(table)
                .where(table.c.id.in_(ids))
                .values(
                    locked_until=now + CLAIM_LEASE,
                    locked_by=self.worker_id,
                    attempts=table.c.attempts + 1,
                )
            )
            rows = await session.execute(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(ids))
                .order_by(
                    col(OutboxMessage.next_attempt_at),
                    col(OutboxMessage.created_at),
                    col(OutboxMessage.appointment_version),
                )
            )
            return list(rows.scalars())

    async def _deliver(self, message: OutboxMessage) -> None:
        try:
            manage_token = await self._renew_lease(message)
            if message.channel == Channel.webhook:
                await deliver_webhook(
                    self.http,
                    url=message.target,
                    event=message.payload,
                    secret=self.settings.webhook_secret,
                    now=self.clock.now().timestamp(),
                )
            else:
                manage_url = (
                    f"{self.settings.links_base_url}/manage/{manage_token}"
                    if manage_token
                    else None
                )
                await self.notifier.send(
                    build_email(message, settings=self.settings, manage_url=manage_url)
                )
        except LeaseLost:
            return  # another relay took it over; it delivers
        except PermanentDeliveryError as error:
            await self._finish(message, OutboxStatus.dead, str(error))
        except Exception as error:
            await self._retry_or_bury(message, _describe(error))
        else:
            await self._finish(message, OutboxStatus.sent, None)

    async def _renew_lease(self, message: OutboxMessage) -> str | None:
        """Extend this relay's lease; mint the patient's manage link in the same transaction.

        Returns the new manage token (None when the message is not a patient email); raises
        ``LeaseLost`` when another relay holds the message now.
        """
        now = self.clock.now()
        table = outbox_messages
        async with self.sessionmaker() as session, session.begin():
            renewed = await session.execute(
                update(table)
                .where(
                    table.c.id == message.id,
                    table.c.locked_by == self.worker_id,
                    table.c.status == OutboxStatus.pending,
                )
                .values(locked_until=now + self.send_lease)
            )
            if renewed.rowcount != 1:  # type: ignore[attr-defined]
                raise LeaseLost
            if message.channel != Channel.patient_email:
                return None
            return await mint_manage_token(
                session,
                appointment_id=message.appointment_id,
                now=now,
                days=self.settings.manage_link_days,
            )

    async def _finish(
        self, message: OutboxMessage, status: OutboxStatus, error: str | None
    ) -> None:
        now = self.clock.now()
        values: dict[str, Any] = {"status": status, "locked_until": None, "last_error": error}
        if status is OutboxStatus.sent:
            values["sent_at"] = now
        await self._update_own(message, values)
        logger.info(
            "outbox %s %s/%s: %s%s",
            message.id,
            message.channel,
            message.event,
            status.value,
            f" ({error})" if error else "",
        )

    async def _retry_or_bury(self, message: OutboxMessage, error: str) -> None:
        # ``attempts`` was counted when the message was claimed: it includes this one.
        if message.attempts >= self.settings.outbox_max_attempts:
            await self._finish(message, OutboxStatus.dead, error)
            return
        retry_at = self.clock.now() + backoff(message.attempts)
        await self._update_own(
            message, {"locked_until": None, "last_error": error, "next_attempt_at": retry_at}
        )
        logger.info(
            "outbox %s %s/%s: retry at %s (%s)",
            message.id,
            message.channel,
            message.event,
            retry_at.isoformat(),
            error,
        )

    async def _update_own(self, message: OutboxMessage, values: dict[str, Any]) -> None:
        table = outbox_messages
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(table)
                .where(table.c.id == message.id, table.c.locked_by == self.worker_id)
                .values(**values)
            )


def _describe(error: BaseException) -> str:
    """The kind of a failure, never its text (server messages can quote addresses)."""
    code = getattr(error, "code", None) or getattr(error, "status", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"
