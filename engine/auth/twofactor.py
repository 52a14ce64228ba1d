"""TOTP two-factor login (RFC 6238 via pyotp) and one-time recovery codes.

The shared secret is kept in `users.totp_secret` (the server must read it to
check a code); 2FA counts as on once a first code confirmed it
(`totp_enabled_at`). A code is accepted for its 30-second step and one step
either side (clock drift), and each step only once (`totp_last_step`), so a
code seen over a shoulder cannot be replayed. Recovery codes are ten random
10-hex-digit codes shown once; only their SHA-256 is stored, each works once.
The enrolment QR code is drawn here as SVG (segno), so the secret never leaves
the server for a third-party QR service.
"""
from __future__ import annotations

import calendar
import hmac
import secrets
from datetime import datetime

import pyotp
import segno

from .passwords import token_hash

STEP = 30
DRIFT = 1  # steps accepted either side of now
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, name: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth:// URI as an inline <svg> element (no script, no external request)."""
    return segno.make(uri, error="m").svg_inline(scale=4, title="two-factor enrolment QR code")


def _timestamp(now: datetime) -> int:
    return calendar.timegm(now.utctimetuple())  # `now` is naive UTC


def code_at(secret: str, now: datetime) -> str:
    """The code an authenticator shows at `now` (tests and the CLI use it)."""
    return pyotp.TOTP(secret).at(_timestamp(now))


def matching_step(secret: str, code: str, now: datetime, last_step: int | None) -> int | None:
    """The time step `code` belongs to, if it is valid now and not used before; else None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = _timestamp(now) // STEP
    for step in range(current - DRIFT, current + DRIFT + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def new_recovery_codes() -> list[str]:
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_hash(code: str) -> str:
    """Codes are compared without spaces, dashes or case, as people retype them."""
    return token_hash("".join(ch for ch in code.lower() if ch.isalnum()))
