"""Scheduled alerts: one SQL scan per tick, at most once per record per tick, `once`,
and several workers producing each alert exactly once."""
from __future__ import annotations

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa

from engine.alerts import scheduler
from engine.alerts.worker import Worker
from engine.clock import FrozenClock
from tests.conftest import make_engine


def order(eng, u, due, who="sal", **kw):
    return eng.create(u[who], "sales_order", {"customer": kw.pop("customer", "ACME"),
                                              "due_date": due, **kw})


def due_soon_subjects(eng, user):
    return sorted(n["subject"] for n in eng.notifications(user, limit=500) if n["source"] == "due_soon")


def test_latest_tick__is_the_last_cron_time_not_after_now():
    assert scheduler.latest_tick("0 8 * * *", datetime(2026, 3, 2, 8, 0)) == datetime(2026, 3, 2, 8, 0)
    assert scheduler.latest_tick("0 8 * * *", datetime(2026, 3, 2, 7, 59)) == datetime(2026, 3, 1, 8, 0)


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_schedule__date_condition_fires_matching_records_once_per_tick(eng, u, clock):
    soon = order(eng, u, "2026-03-04")  # today is 2026-03-02: due within 3 days
    order(eng, u, "2026-03-20")  # not yet
    shipped = order(eng, u, "2026-03-03")
    for action in ("submit", "ship"):
        eng.act(u["sal"], "sales_order", shipped.id, action)
    eng.run_schedules()
    eng.run_schedules()  # same tick: nothing new
    assert due_soon_subjects(eng, u["sal"]) == [f"{soon.number} for ACME is due 2026-03-04"]
    clock.advance(days=1)  # next 08:00 tick: still due soon, fires again (no `once`)
    eng.run_schedules()
    assert len(due_soon_subjects(eng, u["sal"])) == 2
    ticks = [t for t in eng.alert_traces(u["root"], alert="due_soon") if t["outcome"] == "tick"]
    assert [t["detail"]["fired"] for t in ticks] == [1, 1]


@pytest.mark.outbox_ok  # the queued mails are the point
def test_schedule__email_channel_queues_one_mail_per_fired_record(eng, u):
    order(eng, u, "2026-03-03")
    order(eng, u, "2026-03-04", who="sid")
    eng.run_schedules()
    assert eng.outbox_status() == {"pending": 2}


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_schedule__once_fires_again_only_after_the_condition_was_false(eng, u, clock):
    o = order(eng, u, "2026-03-01")  # overdue
    def fired():
        return [n for n in eng.notifications(u["boss"]) if n["source"] == "overdue_once"]
    eng.run_schedules()
    clock.advance(hours=1)
    eng.run_schedules()
    assert len(fired()) == 1
    o = eng.update(u["sal"], "sales_order", o.id, {"due_date": "2026-03-10"}, o.version)
    clock.advance(hours=1)
    eng.run_schedules()  # false now: reset
    eng.update(u["sal"], "sales_order", o.id, {"due_date": "2026-03-01"}, o.version)
    clock.advance(hours=1)
    eng.run_schedules()
    assert len(fired()) == 2
    traces = [t["outcome"] for t in reversed(eng.alert_traces(u["root"], alert="overdue_once",
                                                              record_id=o.id))]
    assert traces == ["fired", "condition_false", "fired"]


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_schedule__scan_is_one_sql_query_over_the_typed_table(eng, u):
    for i in range(30):
        order(eng, u, "2026-03-03" if i % 3 == 0 else "2026-04-30", customer=f"C{i}")
    seen = []

    def spy(_conn, _cursor, statement, *_args):
        seen.append(statement)
    sa.event.listen(eng.db.engine, "before_cursor_execute", spy)
    try:
        [res] = [r for r in eng.run_schedules() if r.alert == "due_soon"]
    finally:
        sa.event.remove(eng.db.engine, "before_cursor_execute", spy)
    assert (res.matched, res.fired) == (10, 10)
    scans = [s for s in seen if "t_sales_order" in s and s.lstrip().upper().startswith("SELECT")]
    due_scans = [s for s in scans if "due_date" in s]
    assert len(due_scans) == 2  # due_soon's scan, and overdue_once's
    assert "alert_state" in due_scans[0]  # de-duplication is part of the same query
    assert "coalesce(coalesce(r_sales_order.due_date" not in due_scans[0]  # index-friendly WHERE


