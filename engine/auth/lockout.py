"""Failed logins: a lock per account name, growing delays per address.

Both read `login_failures`, so every web process sees the same counts.
- Account: LOCK_AFTER failures for one name within LOCK_WINDOW, counted since the
  last success, unlock or password reset (`users.login_failures_cleared`), lock
  that name for LOCK_FOR. Unknown names are counted and locked exactly like real
  ones, so the answers (401, then 429 with the same message) never tell which
  accounts exist. While locked, attempts are refused before any hashing and not
  counted (the lock ends on time, whatever an attacker keeps sending).
- Address: after ADDRESS_FREE failures within LOCK_WINDOW, each further attempt
  must wait 1, 2, 4 … seconds (capped at ADDRESS_MAX_DELAY) after the last failure.
  The address is slowed down; the accounts behind it are not locked.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..errors import Locked, Throttled
from ..store import tables as t
from .users import forget_users

LOCK_AFTER = 5
LOCK_WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)
ADDRESS_FREE = 10
ADDRESS_MAX_DELAY = timedelta(minutes=15)
_MAX_DOUBLINGS = 11  # 2**11 s > ADDRESS_MAX_DELAY: no need to count further

lf = t.login_failures
_B = sa.bindparam
_CLEARED = sa.select(t.users.c.login_failures_cleared).where(t.users.c.name == _B("b_name"))
_BY_NAME = (sa.select(lf.c.at).where(lf.c.user_name == _B("b_name"), lf.c.id > _B("b_cleared"),
                                     lf.c.at > _B("b_since"))
            .order_by(lf.c.id.desc()).limit(LOCK_AFTER))
_BY_ADDRESS = (sa.select(lf.c.at).where(lf.c.address == _B("b_address"), lf.c.at > _B("b_since"))
               .order_by(lf.c.id.desc()).limit(ADDRESS_FREE + _MAX_DOUBLINGS))


def name_key(name: str) -> str:
    return name[:128]


def address_key(address: str | None) -> str | None:
    return address[:64] if address else None


def locked_until(conn, name: str, now: datetime) -> datetime | None:
    """When the lock on `name` (known or not) ends, or None when it is not locked."""
    cleared = conn.execute(_CLEARED, {"b_name": name}).scalar() or 0
    times = conn.execute(_BY_NAME, {"b_name": name_key(name), "b_cleared": cleared,
                                    "b_since": now - LOCK_WINDOW - LOCK_FOR}).scalars().all()
    if len(times) < LOCK_AFTER:
        return None
    last, first = times[0], times[-1]
    if last - first <= LOCK_WINDOW and now < last + LOCK_FOR:
        return last + LOCK_FOR
    return None


def address_wait(conn, address: str | None, now: datetime) -> int:
    """Seconds `address` must still wait before its next attempt (0: go ahead)."""
    if not address:
        return 0
    times = conn.execute(_BY_ADDRESS, {"b_address": address_key(address),
                                       "b_since": now - LOCK_WINDOW}).scalars().all()
    if len(times) < ADDRESS_FREE:
        return 0
    delay = min(timedelta(seconds=2 ** (len(times) - ADDRESS_FREE)), ADDRESS_MAX_DELAY)
    left = (times[0] + delay - now).total_seconds()
    return math.ceil(left) if left > 0 else 0


def guard(conn, name: str, address: str | None, now: datetime) -> None:
    """Refuse (429) an attempt from a slowed-down address or on a locked name."""
    wait = address_wait(conn, address, now)
    if wait:
        raise Throttled(f"too many failed logins from your address; try again in {wait} seconds", wait)
    until = locked_until(conn, name, now)
    if until is not None:
        raise Locked(f"too many failed logins; the account is locked until {until:%H:%M} UTC")


def record_failure(conn, name: str, address: str | None, now: datetime) -> None:
    conn.execute(lf.insert().values(user_name=name_key(name), address=address_key(address), at=now))


def clear(conn, name: str) -> int:
    """Failures so far no longer count for `name`; returns how many users matched (0 or 1)."""
    last = conn.execute(sa.select(sa.func.max(lf.c.id))).scalar() or 0
    forget_users(conn)  # every write of users says so (users.py), whatever columns it changes
    return conn.execute(t.users.update().where(t.users.c.name == name)
                        .values(login_failures_cleared=last, failed_logins=0, locked_until=None)).rowcount
