"""Password hashing with Argon2id (the OWASP first choice)."""

import secrets

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
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
