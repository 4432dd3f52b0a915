"""Failed sign-ins are counted per account and per client; past the limit, sign-in waits.

Counters live in the ``limits`` storage named by BOOKING_RATE_LIMIT_STORAGE_URL: memory for one
process, Redis when several replicas must share them. Only failures count.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from booking.config import Settings, parse_rate
from booking.staff.errors import TooManySignInAttempts


class SignInThrottle:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_account = parse_rate(settings.sign_in_failures_per_account)
        self._per_client = parse_rate(settings.sign_in_failures_per_client)

    def _checks(self, email: str, client: str) -> list[tuple[RateLimitItem, str]]:
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        return [(self._per_account, f"account:{account}"), (self._per_client, f"client:{client}")]

    async def refuse_if_throttled(self, *, email: str, client: str) -> None:
        for item, key in self._checks(email, client):
            if not await self._limiter.test(item, "sign-in", key):
                stats = await self._limiter.get_window_stats(item, "sign-in", key)
                raise TooManySignInAttempts(max(1, math.ceil(stats.reset_time - time.time())))

    async def record_failure(self, *, email: str, client: str) -> None:
        for item, key in self._checks(email, client):
            await self._limiter.hit(item, "sign-in", key)

    async def forget_account(self, *, email: str, client: str) -> None:
        item, key = self._checks(email, client)[0]
        await self._limiter.clear(item, "sign-in", key)
