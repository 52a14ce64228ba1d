"""Password policy: how long a password may be, and which new passwords are refused.

Checked where a person types a new password (pages, API, `loom user add/password`),
not in the Directory, so seeding and tests may set any password they like; the
demo's generated passwords pass it anyway (tests/auth/test_accounts.py checks).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ..errors import PasswordTooLong, ValidationFailed

MIN_LENGTH = 8
# Longer is refused before hashing: scrypt over megabytes is a denial of service, and
# no pass phrase a person types is near this long.
MAX_LENGTH = 1024
TOO_LONG = f"a password is at most {MAX_LENGTH} characters"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines()
                     if line.strip() and not line.startswith("#"))


def check_size(password: str) -> None:
    """Any password handed to a login or a hash: refuse absurd sizes before hashing."""
    if len(password) > MAX_LENGTH:
        raise PasswordTooLong(TOO_LONG)


def problem(password: str, name: str | None = None) -> str | None:
    """Why a new password is refused (a message for the form), or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return f"at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    lowered = password.lower()
    if lowered in common_passwords():
        return "too common: it is on every list of leaked passwords; choose another"
    if len(set(password)) < 3:
        return "too simple: use more different characters"
    if name and lowered == name.strip().lower():
        return "must not be the user name"
    return None


def check_new(password: str, name: str | None = None, field: str = "password") -> None:
    """Raise ValidationFailed({field: why}) for a password the policy refuses."""
    why = problem(password, name)
    if why:
        raise ValidationFailed({field: why}, "The password is not accepted")
