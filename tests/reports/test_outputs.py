"""Exports (CSV, XLSX), SVG charts, `loom export`, and the checks that catch bad reports."""
from __future__ import annotations

import csv
import io
import shutil
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from click.testing import CliRunner

from engine.definitions.catalog import check_tree
from engine.bootstrap import default_registries
from engine.reports.charts import render_svg

from .conftest import REPORTS

SVG = "{http://www.w3.org/2000/svg}"


def test_csv_export__header_of_labels_exact_decimals_iso_dates(reng, seeded, ru):
    out = io.BytesIO()
    n = reng.export_report(ru["root"], "orders_by_month_region", "csv", out, {"since": "2025-12-01"})
    text = out.getvalue().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Month", "Region", "Orders", "Revenue", "Avg order", "Biggest", "First day"]
    res = reng.report(ru["root"], "orders_by_month_region", {"since": "2025-12-01"})
    assert n == len(res.rows) == len(rows) - 1
    first = res.rows[0]
    assert rows[1][0] == first[0].isoformat() and Decimal(rows[1][3]) == first[3]


def test_xlsx_export__typed_cells_header_and_widths(reng, seeded, ru):
    from openpyxl import load_workbook

    out = io.BytesIO()
    n = reng.export_report(ru["root"], "big_orders", "xlsx", out, {"min_total": "0"})
    ws = load_workbook(io.BytesIO(out.getvalue())).active
    values = list(ws.iter_rows(values_only=True))
    assert values[0] == ("Number", "Customer", "Zone", "Order date", "Total", "Items", "Units")
    assert n == 5 and len(values) == 6
    assert ws["A1"].font.b
    assert ws["D2"].is_date and ws["D2"].number_format == "yyyy-mm-dd"
    assert isinstance(ws["E2"].value, (int, float)) and ws["E2"].number_format == "#,##0.00"
    res = reng.report(ru["root"], "big_orders", {"min_total": "0"})
    assert Decimal(str(ws["E2"].value)) == res.rows[0][4]
    assert ws.column_dimensions["B"].width >= len("Customer 0")


def test_form_export__line_items_of_readable_orders_only(reng, seeded, ru):
    out = io.BytesIO()
    n = reng.export_form(ru["alice"], "sales_order.lines", "csv", out)
    mine = [o for o in seeded["orders"] if o.owner == "alice"]
    assert n == sum(len(o.data["lines"]) for o in mine)
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert rows[0] == ["Number", "Product", "Qty", "Price", "Amount"]
    assert {r[0] for r in rows[1:]} == {o.number for o in mine if o.data["lines"]}


def test_svg_charts__accessible_and_script_free(reng, seeded, ru):
    for rid in ("orders_by_month_region", "line_sales", "category_share", "totals", "big_orders"):
        res = reng.report(ru["root"], rid, {"since": "2025-12-01"} if rid.startswith("orders")
                          else {"min_total": "0"} if rid == "big_orders" else None)
        svg = render_svg(reng.defs.reports[rid], res)
        root = ET.fromstring(svg)  # well-formed
        assert root.get("role") == "img" and root.get("aria-labelledby")
        assert root.find(f"{SVG}title").text == res.title
        assert root.find(f"{SVG}desc").text
        assert "<script" not in svg and "onload" not in svg and "javascript:" not in svg
    bar = render_svg(reng.defs.reports["orders_by_month_region"],
                     reng.report(ru["root"], "orders_by_month_region", {"since": "2025-12-01"}))
    assert 'class="x-label"' in bar and ">Month<" in bar and ">Revenue<" in bar
    assert 'class="legend"' in bar and ">North<" in bar
    pie = render_svg(reng.defs.reports["category_share"], reng.report(ru["root"], "category_share"))
    assert pie.count("<path") >= 3


@pytest.mark.parametrize("width", [960, 460])  # a report page, a dashboard tile
def test_svg_pie_and_its_legend_sit_together_inside_the_chart(reng, seeded, ru, width):
    pie = render_svg(reng.defs.reports["category_share"], reng.report(ru["root"], "category_share"),
                     width=width)
    root = ET.fromstring(pie)
    arcs = [float(p.get("d").split()[0][1:].split(",")[0]) for p in root.iter(f"{SVG}path")]
    keys = [float(r.get("x")) for r in root.find(f"{SVG}g[@class='legend']").iter(f"{SVG}rect")]
    texts = root.find(f"{SVG}g[@class='legend']").iter(f"{SVG}text")
    cx = arcs[0]  # every slice starts at the centre
    assert keys and min(keys) > cx  # the legend is right of the pie
    assert max(keys) + 18 + max(len(t.text) for t in texts) * 6 <= width  # and inside the chart
    if width == 960:  # room to spare: the pair is centred, not pushed to the two edges
        assert 200 < cx < 960 / 2


