"""The bundled app in a real browser, as the people who use it: a Chinese UI with no English
left, the inbox as a work queue, notifications that follow the work, an approver panel that
says what each control does — on a desktop and on a 390×844 phone."""
from __future__ import annotations

import re
from datetime import timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from engine.cli import load_demo
from engine.clock import HeldClock
from engine.definitions.catalog import load_definitions
from engine.engine import Engine

from ..conftest import BACKENDS, throwaway_database
from .conftest import serving
from .english import data_words, english_words

DEFINITIONS = Path(__file__).resolve().parents[2] / "definitions"
PASSWORD = "demo-pass-123"
demo = load_demo(load_definitions(str(DEFINITIONS)).app)
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module", params=BACKENDS)
def app_engine(request, tmp_path_factory):
    """The bundled app with a small demo year; li.na (sales manager) and wang.wei (rep) read
    Chinese, and so does admin here, so the admin pages are walked in Chinese too."""
    gen = throwaway_database(request.param, tmp_path_factory.mktemp("ux") / "loom.db")
    url = next(gen)
    clock = HeldClock()
    eng = Engine(str(DEFINITIONS), url, clock=clock)
    demo.seed(eng, clock, orders=12, customers=6, days=60, password=PASSWORD)
    eng.users.update("admin", language="zh")
    yield eng
    eng.close()
    gen.close()


@pytest.fixture(scope="module")
def app_server(app_engine):
    with serving(app_engine, "ux-test") as url:
        yield url


def new_order(eng, rep: str = "wang.wei", submit: bool = True):
    """A sales order like the demo's (its customer, warehouse and lines), submitted by `rep`."""
    admin = eng.user("admin")
    like = next(r for r in eng.list(admin, "sales_order", limit=50).items
                if r.data.get("lines") and r.data.get("warehouse"))
    table = eng.defs.forms["sales_order"].field("lines")
    typed = {c.name for c in table.fields if c.compute is None and not c.readonly}
    line = {k: v for k, v in like.data["lines"][0].items() if k in typed and v is not None}
    today = eng.clock.now().date()
    rec = eng.create(eng.user(rep), "sales_order", {
        "customer": like.data["customer"], "warehouse": like.data["warehouse"],
        "order_date": today.isoformat(), "due_date": (today + timedelta(days=14)).isoformat(),
        "lines": [{k: str(v) if not isinstance(v, (int, bool)) else v for k, v in line.items()}
                  | {"qty": 1}]})
    if submit:
        rec = eng.act(eng.user(rep), "sales_order", rec.id, "submit")
    return rec


def login(page, base, name, lang=None):
    page.goto(base + "/login" + (f"?lang={lang}" if lang else ""))
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("a.me")).to_have_text(name)


def logout(page):
    page.click("#logout")
    expect(page.locator("#username")).to_be_visible()


def no_english(page, allowed, where: str) -> None:
    html = page.content()
    words = english_words(html, allowed)
    assert not words, f"{where}: English UI words {sorted(words)}"


# --- 1. languages ------------------------------------------------------------------------


