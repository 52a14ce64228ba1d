"""The transactional outbox: written with the change, delivered by the worker.

Rows are claimed with a lease (lease_owner, lease_until) in a short write
transaction — `FOR UPDATE SKIP LOCKED` on PostgreSQL, BEGIN IMMEDIATE on
SQLite — then delivered outside any transaction, then marked sent. A worker
that dies after sending but before marking leaves the lease to expire and the
row is sent again: delivery is at least once, never zero times. Failures back
off exponentially (BACKOFF_BASE · 2^(attempt-1), capped) and after
MAX_ATTEMPTS the row is `dead`: kept, shown by `Engine.dead_letters()`,
requeued by `Engine.retry_dead(id)`. A delivery that cannot even be tried (an
email to a user with no address) is written `undeliverable` with the reason:
never claimed, listed with the dead letters, counted by `outbox_status()`.
"""
from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..store import tables as t

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)
# Longer than one batch's deliveries; LOOM_OUTBOX_LEASE_SECONDS shortens it where deliveries
# are quick, so a killed worker's rows come back sooner (tests/test_scale_out.py).
LEASE = timedelta(seconds=float(os.environ.get("LOOM_OUTBOX_LEASE_SECONDS") or 120))
o = t.outbox


def enqueue(conn, channel: str, payload: dict, now: datetime) -> int:
    return conn.execute(o.insert().values(channel=channel, payload=payload, status="pending",
                                          attempts=0, next_attempt_at=now, created_at=now)
                        .returning(o.c.id)).scalar_one()


def undeliverable(conn, channel: str, payload: dict, now: datetime, reason: str) -> int:
    return conn.execute(o.insert().values(channel=channel, payload=payload, status="undeliverable",
                                          attempts=0, next_attempt_at=now, created_at=now,
                                          last_error=reason).returning(o.c.id)).scalar_one()


def backoff(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... capped at 2 h."""
    return min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_CAP)


def claim(db, owner: str, now: datetime, limit: int = 50) -> list[dict]:
    """Lease up to `limit` due rows to `owner`; other workers skip them."""
    due = (sa.select(o.c.id).where(o.c.status == "pending", o.c.next_attempt_at <= now,
                                   sa.or_(o.c.lease_until.is_(None), o.c.lease_until < now))
           .order_by(o.c.id).limit(limit))
    if db.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    with db.write() as conn:
        rows = conn.execute(o.update().where(o.c.id.in_(due.scalar_subquery()))
                            .values(lease_owner=owner, lease_until=now + LEASE)
                            .returning(o.c.id, o.c.channel, o.c.payload, o.c.attempts)).mappings().all()
    return sorted((dict(r) for r in rows), key=lambda r: r["id"])


def mark_sent(db, row_id: int, owner: str, now: datetime) -> None:
    with db.write() as conn:
        conn.execute(o.update().where(o.c.id == row_id, o.c.status == "pending")
                     .values(status="sent", sent_at=now, attempts=o.c.attempts + 1,
                             lease_owner=None, lease_until=None, last_error=None))


def mark_failed(db, row_id: int, owner: str, now: datetime, error: str,
                max_attempts: int = MAX_ATTEMPTS) -> str:
    """Record a failed attempt; returns the new status (pending or dead)."""
    with db.write() as conn:
        attempts = conn.execute(sa.select(o.c.attempts).where(o.c.id == row_id)).scalar_one() + 1
        status = "dead" if attempts >= max_attempts else "pending"
        conn.execute(o.update().where(o.c.id == row_id, o.c.status == "pending")
                     .values(status=status, attempts=attempts, last_error=error[:2000],
                             next_attempt_at=now + backoff(attempts),
                             lease_owner=None, lease_until=None))
    return status


def release(db, ids: list[int], owner: str) -> None:
    """Give leased rows back unattempted (worker stopping): due again at once."""
    if not ids:
        return
    with db.write() as conn:
        conn.execute(o.update().where(o.c.id.in_(ids), o.c.lease_owner == owner,
                                      o.c.status == "pending")
                     .values(lease_owner=None, lease_until=None))


def dead(conn, limit: int = 100) -> list[dict]:
    """Dead and undeliverable rows, newest first."""
    rows = conn.execute(sa.select(o).where(o.c.status.in_(("dead", "undeliverable")))
                        .order_by(o.c.id.desc())
                        .limit(limit)).mappings()
    return [dict(r) for r in rows]


def requeue(conn, row_id: int, now: datetime) -> bool:
    res = conn.execute(o.update().where(o.c.id == row_id, o.c.status == "dead")
                       .values(status="pending", attempts=0, next_attempt_at=now,
                               lease_owner=None, lease_until=None))
    return res.rowcount == 1


def deliver_due(db, channels, owner: str, clock, *, limit: int = 50, stop=None,
                max_attempts: int = MAX_ATTEMPTS) -> dict:
    """One delivery pass. `stop()` true ends it after the in-flight row; the rest is released."""
    counts = {"sent": 0, "failed": 0, "dead": 0, "released": 0}
    rows = claim(db, owner, clock.now(), limit)
    for i, row in enumerate(rows):
        if stop is not None and stop():
            rest = [r["id"] for r in rows[i:]]
            release(db, rest, owner)
            counts["released"] += len(rest)
            break
        channel = channels.get(row["channel"])
        try:
            if channel is None:
                raise LookupError(f"no channel {row['channel']!r} is registered")
            channel.deliver(row["payload"], row["id"])
        except Exception as exc:  # noqa: BLE001 - any failure is retried, then dead-lettered
            status = mark_failed(db, row["id"], owner, clock.now(),
                                 f"{type(exc).__name__}: {exc}", max_attempts)
            counts["dead" if status == "dead" else "failed"] += 1
            log.warning("outbox %s (%s) attempt failed: %s", row["id"], row["channel"], exc)
        else:
            mark_sent(db, row["id"], owner, clock.now())
            counts["sent"] += 1
    return counts
