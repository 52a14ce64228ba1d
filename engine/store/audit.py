"""The audit log: one append-only row per administrative or destructive act.

Written inside the transaction of the act it records (a role change and its
audit row commit together), read by administrators newest first, filtered in
SQL by user (as actor or as the user acted on), action and time.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

import sqlalchemy as sa

from . import tables as t

a = t.audit_log
_INSERT = a.insert()


def write(conn: sa.Connection, at: datetime, actor: str, action: str, *, subject: str | None = None,
          form: str | None = None, record_id: int | None = None, address: str | None = None,
          detail: Mapping[str, Any] | None = None) -> None:
    conn.execute(_INSERT, {"at": at, "actor": actor or "system", "action": action,
                           "subject": subject, "form": form, "record_id": record_id,
                           "address": address, "detail": dict(detail) if detail else None})


def search(conn: sa.Connection, *, user: str | None = None, action: str | None = None,
           since: datetime | None = None, until: datetime | None = None,
           limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """Rows newest first and their total: `user` matches the actor or the user acted on;
    `since` is inclusive, `until` exclusive."""
    conds = []
    if user:
        conds.append(sa.or_(a.c.actor == user, a.c.subject == user))
    if action:
        conds.append(a.c.action == action)
    if since is not None:
        conds.append(a.c.at >= since)
    if until is not None:
        conds.append(a.c.at < until)
    total = conn.execute(sa.select(sa.func.count()).select_from(a).where(*conds)).scalar_one()
    rows = conn.execute(sa.select(a).where(*conds).order_by(a.c.at.desc(), a.c.id.desc())
                        .limit(limit).offset(offset)).mappings().all()
    return [dict(r) for r in rows], total
