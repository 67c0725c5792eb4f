"""The password policy (OWASP ASVS 5.0 §6.2): length, not common, not the user's own name.

No composition rules (no "one digit and one capital"): length and a list of
passwords attackers try first are what the standard asks for. The minimum is
PASSWORD_MIN_LENGTH (12 by default); anything up to 200 characters is allowed,
spaces and every Unicode character included. Refused: the 19,640 common
passwords in data/common_passwords.txt (also with digits or symbols tacked on
the end, as in "sunshine2024!"), one short sequence repeated ("abcabcabcabc"),
and passwords containing the user's email, its local part or their name.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from flask import current_app

MAX_LENGTH = 200
_COMMON_FILE = Path(__file__).resolve().parent / "data" / "common_passwords.txt"
_TRAILING_JUNK = re.compile(r"[\d\W_]+$")
_REPEATED = re.compile(r"^(.{1,4})\1+$", re.DOTALL)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list, read once per process."""
    return frozenset(line.strip() for line in _COMMON_FILE.read_text().splitlines() if line)


def min_length() -> int:
    return int(current_app.config.get("PASSWORD_MIN_LENGTH", 12))


def problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Every rule the password breaks, in words for the person choosing it (empty: fine)."""
    found = []
    shortest = min_length()
    if len(password) < shortest:
        found.append(f"Use at least {shortest} characters (a few words work well).")
    if len(password) > MAX_LENGTH:
        found.append(f"Use at most {MAX_LENGTH} characters.")
    if _is_common(password):
        found.append("This password is on a list of common passwords; choose another.")
    if _is_personal(password, email, name):
        found.append("Do not use your email address or name in your password.")
    return found


def _is_common(password: str) -> bool:
    lowered = password.strip().lower()
    stem = _TRAILING_JUNK.sub("", lowered)
    listed = common_passwords()
    if lowered in listed or (len(stem) >= 4 and stem in listed):
        return True
    return bool(_REPEATED.match(lowered))


def _is_personal(password: str, email: str, name: str) -> bool:
    lowered = password.lower()
    email = email.strip().lower()
    pieces = [email, email.partition("@")[0], "".join(name.lower().split())]
    squeezed = "".join(lowered.split())
    return any(len(piece) >= 3 and piece in squeezed for piece in pieces)
