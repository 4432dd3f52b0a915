"""The scheduler: every BOOKING_JOBS_INTERVAL_SECONDS, one ``tick`` runs each registered job.

Each job runs in a transaction of its own, committed when it returns (rolled back when it
raises: the next tick tries again). On PostgreSQL the job first takes a transaction-level
advisory lock of its name (``pg_try_advisory_xact_lock``): while one worker runs a job, the
others skip it for that tick instead of doing the same work in parallel. The lock is only an
economy; what makes a job safe is its own unique rows (see booking.jobs.service).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import socket
import uuid
import zlib
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# The modules whose jobs the scheduler runs (importing one registers its @job functions):
# booking.jobs.service (expiry, reminders, the desk's digest) and booking.waitlist.service
# (offers of cancelled times: expire them, offer the time to the next patients).
import booking.jobs.service
import booking.waitlist.service  # noqa: F401
from booking.clock import Clock
from booking.config import Settings
from booking.jobs.registry import JOBS, Job

logger = logging.getLogger("booking.jobs")

# The first key of the jobs' advisory locks ("bkjb"); the second is the job's name, hashed.
ADVISORY_LOCK_CLASS = 0x626B6A62


def advisory_lock_key(name: str) -> int:
    """A stable 32-bit signed key for a job's name (crc32, the same in every process)."""
    return zlib.crc32(name.encode()) - 2**31


class Scheduler:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        jobs: Mapping[str, Job] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.clock = clock
        # The registry itself (not a copy): a job registered after the scheduler was made
        # still runs.
        self.jobs: Mapping[str, Job] = JOBS if jobs is None else jobs
        self.worker_id = worker_id or f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"

    async def tick(self) -> dict[str, int]:
        """Run every job once, at the clock's now; what each did (a job another worker held,
        or one that failed, counts 0). One job's failure does not stop the others."""
        now = self.clock.now()
        done: dict[str, int] = {}
        for job in list(self.jobs.values()):
            try:
                done[job.name] = await self._run(job, now)
            except Exception as error:  # the database may be away; the next tick tries again
                logger.error("job %s failed: %s", job.name, type(error).__name__)
                done[job.name] = 0
        return done

    async def _run(self, job: Job, now: dt.datetime) -> int:
        async with self.sessionmaker() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                held = await session.scalar(
                    select(
                        func.pg_try_advisory_xact_lock(
                            ADVISORY_LOCK_CLASS, advisory_lock_key(job.name)
                        )
                    )
                )
                if not held:
                    return 0  # another worker is running it right now
            count = await job.run(session, now, self.settings)
        if count:
            logger.info("job %s: %d done", job.name, count)
        return count

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every BOOKING_JOBS_INTERVAL_SECONDS until ``stop`` is set."""
        logger.info("scheduler %s started", self.worker_id)
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.jobs_interval_seconds)
        logger.info("scheduler %s stopped", self.worker_id)
