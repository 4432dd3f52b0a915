"""Failed sign-ins are counted three ways; past any limit, sign-in waits.

- per (account, client), tight (5 in 15 minutes): a guesser locks out only themselves, so
  failures from one address never stop the right password from another;
- per account, a much higher ceiling (100 in 15 minutes): guessing one account from many
  addresses;
- per client (20 in 15 minutes): one address trying many accounts.

Counters live in the ``limits`` storage named by BOOKING_RATE_LIMIT_STORAGE_URL: memory for one
process, Redis when several replicas must share them. Only failures count; a success clears
that (account, client) counter alone, so an attacker's count against the account runs on.
A limit of ``0`` is off.
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

NAMESPACE = "sign-in"


def _rate(value: str) -> RateLimitItem | None:
    return None if value.strip() == "0" else parse_rate(value)


class SignInThrottle:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_account_and_client = _rate(settings.sign_in_failures_per_account_and_client)
        self._per_account = _rate(settings.sign_in_failures_per_account)
        self._per_client = _rate(settings.sign_in_failures_per_client)

    def _checks(self, email: str, client: str) -> list[tuple[RateLimitItem, str]]:
        # The email is hashed: counters may live in Redis, and an address is personal data.
        account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        checks = [
            (self._per_account_and_client, f"account-client:{account}:{client}"),
            (self._per_account, f"account:{account}"),
            (self._per_client, f"client:{client}"),
        ]
        return [(item, key) for item, key in checks if item is not None]

    async def refuse_if_throttled(self, *, email: str, client: str) -> None:
        for item, key in self._checks(email, client):
            if not await self._limiter.test(item, NAMESPACE, key):
                stats = await self._limiter.get_window_stats(item, NAMESPACE, key)
                raise TooManySignInAttempts(max(1, math.ceil(stats.reset_time - time.time())))

    async def record_failure(self, *, email: str, client: str) -> None:
        for item, key in self._checks(email, client):
            await self._limiter.hit(item, NAMESPACE, key)

    async def forget_failures(self, *, email: str, client: str) -> None:
        """After a success: this client's failures on this account no longer count."""
        if self._per_account_and_client is not None:
            key = self._checks(email, client)[0][1]
            await self._limiter.clear(self._per_account_and_client, NAMESPACE, key)
