"""Workflow news carry the record's link only where it leaves the app (email), after
LOOM_BASE_URL; the inbox row links the record itself and its text has no link."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from engine.store import tables as t
from tests.workflow.helpers import new_order, seed_catalog


@pytest.mark.outbox_ok
def test_a_task_is_told_with_the_link_by_email_and_without_it_in_the_inbox(
        engine, users, monkeypatch):
    monkeypatch.setenv("LOOM_BASE_URL", "https://loom.example.com/")
    engine.users.update("sam", notify_by="inbox,email")
    order = new_order(engine, users["alice"], *seed_catalog(engine, users))
    engine.act(users["alice"], "sales_order", order.id, "submit")
    link = f"https://loom.example.com/f/sales_order/{order.id}"
    with engine.db.read() as conn:
        payloads = [p if isinstance(p, dict) else json.loads(p) for p in conn.execute(
            sa.select(t.outbox.c.payload).where(t.outbox.c.channel == "email")).scalars()]
    [mail] = [p for p in payloads if p["user"] == "sam"]
    assert mail["text"] == f"By alice.\nOpen it: {link}"
    for name in ("sam", "sue"):  # sue hears in the inbox only
        [note] = [n for n in engine.notifications(users[name]) if n["record_id"] == order.id]
        assert note["subject"].startswith("New task") and note["body"] == "By alice."
    assert not [p for p in payloads if p["user"] == "sue"]
