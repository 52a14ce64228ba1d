"""On the record page: the owner hands a record over (the new owner edits it, the old one no
longer sees it), then the new owner deletes it, and an administrator restores it from the trash."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.records.conftest import CLAIM_USERS, HANDOVER
from tests.conftest import make_engine

from .conftest import serving


@pytest.fixture
def claims_server(database_url, clock):
    eng = make_engine(HANDOVER, database_url, clock)
    for name, (roles, manager) in CLAIM_USERS.items():
        eng.add_user(name, roles, manager=manager, password=f"{name}-pass-123", is_admin=name == "root")
    with serving(eng, "browser-test") as url:
        yield eng, url
    eng.close()


def _login(browser, url, name, old=None):
    """A page of its own (a fresh browser context: no cookie or request of the last user's
    page can reach it) logged in as `name`."""
    if old is not None:
        old.context.close()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url + "/login")
    page.fill("#username", name)
    page.fill("#password", f"{name}-pass-123")
    page.click("button[type=submit]")
    # a login pays for a password hash (scrypt): on a loaded 2-core machine that alone can
    # take seconds, so wait longer than playwright's default 5 s
    expect(page.locator("a.me")).to_have_text(name, timeout=20_000)
    return page


def test_hand_over_then_delete_and_restore_from_the_record_page(claims_server, browser, shot):
    eng, url = claims_server
    rec = eng.create(eng.user("sid"), "claim", {"purpose": "Taxi", "amount": "12.00"})
    page = _login(browser, url, "sid")
    page.goto(f"{url}/f/claim/{rec.id}")
    page.select_option("#to-reassign", "tom")
    page.fill("#comment-reassign", "tom takes over")
    shot(page, "before-hand-over")
    page.click("#act-reassign")
    # sid no longer reads the claim (the rows rule: owner or handler): back to the inbox
    expect(page).to_have_url(f"{url}/inbox")
    assert eng.get(eng.user("tom"), "claim", rec.id).owner == "tom"

    page = _login(browser, url, "tom", old=page)
    page.goto(f"{url}/f/claim/{rec.id}")
    expect(page.locator("#value-handler")).to_have_text("tom")
    expect(page.locator("#history")).to_contain_text("sid")
    expect(page.locator("#edit")).to_be_visible()
    shot(page, "new-owner")
    page.click("#delete")
    expect(page).to_have_url(f"{url}/f/claim")
    assert eng.list(eng.user("tom"), "claim").total == 0

    page = _login(browser, url, "root", old=page)
    page.goto(f"{url}/admin/trash")
    expect(page.locator(f"#trash-{rec.id}")).to_contain_text("tom")
    shot(page, "trash")
    page.click(f"#restore-{rec.id}")
    expect(page.locator(f"#trash-{rec.id}")).to_have_count(0)
    page.goto(f"{url}/admin/audit?user=tom")
    expect(page.locator("#audit-table")).to_contain_text("restore")
    expect(page.locator("#audit-table")).to_contain_text("reassign")
    shot(page, "audit")
    assert eng.get(eng.user("tom"), "claim", rec.id).state == "draft"