def test_svg__text_is_escaped(reng, ru):
    from engine.reports.results import ReportResult, ResultColumn

    spec = reng.defs.reports["category_share"]
    res = ReportResult("category_share", "<b>&", [ResultColumn("category", "Category", "text", "group"),
                                                   ResultColumn("revenue", "Revenue", "money", "measure")],
                       [("<script>alert(1)</script>", Decimal("3.00"))])
    svg = render_svg(spec, res)
    ET.fromstring(svg)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_cli_export__report_and_form(reng, seeded, database_url, tmp_path, monkeypatch):
    from engine.cli import main

    reng.close()
    out = tmp_path / "r.csv"
    result = CliRunner().invoke(main, ["export", "totals", "--format", "csv", "-o", str(out),
                                       "--definitions", str(REPORTS), "--database", database_url])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Orders", "Revenue", "Customers"] and rows[1][0] == str(len(seeded["orders"]))
    out2 = tmp_path / "f.xlsx"
    result = CliRunner().invoke(main, ["export", "customer", "--format", "xlsx", "-o", str(out2),
                                       "--definitions", str(REPORTS), "--database", database_url])
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    assert load_workbook(out2).active.max_row == 9
    bad = CliRunner().invoke(main, ["export", "orders_by_month_region", "-p", "since=never",
                                    "--definitions", str(REPORTS), "--database", database_url])
    assert bad.exit_code == 1 and "parameter 'since'" in bad.output


BAD = {
    "unknown_field.yaml": """report: unknown_field
source: sales_order
group_by:
  - {name: c, expr: "custmer.name"}
measures:
  - {name: n, agg: count}
""",
    "sum_of_text.yaml": """report: sum_of_text
source: sales_order
measures:
  - {name: s, agg: sum, expr: note}
""",
    "line_field_on_orders.yaml": """report: line_field_on_orders
source: sales_order
group_by:
  - {name: p, expr: "lines.product"}
measures:
  - {name: n, agg: count}
""",
}


@pytest.mark.parametrize("name,expected", [
    ("unknown_field.yaml", "unknown name 'custmer'"),
    ("sum_of_text.yaml", "sum needs a number"),
    ("line_field_on_orders.yaml", "use source: sales_order.lines"),
])
def test_loom_check__rejects_bad_reports(tmp_path, name, expected):
    root = tmp_path / "app"
    shutil.copytree(REPORTS, root)
    (root / "reports" / name).write_text(BAD[name])
    _, problems = check_tree(str(root), default_registries())
    errors = [str(p) for p in problems if p.severity == "error"]
    assert len(errors) == 1 and expected in errors[0] and name in errors[0], errors


def test_svg_bars_with_series_stack_and_label_months_briefly(reng, ru):
    from datetime import date

    from engine.reports.results import ReportResult, ResultColumn

    spec = reng.defs.reports["orders_by_month_region"]
    cols = [ResultColumn(c.name, str(c.label), "text", "group") for c in spec.group_by] + \
           [ResultColumn(m.name, str(m.label), "money", "measure") for m in spec.measures]
    months = [date(2025, m, 1) for m in range(1, 13)] + [date(2026, m, 1) for m in range(1, 13)]
    rows = [tuple({"month": m, "region": region}.get(c.name, amount) for c in cols)
            for m in months for region, amount in (("North", Decimal("10")), ("South", Decimal("30")))]
    root = ET.fromstring(render_svg(spec, ReportResult(spec.id, "t", cols, rows)))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "2025-01" in texts and "2025-01-01" not in texts  # month buckets read as months
    assert sum(1 for t in texts if t and t[:2] == "20" and len(t) == 7) <= 12  # thinned
    # stacked: South's bar starts where North's ends, so the axis reaches the sum (40)
    assert any(t == "40" for t in texts) or any(t == "50" for t in texts)
    north = [r for g in root.iter(f"{SVG}g") if g.get("aria-label") == "North"
             for r in g.iter(f"{SVG}rect")]
    south = [r for g in root.iter(f"{SVG}g") if g.get("aria-label") == "South"
             for r in g.iter(f"{SVG}rect")]
    assert north[0].get("x") == south[0].get("x")  # same column, not side by side
    assert abs(float(south[0].get("y")) + float(south[0].get("height"))
               - float(north[0].get("y"))) < 0.2