def _workers_run_once(engines, clock_at):
    barrier = threading.Barrier(len(engines))
    errors = []

    def run(e, name):
        try:
            w = Worker(e, name=name)
            barrier.wait(timeout=30)
            w.run_once()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(e, f"w{i}")) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a worker hung"
    assert errors == []


def test_two_workers__each_scheduled_alert_fires_exactly_once(eng, u, alerts_dir, database_url,
                                                            monkeypatch, smtp):
    monkeypatch.setattr(scheduler, "BATCH", 7)  # many small batches interleave the workers
    due = [order(eng, u, "2026-03-03", customer=f"C{i}").id for i in range(60)]
    for i in range(20):
        order(eng, u, "2026-05-01", customer=f"later{i}")
    engines = [make_engine(alerts_dir, database_url, FrozenClock(eng.clock.now())) for _ in range(3)]
    try:
        _workers_run_once(engines, eng.clock.now())
    finally:
        for e in engines:
            e.close()
    subjects = due_soon_subjects(eng, u["sal"])
    assert len(subjects) == len(due) == len(set(subjects))
    fired = [t for t in eng.alert_traces(u["root"], alert="due_soon", limit=1000)
             if t["outcome"] == "fired"]
    assert sorted(t["record_id"] for t in fired) == sorted(due)
    assert len(smtp.messages) == len(due)  # delivered by whichever worker leased each row


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_worker_takeover__expired_lease_resumes_without_duplicates(eng, u, monkeypatch, clock):
    monkeypatch.setattr(scheduler, "BATCH", 5)
    due = [order(eng, u, "2026-03-03", customer=f"C{i}").id for i in range(12)]
    [rt] = [r for r in eng.runtime.alerts_scheduled if r.id == "due_soon"]
    tick = scheduler.latest_tick(rt.spec.on.cron, clock.now())
    batches = []
    res = scheduler.run_tick(eng.services.alerts, rt, tick, "dying", stop=lambda: batches.append(1) or len(batches) > 1)
    assert (res.fired, res.skipped) == (5, "stopped")  # stopped between batches, lease freed
    res = scheduler.run_tick(eng.services.alerts, rt, tick, "other")
    assert (res.matched, res.fired) == (7, 7)
    assert len(due_soon_subjects(eng, u["sal"])) == len(due)
    assert scheduler.run_tick(eng.services.alerts, rt, tick, "third").skipped == "done"


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_worker_takeover__a_live_lease_is_respected_until_it_expires(eng, u, clock):
    order(eng, u, "2026-03-03")
    [rt] = [r for r in eng.runtime.alerts_scheduled if r.id == "due_soon"]
    tick = scheduler.latest_tick(rt.spec.on.cron, clock.now())
    scheduler._ensure_lease(eng.db, "alert:due_soon")
    with eng.db.write() as conn:  # a worker that claimed the tick and died
        conn.execute(scheduler.le.update().values(owner="dead", until=clock.now().replace(hour=9, minute=5)))
    assert scheduler.run_tick(eng.services.alerts, rt, tick, "me").skipped == "busy"
    clock.advance(minutes=6)
    assert scheduler.run_tick(eng.services.alerts, rt, tick, "me").fired == 1


@pytest.mark.outbox_ok  # emails queued; delivery is not under test
def test_once__a_new_record_never_inherits_a_purged_records_state(eng, u, clock):
    """SQLite gives the next record the id of the newest one purged: the purge forgets the
    alert's state, traces and messages of that id, or the new record's `once` alert stays
    silent and the old messages lead to the new record."""
    def fired():
        return [n for n in eng.notifications(u["boss"]) if n["source"] == "overdue_once"]

    gone = order(eng, u, "2026-03-01")  # overdue
    eng.run_schedules()
    assert len(fired()) == 1
    eng.delete(u["root"], "sales_order", gone.id)
    eng.purge_record(u["root"], "sales_order", gone.id)
    assert fired() == []
    new = order(eng, u, "2026-03-01")
    if eng.db.is_sqlite:
        assert new.id == gone.id  # the case this guards: SQLite reuses the largest id
    assert eng.alert_traces(u["root"], alert="overdue_once", record_id=new.id) == []
    clock.advance(hours=1)
    eng.run_schedules()
    assert [n["subject"] for n in fired()] == [f"{new.number} is overdue"]
