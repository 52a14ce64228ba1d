"""Process insights: built-in report sources over workflow history and tasks, checked
against a history seeded with known times (tests/fixtures/scenarios: the claims app)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.auth.users import SYSTEM
from engine.clock import FrozenClock
from engine.definitions.insights import INSIGHT_COLUMNS
from engine.definitions.schema_check import schema_for
from engine.engine import Engine
from engine.reports.insights import INSIGHTS

TREE = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"

pytestmark = pytest.mark.outbox_ok  # approvals queue emails to finance nobody delivers


@pytest.fixture
def history(database_url):
    """Four claims with known times, all starting Monday 2026-03-02 09:00:

    EC-1  50:   manager 2h → approved
    EC-2  60:   manager 6h → approved
    EC-3  2000: manager 4h → director 24h → rejected
    EC-4  70:   manager 1h → returned → draft 3h → manager 10h → approved
    EC-5  80:   submitted, still with the manager (due after 2d; 3 days pass)
    """
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0))
    eng = Engine(str(TREE), database_url, clock=clock)
    eng.add_user("max", ["manager"])
    eng.add_user("ann", ["staff"], manager="max")
    eng.add_user("dora", ["director"])
    eng.add_user("fin", ["finance"])
    project = eng.create(SYSTEM, "project", {"name": "Apollo"})
    ann, max_, dora = eng.user("ann"), eng.user("max"), eng.user("dora")

    def claim(amount):
        rec = eng.create(ann, "expense_claim", {"project": project.id, "purpose": "trip",
                                                "amount": amount})
        eng.act(ann, "expense_claim", rec.id, "submit")
        return rec.id

    def at(hours):
        clock.hold(datetime(2026, 3, 2, 9, 0) + __import__("datetime").timedelta(hours=hours))

    one, two, three, four = claim(50), claim(60), claim(2000), claim(70)
    at(1)
    eng.act(max_, "expense_claim", four, "return", "receipt missing")
    at(2)
    eng.act(max_, "expense_claim", one, "approve")
    at(4)
    eng.act(max_, "expense_claim", three, "approve")
    eng.act(ann, "expense_claim", four, "submit")  # 3h in draft after the return
    at(6)
    eng.act(max_, "expense_claim", two, "approve")
    at(14)
    eng.act(max_, "expense_claim", four, "approve")  # 10h the second time
    at(28)
    eng.act(dora, "expense_claim", three, "reject", "too much")
    claim(80)  # EC-5 at hour 28, due at hour 76
    at(100)  # now: EC-5 is 24h overdue
    yield eng
    eng.close()


def rows(eng, report, user=SYSTEM):
    result = eng.report(user, report)
    return [dict(zip([c.name for c in result.columns], r)) for r in result.rows]


def test_time_in_step_has_median_average_and_who_is_still_there(history):
    by_step = {r["step"]: r for r in rows(history, "claim_bottlenecks")}
    assert list(by_step) == ["Draft", "Manager review", "Director review"]  # step titles
    manager = by_step["Manager review"]
    # finished visits 2, 6, 4, 1, 10 hours; EC-5 still there
    assert (manager["visits"], manager["finished"], manager["in_step_now"]) == (6, 5, 1)
    assert manager["median_hours"] == Decimal("4")
    assert manager["avg_hours"] == Decimal("4.6")
    assert manager["max_hours"] == Decimal("10")
    assert manager["kind"] == "Approval"
    director = by_step["Director review"]
    assert (director["visits"], director["median_hours"]) == (1, Decimal("24"))
    draft = by_step["Draft"]
    # five drafts submitted at once (0h), one 3h after the return
    assert draft["kind"] == "Waiting" and draft["max_hours"] == Decimal("3")


def test_time_in_step_speaks_the_readers_language(history):
    history.add_user("li", ["director"], language="zh")
    by_step = {r["step"]: r for r in rows(history, "claim_bottlenecks", history.user("li"))}
    assert "Manager review" in by_step  # the fixture's steps have no titles in Chinese
    assert by_step["Manager review"]["kind"] == "审批"
    result = history.report(history.user("li"), "claim_bottlenecks")
    assert [c.label for c in result.columns][:2] == ["步骤", "类型"]


def test_approvers_decisions_median_and_overdue(history):
    by_name = {r["approver"]: r for r in rows(history, "claim_approvers")}
    assert by_name["max"] == {"approver": "max", "decided": 5, "median_hours": Decimal("4"),
                              "overdue": 1, "open": 1}
    assert by_name["dora"]["decided"] == 1 and by_name["dora"]["median_hours"] == Decimal("24")


def test_sla_breaches_per_step(history):
    by_step = {r["step"]: r for r in rows(history, "claim_sla")}
    assert by_step["Manager review"]["tasks"] == 6  # EC-4 twice
    assert by_step["Manager review"]["breached"] == 1
    assert by_step["Manager review"]["breach_pct"] == Decimal("0.1667")


def test_returns_and_rejections_per_step(history):
    assert rows(history, "claim_returns") == [
        {"step": "Manager review", "returned": 1, "rejected": 0},
        {"step": "Director review", "returned": 0, "rejected": 1}]


def test_throughput_per_week(history):
    assert rows(history, "claim_throughput") == [
        {"week": datetime(2026, 3, 2).date(), "started": 5, "finished": 4}]


def test_insights_run_as_dashboard_tiles_and_respect_report_permissions(history):
    history.add_user("sue", ["staff"], manager="max")
    dash = history.report(history.user("sue"), "claim_insights")
    assert [t.report for t in dash.tiles] == ["claim_bottlenecks", "claim_sla", "claim_returns",
                                                 "claim_throughput"]  # approvers: directors only
    assert history.report_svg(SYSTEM, "claim_bottlenecks").startswith("<svg")


def test_every_insight_in_the_catalog_is_built_and_offered_by_the_schema():
    assert {k: tuple(c[0] for c in v.columns) for k, v in INSIGHTS.items()} == INSIGHT_COLUMNS
    assert schema_for("report")["properties"]["insight"]["enum"] == list(INSIGHT_COLUMNS)


def test_insights_page_draws_the_map_coloured_by_median_time(history):
    from web import create_app

    history.add_user("boss", ["director"], password="boss-pass-123")
    history.add_user("li", ["director"], language="zh", password="li-pass-1234")
    history.add_user("guest", [], password="guest-pass-123")
    app = create_app(history, secret_key="t")
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)

    def page(name, password, path):
        client = app.test_client()
        assert client.post("/login", data={"username": name, "password": password}).status_code == 302
        return client.get(path)

    answer = page("boss", "boss-pass-123", "/insights/expense_claim")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert 'data-step="manager_review"' in svg and "median 4 h" in svg
    assert "waiting now: 1" in svg
    assert 'id="insight-approvers"' in html and "16.7%" in html
    assert 'href="/insights/expense_claim"' in page("boss", "boss-pass-123", "/reports").get_data(
        as_text=True)
    zh = page("li", "li-pass-1234", "/insights/expense_claim").get_data(as_text=True)
    assert "时间花在哪里" in zh and "中位 24" in zh
    assert page("guest", "guest-pass-123", "/insights/expense_claim").status_code == 403
    assert page("boss", "boss-pass-123", "/insights/nope").status_code == 404
