"""Password hashing with Argon2id (the OWASP first choice)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes.
_STRONG = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
# Test suites hash hundreds of passwords; the algorithm is the same, only cheaper.
_FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
# A fixed hash to verify against when the user is unknown, so timing does not tell.
_DUMMY_HASH = _FAST.hash("not-a-real-password")


def _hasher() -> PasswordHasher:
    return _FAST if current_app.config.get("PASSWORD_HASH_FAST") else _STRONG


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; spends similar time when there is no hash."""
    try:
        return _hasher().verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False
