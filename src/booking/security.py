"""Security headers on every response, and the public rate limit."""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import time
from collections.abc import Iterable

from fastapi import Request
from limits import RateLimitItem
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from booking.config import Settings, parse_rate
from booking.errors import RetryLater
from booking.middleware import HttpMiddleware

BASE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'"
)


def token_hash(token: str) -> str:
    """How a random bearer secret (a link token, a desk session, an API key) is stored: 32
    random bytes need no slow hash, and the SHA-256 is also the lookup key."""
    return hashlib.sha256(token.encode()).hexdigest()


def docs_policy(inline_script_hashes: Iterable[str]) -> str:
    """/docs and /redoc: everything from this origin (booking.api_docs); their pages' inline
    scripts allowed by hash. Styles keep 'unsafe-inline': Swagger UI sets style attributes and
    ReDoc injects <style> elements at run time. ReDoc runs its search in a blob: worker."""
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' {' '.join(inline_script_hashes)}; worker-src blob:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'"
    )


@functools.lru_cache(maxsize=64)
def purpose_key(secret_key: str, purpose: str) -> bytes:
    """A key of its own for each use of BOOKING_SECRET_KEY (tokens, sessions, forms), so that a
    value signed for one purpose is never valid for another. Derived once per purpose: a few
    keys, used on every request."""
    return hmac.new(secret_key.encode(), purpose.encode(), hashlib.sha256).digest()


def sign(secret_key: str, purpose: str, value: str) -> str:
    """Hex HMAC-SHA256 of ``value`` under the purpose's key; compare with hmac.compare_digest."""
    return hmac.new(purpose_key(secret_key, purpose), value.encode(), hashlib.sha256).hexdigest()


class SecurityHeadersMiddleware(HttpMiddleware):
    """nosniff, Referrer-Policy, a Content-Security-Policy (pages may set their own
    frame-ancestors), HSTS when the service is reached over https, and
    ``Cache-Control: no-store`` where a route asked for it (dependencies.no_store)."""

    def __init__(self, app: ASGIApp, *, hsts: bool, docs_policy: str) -> None:
        super().__init__(app)
        self.hsts = hsts
        self.docs_policy = docs_policy

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_docs = scope["path"] in {"/docs", "/redoc", "/docs/oauth2-redirect"}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                policy = self.docs_policy if is_docs else BASE_POLICY
                csp = next((v for n, v in headers if n.lower() == b"content-security-policy"), None)
                if csp is None:
                    headers.append(
                        (b"content-security-policy", f"{policy}; frame-ancestors 'none'".encode())
                    )
                    headers.append((b"x-frame-options", b"DENY"))
                elif b"default-src" not in csp:  # a page chose only who may frame it
                    headers = [
                        (n, v) for n, v in headers if n.lower() != b"content-security-policy"
                    ]
                    headers.append((b"content-security-policy", policy.encode() + b"; " + csp))
                defaults = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"strict-origin-when-cross-origin",
                }
                if self.hsts:
                    defaults[b"strict-transport-security"] = b"max-age=31536000; includeSubDomains"
                if scope.get("state", {}).get("no_store"):  # set by dependencies.no_store
                    headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                headers += [
                    (name, value) for name, value in defaults.items() if name not in present
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimited(RetryLater): ...


def limits_storage(url: str) -> Storage:
    """memory:// for one process; redis://host:6379 for limits shared by several replicas."""
    uri = url if url.startswith("async+") else "async+" + url
    options = {"implementation": "redispy"} if "redis" in uri.split("://")[0] else {}
    storage = storage_from_string(uri, **options)
    assert isinstance(storage, Storage)
    return storage


class PublicRateLimit:
    """BOOKING_PUBLIC_RATE_LIMIT per client address on the public POST (API and hosted form)."""

    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.item: RateLimitItem | None = (
            None
            if settings.public_rate_limit.strip() == "0"
            else parse_rate(settings.public_rate_limit)
        )
        self.limiter = MovingWindowRateLimiter(storage)

    async def check(self, client: str) -> None:
        if self.item is None:
            return
        if not await self.limiter.hit(self.item, "public-post", client):
            stats = await self.limiter.get_window_stats(self.item, "public-post", client)
            raise RateLimited(max(1, math.ceil(stats.reset_time - time.time())))


async def public_rate_limit(request: Request) -> None:
    """Dependency for the public POSTs. The client address is the proxy's forwarded one only
    when the proxy is trusted (BOOKING_TRUSTED_PROXIES, applied by the server)."""
    client = request.client.host if request.client else "unknown"
    try:
        await request.app.state.public_rate_limit.check(client)
    except RateLimited:
        request.app.state.metrics.rate_limited.labels("public").inc()
        raise
