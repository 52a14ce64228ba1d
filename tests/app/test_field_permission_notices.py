"""Notification templates render per recipient: a field one may not see renders empty."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import make_engine

APP = Path(__file__).resolve().parents[1] / "fixtures" / "fieldperms"


def test_a_template_field_the_recipient_may_not_see_renders_empty(database_url, clock):
    eng = make_engine(APP, database_url, clock)
    try:
        eng.add_user("sid", ["staff"])
        eng.add_user("bea", ["staff", "boss"])
        eng.create(eng.user("bea"), "deal", {"title": "Expo", "margin": "1234.50"})
        [seen_by_staff] = eng.notifications(eng.user("sid"))
        [seen_by_boss] = eng.notifications(eng.user("bea"))
        assert seen_by_staff["subject"] == "New deal Expo, margin"
        assert seen_by_boss["subject"] == "New deal Expo, margin 1234.50"
    finally:
        eng.close()
