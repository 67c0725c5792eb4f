"""Password hashing with Argon2id (the OWASP first choice)."""

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes.
_STRONG = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
# Test suites hash hundreds of passwords; the algorithm is the same, only cheaper.
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# Hashes to verify against when the user is unknown, so timing does not tell. Verifying
# costs what the *stored* hash's parameters say: the dummy must use the live hasher's
# parameters (a cheap dummy made unknown emails answer in 5 ms instead of 120).
_DUMMY_HASHES: dict[int, str] = {}


def _hasher() -> PasswordHasher:
    return _FAST if current_app.config.get("PASSWORD_HASH_FAST") else _STRONG


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash of nothing anyone knows, made once per process with the hasher's parameters."""
    if id(hasher) not in _DUMMY_HASHES:
        _DUMMY_HASHES[id(hasher)] = hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[id(hasher)]


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; spends similar time when there is no hash."""
    hasher = _hasher()
    release_free_heap()
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def release_free_heap() -> bool:
    """Hand the C allocator's free pages back to the system; False where it cannot.

    Verifying takes the hash's memory cost (64 MiB) on top of what the process holds, so a
    worker's peak RSS is its size at that moment plus 64 MiB (ADR 0233). Pages the process
    freed but the allocator kept (about 0.7 MB after a worker's first requests) need not
    count twice: glibc's malloc_trim returns them first, in well under a millisecond
    (ADR 0249). Other C libraries have no such call and keep their pages.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@cache
def _malloc_trim():
    import ctypes  # only where something signs in; psycopg has usually loaded it already

    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
