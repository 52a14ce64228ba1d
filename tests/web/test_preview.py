"""In a real browser: the form page's live preview comes from the server's own expressions
(round, count, sum, link defaults, visible_if/required_if per line) before anything is saved,
and the form still saves when the preview cannot be reached."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import FIXTURES, make_engine

from .conftest import serving
from .test_walkthrough import login

HIDDEN = re.compile(r"\bcell-hidden\b")  # (a column no line shows is also folded: col-unused)


@pytest.fixture
def lab(database_url, clock):
    eng = make_engine(FIXTURES / "preview", database_url, clock)
    eng.add_user("cal", ["clerk"], password="cal-pass-123")
    eng.create(eng.user("cal"), "supplier", {"name": "Acme", "region": "north", "discount": "10",
                                             "base_price": "4.00"})
    eng.create(eng.user("cal"), "supplier", {"name": "Beta", "region": "south", "discount": "0",
                                             "base_price": "7.00"})
    yield eng
    eng.close()


@pytest.fixture
def lab_server(lab):
    with serving(lab, "preview", threads=2) as url:
        yield url


def test_typing_updates_round_count_and_line_flags_before_saving(lab_server, browser, lab, shot):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, lab_server, "cal")
    page.goto(lab_server + "/f/calc/new")
    expect(page.locator("#field-reason")).to_be_hidden()
    expect(page.locator("td:has(#f-lines-0-size)")).to_have_class(HIDDEN)  # a blank line too
    page.fill("#f-name", "Acme Co")
    page.fill("#f-qty", "7")
    page.fill("#f-price", "12.50")
    expect(page.locator("#f-c_round")).to_have_text("29.1700")  # round(price * qty / 3, 2)
    expect(page.locator("#f-c_upper")).to_have_text("ACME CO")
    expect(page.locator("#f-c_count")).to_have_text("0")  # the blank line is not counted, as on save
    page.select_option("#f-supplier", label="Acme")
    expect(page.locator("#f-region")).to_have_value("north")  # default read through the link
    page.fill("#f-lines-0-item", "a")
    page.fill("#f-lines-0-qty", "2")
    page.fill("#f-lines-0-price", "60")
    expect(page.locator("#f-lines-0-amount")).to_have_text("120.00")
    expect(page.locator("#f-c_count")).to_have_text("1")
    page.click("button.add-row")
    page.fill("#f-lines-1-item", "b")
    page.select_option("#f-lines-1-kind", "custom")
    expect(page.locator("td:has(#f-lines-1-size)")).not_to_have_class(HIDDEN)
    expect(page.locator("td:has(#f-lines-0-size)")).to_have_class(HIDDEN)
    expect(page.locator("td:has(#f-lines-1-note)")).not_to_have_class("is-required")
    page.fill("#f-lines-1-qty", "11")  # required_if: qty > 10, on this line only
    expect(page.locator("td:has(#f-lines-1-note)")).to_have_class("is-required")
    expect(page.locator("td:has(#f-lines-0-note)")).not_to_have_class("is-required")
    expect(page.locator("#f-lines-1-price")).to_have_value("4.00")  # the line default, from the supplier
    expect(page.locator("#f-lines-1-amount")).to_have_text("44.00")
    expect(page.locator("#f-c_count")).to_have_text("2")
    expect(page.locator("#f-c_sum")).to_have_text("164.00")
    expect(page.locator("#f-lines-1-share")).to_have_text("1.5700")  # round(qty / parent.qty, 2)
    page.select_option("#f-kind", "custom")
    expect(page.locator("#field-reason")).to_be_visible()
    expect(page.locator("#field-reason .req")).to_be_hidden()
    page.fill("#f-qty", "12")  # reason: required_if qty > 10
    expect(page.locator("#field-reason .req")).to_be_visible()
    expect(page.locator("#f-c_round")).to_have_text("50.0000")
    expect(page.locator("#f-lines-1-share")).to_have_text("0.9200")
    page.select_option("#f-supplier", label="Beta")  # defaults the user did not touch follow the link
    expect(page.locator("#f-lines-1-price")).to_have_value("7.00")
    expect(page.locator("#f-region")).to_have_value("south")
    expect(page.locator("#f-lines-0-price")).to_have_value("60")  # typed: the user's
    expect(page.locator("#f-c_sum")).to_have_text("197.00")
    assert lab.list(lab.user("cal"), "calc").total == 0  # all of it before saving
    shot(page, "calc-preview")
    shown = {n: page.locator(f"#f-{n}").inner_text() for n in ("c_round", "c_count", "c_sum", "c_avg",
                                                                "c_link", "c_link_math", "c_compute_of_compute")}
    page.fill("#f-reason", "custom work")
    page.fill("#f-lines-1-note", "big one")
    page.click("#save")
    expect(page.locator("#record-title")).to_be_visible()
    for name, text in shown.items():
        expect(page.locator(f"#value-{name}")).to_have_text(text)  # the server agrees
    expect(page.locator("#value-region")).to_have_text("south")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    page.close()


def test_the_form_saves_when_the_preview_fails(lab_server, browser, lab):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, lab_server, "cal")
    page.route("**/preview", lambda route: route.abort())
    page.goto(lab_server + "/f/calc/new")
    page.fill("#f-name", "Offline")
    page.fill("#f-qty", "4")
    page.fill("#f-price", "3.00")
    page.fill("#f-lines-0-item", "only")
    page.fill("#f-lines-0-qty", "4")
    expect(page.locator("#f-c_round")).to_have_text("")  # nothing previewed, nothing broken
    page.click("#save")
    expect(page.locator("#value-c_round")).to_have_text("4.0000")
    expect(page.locator("#value-c_count")).to_have_text("1")
    assert lab.list(lab.user("cal"), "calc").total == 1
    page.close()
