"""The record page draws the workflow (流程图): the path taken, the current step and who holds
it, what can come next and who would take it; server-side SVG, readable on a phone and in zh."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import BACKENDS

from .uxdemo import demo_app, login


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_app(request.param, tmp_path_factory.mktemp("flow"), customers=8, orders=16) as app:
        yield app


def waiting_order(eng):
    admin = eng.user("admin")
    return eng.list(admin, "sales_order", filter="state == 'manager_review'", limit=1).items[0]


@pytest.mark.outbox_ok
def test_record_page_draws_the_path_taken_the_holder_and_what_comes_next(demo, browser, shot):
    eng, base = demo
    rec = waiting_order(eng)
    holders = sorted(tk.assignee for tk in eng.step_tasks(eng.user("admin"), rec) if tk.status == "open")
    assert holders
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "sam")
    page.goto(f"{base}/f/sales_order/{rec.id}")
    svg = page.locator("#flow-diagram")
    expect(svg).to_be_visible()
    assert page.locator("#flow-diagram g.current").get_attribute("data-step") == "manager_review"
    expect(page.locator("#flow-diagram g.current .flow-note")).to_contain_text(holders[0])
    expect(page.locator("#flow-diagram g.done[data-step=draft]")).to_have_count(1)
    expect(page.locator("#flow-diagram path.flow-edge.taken")).to_have_count(1)  # draft → manager review
    next_steps = {page.locator(f"#flow-diagram g.next").nth(i).get_attribute("data-step")
                  for i in range(page.locator("#flow-diagram g.next").count())}
    assert {"gm_review", "finance_review", "approved"} <= next_steps
    assert "rejected" not in next_steps  # the way forward, not every way out
    expect(page.locator("#flow-holders")).to_contain_text(holders[0])
    expect(page.locator("#flow-next")).to_contain_text("General manager review")
    # no text of a box spills out of it
    for box in page.locator("#flow-diagram g.flow-node").all():
        r = box.locator("rect").bounding_box()
        tb = box.locator("text").first.bounding_box()
        assert tb["x"] >= r["x"] - 1 and tb["x"] + tb["width"] <= r["x"] + r["width"] + 1
    shot(page, "flow-en")
    page.close()


@pytest.mark.outbox_ok
def test_flow_diagram_in_chinese_on_a_phone(demo, browser, shot):
    eng, base = demo
    rec = waiting_order(eng)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    login(page, base, "li.na")
    page.goto(f"{base}/f/sales_order/{rec.id}")
    expect(page.locator("#flow h2")).to_have_text("流程图")
    expect(page.locator("#flow-diagram g.current text.flow-label")).to_have_text("销售经理审批")
    box = page.locator("#flow-diagram").bounding_box()
    assert box["width"] >= 340  # readable, scrolls sideways if it must
    for node in page.locator("#flow-diagram g.flow-node").all():
        r = node.locator("rect").bounding_box()
        tb = node.locator("text").first.bounding_box()
        assert tb["x"] + tb["width"] <= r["x"] + r["width"] + 1
    page.locator("#flow").screenshot(path=str(__import__("pathlib").Path(__file__).parents[1] / "artifacts" / "flow-zh-phone.png"))
    shot(page, "flow-zh-phone")
    page.close()