@pytest.mark.outbox_ok  # the demo's alerts queue emails nobody delivers here
def test_zh_walk__every_page_has_no_english_ui_word(app_server, app_engine, browser, shot):
    eng = app_engine
    order = new_order(eng)  # a task for li.na, a history with steps
    eng.act(eng.user("li.na"), "sales_order", order.id, "return", comment="请补充交货日期")
    eng.act(eng.user("wang.wei"), "sales_order", order.id, "submit")
    allowed = data_words(eng) | {"system"}  # the engine's own user owns system records
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN",
                              extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page = ctx.new_page()
    page.goto(app_server + "/login")  # no ?lang=: Accept-Language decides
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    no_english(page, allowed, "login")
    page.fill("#username", "li.na")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
    no_english(page, allowed, "login error")
    shot(page, "zh-login")

    for name in ("li.na", "admin"):
        login(page, app_server, name)
        user = eng.user(name)
        urls = ["/", "/inbox", "/inbox?status=waiting", "/inbox?status=done",
                "/inbox?status=transferred", "/notifications", "/account", "/account/2fa",
                "/reports", f"/f/sales_order/{order.id}", "/f/sales_order", "/f/nope",
                f"/f/sales_order/{10**9}"]
        if user.is_admin:
            urls += ["/admin", "/admin/alerts", "/admin/archive"]
        for form in eng.defs.forms:
            if form in [f.id for f in eng.defs.forms.values()] and eng.can_create(user, form):
                urls.append(f"/f/{form}/new")
            first = eng.list(user, form, limit=1).items
            if first:
                urls += [f"/f/{form}", f"/f/{form}/{first[0].id}"]
        urls += [f"/reports/{r}" for r in eng.defs.reports if eng.can_run_report(user, r)]
        for url in dict.fromkeys(urls):
            page.goto(app_server + url)
            no_english(page, allowed, f"{name} {url}")
        page.goto(app_server + f"/f/sales_order/{order.id}")
        shot(page, f"zh-record-{name}")
        # a record with validation errors
        if eng.can_create(user, "sales_order"):
            page.goto(app_server + "/f/sales_order/new")
            page.click("#save")
            expect(page.locator("#form-message")).to_have_text("部分字段需要修改。")
            expect(page.locator(".field-error").first).to_be_visible()
            no_english(page, allowed, f"{name} sales order with errors")
            shot(page, f"zh-validation-{name}")
        # GET on the action URL: an error page in Chinese, not a 405 in English
        page.goto(app_server + f"/f/sales_order/{order.id}/act")
        expect(page.locator("h1")).not_to_be_empty()
        no_english(page, allowed, f"{name} 405 page")
        logout(page)
    ctx.close()


def test_login_page__follows_accept_language_and_its_switch(app_server, browser):
    ctx = browser.new_context(extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    page = ctx.new_page()
    page.goto(app_server + "/login")
    expect(page.locator("h1")).to_have_text("登录")
    page.click("#lang-en")
    expect(page.locator("h1")).to_have_text("Log in")
    page.goto(app_server + "/login")  # the choice sticks (cookie) over Accept-Language
    expect(page.locator("h1")).to_have_text("Log in")
    page.click("#lang-zh")
    expect(page.locator("h1")).to_have_text("登录")
    ctx.close()
    ctx = browser.new_context(extra_http_headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    page = ctx.new_page()
    page.goto(app_server + "/login")
    expect(page.locator("h1")).to_have_text("Log in")  # no French: the app's default
    ctx.close()


def test_dates_and_money__per_locale_in_the_users_time_zone(app_server, app_engine, browser):
    eng = app_engine
    order = new_order(eng, submit=False)
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "wang.wei")
    page.goto(app_server + "/account")
    page.select_option("#pref-zone", "Asia/Tokyo")  # the app's is Asia/Shanghai (app.yaml)
    page.click("#pref-save")
    page.goto(app_server + f"/f/sales_order/{order.id}")
    created = eng.get(eng.user("admin"), "sales_order", order.id).created_at
    tokyo = created.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Asia/Tokyo"))
    first = page.locator("#history li .muted").first
    expect(first).to_have_text(f"{tokyo.year}年{tokyo.month}月{tokyo.day}日 {tokyo:%H:%M}")
    total = eng.get(eng.user("admin"), "sales_order", order.id).data["total"]
    expect(page.locator("#value-total")).to_have_text(f"¥{total:,.2f}")  # app.yaml currency: CNY
    page.goto(app_server + "/account")
    page.select_option("#pref-zone", "Europe/London")
    page.select_option("#pref-language", "en")
    page.click("#pref-save")
    page.goto(app_server + f"/f/sales_order/{order.id}")
    london = created.replace(tzinfo=timezone.utc).astimezone(ZoneInfo("Europe/London"))
    expect(page.locator("#history li .muted").first).to_contain_text(
        f"{london:%b} {london.day}, {london.year}")
    page.goto(app_server + "/account")
    page.select_option("#pref-language", "zh")
    page.click("#pref-save")
    page.close()


# --- 2. the inbox as a work queue ----------------------------------------------------------


@pytest.mark.outbox_ok
def test_inbox__summary_columns_filters_bulk_decisions_badge_and_decisions(app_server, app_engine,
                                                                          browser, shot):
    eng = app_engine
    li = eng.user("li.na")
    orders = [new_order(eng) for _ in range(3)]
    # one of them li.na cannot approve any more: sam decided it first (mode any)
    eng.act(eng.user("sam"), "sales_order", orders[2].id, "approve", comment="ok")
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "li.na")
    count = len(eng.tasks(li, limit=1000))
    expect(page.locator("#open-tasks")).to_have_text(str(count))
    page.goto(app_server + "/inbox?form=sales_order")
    row = page.locator("#task-table tbody tr").filter(has_text=orders[0].number)
    expect(row).to_contain_text("客户")  # the workflow's summary: customer and total
    expect(row).to_contain_text("合计")
    expect(row).to_contain_text("wang.wei")  # owner
    # filter by step and sort oldest first: SQL does both
    page.select_option("#filter-step", "manager_review")
    page.select_option("#filter-sort", "oldest")
    page.click("#filter-go")
    numbers = [t.number for t in eng.tasks(li, form="sales_order", step="manager_review",
                                           sort="oldest", limit=50)]
    expect(page.locator("#task-table .task-link")).to_have_text(numbers)
    shot(page, "inbox-filtered")
    # bulk approve two with one comment
    page.goto(app_server + "/inbox")
    for rec in orders[:2]:
        task = next(t for t in eng.tasks(li) if t.record_id == rec.id)
        page.check(f"#pick-{task.id}")
    page.fill("#bulk-comment", "批量同意")
    page.click("#bulk-approve")
    expect(page.locator(".flash").first).to_contain_text("已处理 2 / 2 项。")
    for rec in orders[:2]:
        assert eng.get(li, "sales_order", rec.id).state != "manager_review"
        assert any(e.comment == "批量同意" and e.actor == "li.na"
                   for e in eng.history(li, "sales_order", rec.id))
    expect(page.locator("#open-tasks")).to_have_text(str(count - 2))
    # the done tab shows the decision
    page.click("#tab-done")
    done = page.locator("#task-table tbody tr").filter(has_text=orders[0].number)
    expect(done.locator(".decision")).to_contain_text("已同意")
    shot(page, "inbox-done")
    page.close()


