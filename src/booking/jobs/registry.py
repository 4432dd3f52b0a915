"""The jobs the scheduler runs: a name and an ``async`` function, registered with ``@job``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from booking.config import Settings

# (session, now, settings) -> how many things it did (for the log). It runs in a transaction
# the scheduler commits; it adds and flushes, never commits.
JobFunction = Callable[[AsyncSession, dt.datetime, Settings], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    run: JobFunction


JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register ``name``'s function: every scheduler tick runs it once (see the package's
    docstring for what a job must promise)."""

    def register(run: JobFunction) -> JobFunction:
        if name in JOBS and JOBS[name].run is not run:
            raise ValueError(f"a job named {name!r} is registered already")
        JOBS[name] = Job(name, run)
        return run

    return register
