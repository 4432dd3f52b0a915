"""Argon2 password hashes (pwdlib). Hashing is CPU work: it runs in a worker thread."""

from __future__ import annotations

import functools

from anyio import to_thread
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from booking.staff.errors import WeakPassword

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

# OWASP's Password Storage Cheat Sheet, first argon2id setting: 19 MiB, 2 passes, 1 lane. The
# library's default (64 MiB, 4 lanes) made every sign-in raise the process's peak memory by
# 64 MiB. Hashes made with other parameters still verify: each hash records its own.
_hasher = PasswordHash((Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1),))


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so a wrong email takes as long as a wrong
    password. Made at the first sign-in, not at import."""
    return _hasher.hash("not a real password, only for timing")


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"Use at most {MAX_PASSWORD_LENGTH} characters.")


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    return await to_thread.run_sync(_verify, password, password_hash)


def _verify(password: str, password_hash: str | None) -> bool:
    return _hasher.verify(password, password_hash or _dummy_hash()) and password_hash is not None