@pytest.mark.outbox_ok
def test_bulk_reject__reports_each_task_that_could_not_be_decided(app_server, app_engine, browser):
    eng = app_engine
    sam = eng.user("sam")
    a, b = new_order(eng), new_order(eng)
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "sam")
    page.goto(app_server + "/inbox")
    for rec in (a, b):
        task = next(t for t in eng.tasks(sam) if t.record_id == rec.id)
        page.check(f"#pick-{task.id}")
    # meanwhile li.na decides b: sam's task on it closes under him
    eng.act(eng.user("li.na"), "sales_order", b.id, "approve")
    page.fill("#bulk-comment", "Out of stock")  # reject needs a comment: one for all
    page.click("#bulk-reject")
    expect(page.locator(".flash").first).to_contain_text("1 of 2 decided.")
    expect(page.locator(".flash.error")).to_contain_text(b.number)
    assert eng.get(sam, "sales_order", a.id).state == "rejected"
    page.close()


def test_inbox_page__statements_do_not_grow_with_its_tasks(app_engine):
    """The inbox is one SQL query plus one per form its summary columns link to (its speed is
    bench/inbox_page_bench.py's to prove; here: no statement per task)."""
    import sqlalchemy as sa

    from web import create_app

    app = create_app(app_engine, secret_key="statements")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    client.post("/login", data={"username": "li.na", "password": PASSWORD})
    client.get("/inbox")  # warm: templates compiled, definitions cached

    def statements() -> tuple[int, int]:
        seen = []
        listen = lambda *args: seen.append(args[2])  # noqa: E731 - the statement text
        sa.event.listen(app_engine.db.engine, "before_cursor_execute", listen)
        try:
            page = client.get("/inbox")
        finally:
            sa.event.remove(app_engine.db.engine, "before_cursor_execute", listen)
        assert page.status_code == 200
        return len(seen), page.get_data(as_text=True).count('name="task"')

    before, rows = statements()
    for _ in range(3):
        new_order(app_engine)  # three more orders wait for li.na
    after, more_rows = statements()
    assert more_rows == rows + 3
    assert after == before, (before, after)


