"""A person logs in as each role of the bundled app and finds their work on the home page."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from engine.cli import load_demo
from engine.clock import HeldClock
from engine.definitions.catalog import load_definitions
from engine.engine import Engine

from .conftest import serving

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
PASSWORD = "demo-pass-123"
demo = load_demo(load_definitions(str(DEFINITIONS)).app)  # as `loom serve --demo` finds it


@pytest.fixture
def demo_engine(database_url):
    clock = HeldClock()
    eng = Engine(str(DEFINITIONS), database_url, clock=clock)
    demo.seed(eng, clock, orders=12, customers=6, days=60, password=PASSWORD)
    yield eng
    eng.close()


@pytest.fixture
def demo_server(demo_engine):
    with serving(demo_engine, "roles-test") as url:
        yield url


def put_work_in_flight(eng) -> None:
    """Move one record out of its workflow's start step (as its owner), so an approver has a task.

    Generic over the bundled app: whatever form and action it defines first."""
    from engine.errors import LoomError

    admin = eng.user("admin")
    for wf in eng.defs.workflows.values():
        for rec in eng.list(admin, wf.form, filter=f"state == {wf.start!r}", limit=5).items:
            owner = eng.user(rec.owner)
            for action in eng.available_actions(owner, rec):
                if action["builtin"]:
                    continue
                try:
                    eng.act(owner, wf.form, rec.id, action["name"])
                except LoomError:
                    continue
                if eng.tasks(admin) or any(eng.tasks(eng.user(n)) for n in demo.DEMO_USERS):
                    return


@pytest.mark.outbox_ok  # the demo's alerts queue emails nobody delivers here
def test_each_demo_role_logs_in_and_finds_their_work_on_home(demo_server, demo_engine, browser, shot):
    eng = demo_engine
    # work in flight: alice's order waits for a sales manager's approval
    put_work_in_flight(eng)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    checked = 0
    for name in demo.DEMO_USERS:
        user = eng.user(name)
        page.goto(demo_server + "/login")
        page.fill("#username", name)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("a.me")).to_have_text(name)
        tasks = eng.tasks(user)[:20]
        notes = eng.notifications(user, unread_only=True)[:10]
        creatable = [f for f in eng.defs.forms if eng.can_create(user, f)]
        # the home page shows exactly their open tasks, unread notifications and the forms they may create
        expect(page.locator(".task-link")).to_have_count(len(tasks))
        for task in tasks[:3]:
            expect(page.locator(f".task-link[href$='/{task.record_id}']").first).to_be_visible()
        if notes:
            expect(page.locator("main")).to_contain_text(notes[0]["subject"][:40])
        for form in creatable:
            expect(page.locator(f"#new-{form}")).to_be_visible()
        assert page.locator("a[id^='new-']").count() == len(creatable)
        if user.is_admin:
            expect(page.locator("nav a[href='/admin']")).to_be_visible()
        else:
            expect(page.locator("nav a[href='/admin']")).to_have_count(0)
        shot(page, f"home-{name}")
        checked += 1 if (tasks or notes or creatable) else 0
        page.click("#logout")
        expect(page.locator("#username")).to_be_visible()
    assert checked >= len(demo.DEMO_USERS) - 1  # every role has something to do (gm may have nothing yet)
    assert any(eng.tasks(eng.user(n)) for n in demo.DEMO_USERS), "someone has an approval waiting"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    page.close()
