"""The relay: delivers outbox rows after their transaction committed, with retries.

Runs inside `booking serve` (woken right after a commit that queued something) and as
`booking worker`; any number can run at once. Two transactions per batch, whatever its size:

1. Claim a batch: due, pending rows whose lease has lapsed; on PostgreSQL with
   ``FOR UPDATE SKIP LOCKED`` so that relays never wait for each other. The claim counts an
   attempt, sets a lease, and mints the manage links of the patients' emails.
2. Send each message. Should the batch outlive its lease (a slow SMTP relay), the lease of the
   messages still in hand is renewed first (only those this relay still holds are sent).
3. Record every outcome in one transaction: sent, retry later (exponential backoff with
   jitter), or dead (a failure retrying cannot fix, such as an SMTP 5xx, or the last attempt).

A relay that dies between sending and recording leaves leases that lapse; the next relay sends
those messages again, with the same Message-ID: at most one resend per message of the batch in
hand, recognisable as such.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import socket
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
        self._lease_until = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._lost: set[uuid.UUID] = set()

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
        if not claimed:
            return 0
        outcomes: list[Outcome] = []
        try:
            for message, manage_token in claimed:
                if not await self._still_held(message, claimed):
                    continue  # another relay took it over after this relay's lease lapsed
                outcomes.append(await self._deliver(message, manage_token))
        finally:
            with contextlib.suppress(Exception):
                await self.notifier.aclose()
        await self._record(outcomes)
        return len(claimed)

    async def drain(self) -> int:
        """Deliver everything due now (tests, `booking outbox flush`)."""
        total = 0
        while delivered := await self.deliver_batch():
            total += delivered
        return total

    async def _claim(self) -> list[tuple[OutboxMessage, str | None]]:
        """The batch, each message with its patient's new manage token (None for others)."""
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
            self._lease_until, self._lost = now + self._lease, set()
            claimed = await session.execute(
                update(table)
                .where(table.c.id.in_(ids))
                .values(
                    locked_until=self._lease_until,
                    locked_by=self.worker_id,
                    attempts=table.c.attempts + 1,
                )
                .returning(*table.c)
            )
            messages = sorted(
                (OutboxMessage(**row._mapping) for row in claimed),
                key=lambda m: (m.next_attempt_at, m.created_at, m.appointment_version),
            )
            tokens = [
                await mint_manage_token(
                    session,
                    appointment_id=message.appointment_id,
                    now=now,
                    days=self.settings.manage_link_days,
                    flush=False,
                )
                if message.channel == Channel.patient_email
                else None
                for message in messages
            ]
            return list(zip(messages, tokens, strict=True))

    @property
    def _lease(self) -> dt.timedelta:
        # A minute for the batch, on top of one send (a connection, a login and the data): a
        # batch that goes as it should is never renewed (``_still_held``).
        return CLAIM_LEASE + self.send_lease

    async def _still_held(
        self, message: OutboxMessage, batch: list[tuple[OutboxMessage, str | None]]
    ) -> bool:
        """True while this relay holds the message. When the lease would lapse before one more
        send could finish, it is renewed for every message of the batch still in hand."""
        now = self.clock.now()
        if now + self.send_lease <= self._lease_until:
            return message.id not in self._lost
        table = outbox_messages
        waiting = [m.id for m, _ in batch if m.id not in self._lost]
        self._lease_until = now + self._lease
        async with self.sessionmaker() as session, session.begin():
            renewed = await session.execute(
                update(table)
                .where(
                    table.c.id.in_(waiting),
                    table.c.locked_by == self.worker_id,
                    table.c.status == OutboxStatus.pending,
                )
                .values(locked_until=self._lease_until)
                .returning(table.c.id)
            )
            held = set(renewed.scalars())
        self._lost |= set(waiting) - held
        return message.id in held

    async def _deliver(self, message: OutboxMessage, manage_token: str | None) -> Outcome:
        try:
            if message.channel == Channel.webhook:
                await deliver_webhook(
                    self.http,
                    url=message.target,
                    event=message.payload,
                    secrets=self.settings.webhook_secrets,
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
        except PermanentDeliveryError as error:
            return Outcome(message, OutboxStatus.dead, str(error))
        except Exception as error:
            described = _describe(error)
            # ``attempts`` was counted when the message was claimed: it includes this one.
            if message.attempts >= self.settings.outbox_max_attempts:
                return Outcome(message, OutboxStatus.dead, described)
            return Outcome(message, OutboxStatus.pending, described, backoff(message.attempts))
        return Outcome(message, OutboxStatus.sent, None)

    async def _record(self, outcomes: list[Outcome]) -> None:
        """Every outcome of the batch in one transaction: one statement for the sent, one for
        the rest (executemany), each row only while this relay holds it."""
        if not outcomes:
            return
        now = self.clock.now()
        table = outbox_messages
        sent = [o.message.id for o in outcomes if o.status is OutboxStatus.sent]
        others = [
            {
                "b_id": o.message.id,
                "b_status": o.status,
                "b_error": o.error,
                "b_next": now + o.retry_in if o.retry_in is not None else o.message.next_attempt_at,
            }
            for o in outcomes
            if o.status is not OutboxStatus.sent
        ]
        async with self.sessionmaker() as session, session.begin():
            if sent:
                await session.execute(
                    update(table)
                    .where(table.c.id.in_(sent), table.c.locked_by == self.worker_id)
                    .values(
                        status=OutboxStatus.sent, sent_at=now, locked_until=None, last_error=None
                    )
                )
            if others:
                await session.execute(
                    _RECORD_FAILURE.where(table.c.locked_by == self.worker_id), others
                )
        for outcome in outcomes:
            message = outcome.message
            logger.info(
                "outbox %s %s/%s: %s%s",
                message.id,
                message.channel,
                message.event,
                "retry" if outcome.retry_in is not None else outcome.status.value,
                f" ({outcome.error})" if outcome.error else "",
            )


@dataclass(frozen=True, slots=True)
class Outcome:
    message: OutboxMessage
    status: OutboxStatus
    error: str | None
    retry_in: dt.timedelta | None = None


_RECORD_FAILURE = (
    update(outbox_messages)
    .where(outbox_messages.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        locked_until=None,
    )
)


def _describe(error: BaseException) -> str:
    """The kind of a failure, never its text (server messages can quote addresses)."""
    code = getattr(error, "code", None) or getattr(error, "status", None)
    return f"{type(error).__name__}{f' {code}' if code else ''}"