def test_a_missing_record_page_speaks_plainly_in_each_language(app_engine):
    from web import create_app

    app = create_app(app_engine, secret_key="missing")
    app.config["WTF_CSRF_ENABLED"] = False
    for user, want in (("alice", "The page or record does not exist, or you may not see it."),
                       ("wang.wei", "页面或记录不存在，或您无权查看。")):
        client = app.test_client()
        client.post("/login", data={"username": user, "password": PASSWORD})
        page = client.get("/f/sales_order/987654321")
        assert page.status_code == 404
        text = page.get_data(as_text=True)
        assert want in text
        assert "sales_order" not in text.split("<main", 1)[-1]  # no engine phrasing, no form ids


# --- 3. notifications that follow the work ---------------------------------------------------


@pytest.mark.outbox_ok
def test_notifications__owner_and_assignees_hear_by_their_channels(app_server, app_engine, browser):
    eng = app_engine
    wang, li = eng.user("wang.wei"), eng.user("li.na")
    eng.users.update("gm", notify_by="inbox,email")
    before = {n: len(eng.notifications(eng.user(n), limit=500)) for n in ("wang.wei", "li.na", "gm")}
    order = new_order(eng)  # li.na and sam get the task
    latest = eng.notifications(li, limit=1)[0]
    assert latest["subject"].startswith("新待办：销售订单") and order.number in latest["subject"]
    assert latest["record_id"] == order.id
    eng.act(li, "sales_order", order.id, "return", comment="请补充")
    note = eng.notifications(wang, limit=1)[0]
    assert note["subject"] == f"已回退到草稿：销售订单 {order.number}"
    assert "意见：请补充" in note["body"]
    eng.act(wang, "sales_order", order.id, "submit")
    eng.act(li, "sales_order", order.id, "transfer", to="gm", comment="你来处理")
    gm_note = eng.notifications(eng.user("gm"), limit=1)[0]
    assert gm_note["subject"].startswith("li.na transferred a task to you: Sales order")
    with eng.db.read() as conn:  # gm also chose email: queued with the record's link
        import sqlalchemy as sa

        from engine.store import tables as t
        row = conn.execute(sa.select(t.outbox.c.payload).where(t.outbox.c.channel == "email")
                           .order_by(t.outbox.c.id.desc()).limit(1)).scalar_one()
    payload = row if isinstance(row, dict) else __import__("json").loads(row)
    assert payload["to"] == "gm@loom-demo.example"
    assert f"/f/sales_order/{order.id}" in payload["text"]
    eng.act(eng.user("gm"), "sales_order", order.id, "reject", comment="信用不足")
    assert eng.notifications(wang, limit=1)[0]["subject"] == f"已拒绝：销售订单 {order.number}"
    # the approval that ends the approval steps tells the owner too (whichever review is last)
    ok = new_order(eng)
    while (state := eng.get(li, "sales_order", ok.id).state).endswith("_review"):
        who = eng.user(next(t.assignee for t in _open_tasks(eng, ok.id)))
        assert not [n for n in eng.notifications(wang, limit=5) if n["subject"].startswith("已通过")
                    and ok.number in n["subject"]], f"told before the last approval ({state})"
        eng.act(who, "sales_order", ok.id, "approve")
    assert f"已通过：销售订单 {ok.number}" in [n["subject"] for n in eng.notifications(wang, limit=5)]
    after = {n: len(eng.notifications(eng.user(n), limit=500)) for n in before}
    assert after["wang.wei"] > before["wang.wei"] and after["gm"] > before["gm"]
    # the owner reads them in the browser, linked to the record
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "wang.wei")
    page.goto(app_server + "/notifications")
    link = page.locator(".notes a", has_text=f"已拒绝：销售订单 {order.number}")
    expect(link).to_have_attribute("href", f"/f/sales_order/{order.id}")
    page.close()
    eng.users.update("gm", notify_by="inbox")


def _open_tasks(eng, record_id):
    names = [u.name for u in eng.users.all()]
    return [t for n in names for t in eng.tasks(eng.user(n), limit=1000) if t.record_id == record_id]


