"""Reports and dashboards that read well: labels instead of keys, formatted numbers, tiles of
the width they declare with charts drawn for it, tables that scroll inside their tile, no
chart that is the table again, axis titles clear of the tick labels."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import BACKENDS

from .uxdemo import demo_app, login


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory):
    with demo_app(request.param, tmp_path_factory.mktemp("dash"), customers=20, orders=60) as app:
        yield app


@pytest.mark.outbox_ok
def test_dashboard_tiles_read_well(demo, browser, shot):
    eng, base = demo
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "gm")
    page.goto(base + "/reports/dashboard")
    wide = page.locator("#tile-orders_by_month").bounding_box()
    half = page.locator("#tile-orders_by_status").bounding_box()
    assert wide["width"] > 1.8 * half["width"]  # span: 2 against the default 1
    # a chart is drawn for its tile: shown at about its own size, so 12px text stays ~12px
    for chart_id in ("orders_by_status", "orders_by_month"):
        img = page.locator(f"#chart-{chart_id}")
        natural = img.evaluate("i => i.naturalWidth")
        shown = img.bounding_box()["width"]
        assert 0.85 <= shown / natural <= 1.15, (chart_id, shown, natural)
    # the table of a table report is not drawn again as a chart
    expect(page.locator("#chart-low_stock_items")).to_have_count(0)
    # a tile's table scrolls inside the tile
    box = page.locator("#tile-orders_by_month .result-table")
    assert box.evaluate("e => getComputedStyle(e).overflowY") == "auto"
    assert box.bounding_box()["height"] <= 16 * 16 + 2  # 16rem
    assert box.evaluate("e => e.scrollHeight > e.clientHeight")
    # states as labels, numbers with separators
    expect(page.locator("#table-orders_by_status")).not_to_contain_text("manager_review")
    expect(page.locator("#table-sales_by_region")).not_to_contain_text("north")
    values = page.locator("#table-orders_by_status tbody td.num").all_inner_texts()
    assert any(re.match(r"^\d{1,3}(,\d{3})+\.\d\d$", v) for v in values), values
    shot(page, "dashboard-en")
    page.close()


@pytest.mark.outbox_ok
def test_chart_axis_title_never_overlaps_tick_labels(demo, browser):
    _eng, base = demo
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "gm")
    for rid in ("orders_by_month", "top_customers", "purchase_spend", "on_time_delivery"):
        page.goto(f"{base}/reports/{rid}/chart.svg?size=1")
        title = page.locator("text.y-label").bounding_box()
        ticks = [t.bounding_box() for t in page.locator("svg > text[text-anchor=end]").all()]
        assert ticks, rid
        assert title["x"] + title["width"] <= min(t["x"] for t in ticks), rid
    page.close()


@pytest.mark.outbox_ok
def test_dashboard_in_chinese_shows_labels_not_keys(demo, browser, shot):
    _eng, base = demo
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    login(page, base, "li.na")
    page.goto(base + "/reports/dashboard")
    expect(page.locator("#table-orders_by_status")).to_contain_text("已审批")
    expect(page.locator("#table-sales_by_region")).to_contain_text(re.compile("华[北东南中]|西部"))
    shot(page, "dashboard-zh")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/reports/dashboard")
    tile = page.locator("#tile-orders_by_status").bounding_box()
    assert tile["width"] <= 390
    shot(page, "dashboard-zh-phone")
    page.close()