# --- 5. the approver panel ---------------------------------------------------------------------


@pytest.mark.outbox_ok
def test_approver_panel__labelled_pickers_offer_only_who_can_take_the_task(app_server, app_engine,
                                                                         browser, shot):
    eng = app_engine
    order = new_order(eng)
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "li.na")
    page.goto(app_server + f"/f/sales_order/{order.id}")
    panel = page.locator("#actions")
    expect(panel.locator("#form-transfer h3")).to_have_text("将我的任务转交给…")
    expect(panel.locator("#form-add_signer h3")).to_have_text("加签")
    expect(panel.locator("#form-cc h3")).to_have_text("抄送他人（只读）")
    offered = panel.locator("#to-transfer option").all_inner_texts()
    # sam already holds a task in this step, wang.wei owns the record, li.na is me
    assert "sam" not in offered and "wang.wei" not in offered and "li.na" not in offered
    assert "gm" in offered
    expect(panel.locator("#holding-transfer")).to_contain_text("sam")
    shot(page, "panel")
    # add a signer after me: "what happens next" says they decide after I approve
    page.check("#where-after")
    page.select_option("#to-add_signer", "gm")
    page.click("#act-add_signer")
    expect(page.locator("#explain-approve")).to_contain_text("您同意后，由 gm 审批")
    assert page.url.endswith(f"/f/sales_order/{order.id}")
    page.close()
    # sam adds a signer before himself: he waits, and is told who decides first
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "sam")
    page.goto(app_server + f"/f/sales_order/{order.id}")
    page.check("#where-before")
    page.select_option("#to-add_signer", "fiona")
    page.click("#act-add_signer")
    expect(page.locator("#explain-approve")).to_contain_text("fiona decides first, then you")
    expect(page.locator("#history")).to_contain_text("added fiona as signer before themselves")
    page.close()


@pytest.mark.outbox_ok
def test_approver_panel__errors_show_on_the_record_page_and_reload_safely(app_server, app_engine,
                                                                        browser):
    eng = app_engine
    order = new_order(eng)
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "li.na")
    page.goto(app_server + f"/f/sales_order/{order.id}")
    page.click("#act-reject")  # reject needs a comment
    expect(page.locator("#action-message")).to_have_text("必须填写意见")
    assert page.url.endswith(f"/f/sales_order/{order.id}")  # Post/Redirect/Get
    response = page.reload()
    assert response.status == 200  # not a 405 on /act
    expect(page.locator("#action-message")).to_have_count(0)
    page.close()


@pytest.mark.outbox_ok
def test_confirm_in_the_definition__is_asked_before_the_action(app_server, app_engine, browser):
    eng = app_engine
    draft = new_order(eng, submit=False)
    page = browser.new_page(viewport=DESKTOP)
    login(page, app_server, "wang.wei")
    page.goto(app_server + f"/f/sales_order/{draft.id}")
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click("#act-discard")
    assert asked == ["确定作废此草稿？"]
    assert eng.get(eng.user("wang.wei"), "sales_order", draft.id).state == "draft"  # dismissed
    page.once("dialog", lambda d: d.accept())
    page.click("#act-discard")
    expect(page.locator("#record-state")).to_have_text("已作废")
    page.close()


# --- the phone --------------------------------------------------------------------------------


@pytest.mark.outbox_ok
def test_phone_walk__inbox_record_and_approve_at_390x844(app_server, app_engine, browser, shot):
    eng = app_engine
    order = new_order(eng)
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    login(page, app_server, "li.na")
    page.goto(app_server + "/inbox")
    shot(page, "phone-inbox")
    page.locator(".task-link", has_text=order.number).click()
    expect(page.locator("#record-title")).to_contain_text(order.number)
    shot(page, "phone-record")
    for sel in ("#act-approve", "#to-transfer", "#act-transfer"):  # reachable and inside the screen
        box = page.locator(sel).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, sel
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.fill("#comment", "同意")
    page.click("#act-approve")
    expect(page.locator(".flash").first).to_have_text("已完成。")
    shot(page, "phone-approved")
    assert eng.get(eng.user("li.na"), "sales_order", order.id).state != "manager_review"
    ctx.close()
