"""Each report feature against the same question asked in hand-written SQL, on every backend."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.errors import BadParameter, PermissionDenied


def hand(eng, text: str, **params) -> list[tuple]:
    with eng.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(text), params)]


def month_sql(eng, col: str) -> str:
    if eng.db.dialect == "postgresql":
        return f"CAST(date_trunc('month', {col}) AS DATE)"
    return f"date({col}, 'start of month')"


def as_date(v):
    return v if isinstance(v, date) or v is None else date.fromisoformat(str(v)[:10])


def money(v):
    return None if v is None else Decimal(int(v)).scaleb(-2)


def test_grouped_by_month_and_region_two_links_away__matches_hand_sql(reng, seeded, ru):
    res = reng.report(ru["root"], "orders_by_month_region", {"since": "2025-12-01"})
    rows = hand(reng, f"""
        SELECT {month_sql(reng, 'o.order_date')} AS m, r.name, count(*), sum(o.total),
               max(o.total), min(o.order_date)
        FROM t_sales_order o LEFT JOIN t_customer c ON c._id = o.customer
             LEFT JOIN t_region r ON r._id = c.region
        WHERE (o.channel IS NULL OR o.channel <> 'store') AND o.order_date >= :since
        GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST""", since=date(2025, 12, 1))
    expected = [(as_date(m), reg, n, money(s), money(mx), as_date(mn)) for m, reg, n, s, mx, mn in rows]
    got = [(r[0], r[1], r[2], r[3], r[5], r[6]) for r in res.rows]
    assert got == expected
    assert len(got) > 5
    assert all(isinstance(r[3], Decimal) and isinstance(r[0], date) for r in res.rows)
    for row in res.rows:  # avg is sum / count, shown to 6 places
        assert abs(row[4] - row[3] / row[2]) < Decimal("0.000001")


def test_until_param__narrows_the_range(reng, seeded, ru):
    res = reng.report(ru["root"], "orders_by_month_region", {"since": "2025-12-01",
                                                             "until": "2025-12-31"})
    assert {r[0] for r in res.rows} == {date(2025, 12, 1)}


def test_line_items_through_two_links__matches_hand_sql(reng, seeded, ru):
    res = reng.report(ru["root"], "line_sales", {"min_units": 10})
    rows = hand(reng, """
        SELECT p.category, r.name, sum(l.qty), sum(l.amount), count(DISTINCT o._number),
               count(*), min(l.price)
        FROM t_sales_order__lines l JOIN t_sales_order o ON o._id = l._record_id
             LEFT JOIN t_customer c ON c._id = o.customer LEFT JOIN t_region r ON r._id = c.region
             LEFT JOIN t_product p ON p._id = l.product
        GROUP BY p.category, r.name HAVING sum(l.qty) >= 10
        ORDER BY sum(l.amount) DESC, p.category NULLS FIRST, r.name NULLS FIRST""")
    expected = [(cat, reg, int(q), money(a), n, k, money(mn)) for cat, reg, q, a, n, k, mn in rows]
    assert [tuple(r[:7]) for r in res.rows] == expected
    for r in res.rows:
        assert abs(r[7] - r[3] / r[4]) < Decimal("0.000001")  # revenue / orders
    assert any(r[0] is None for r in res.rows) or any(r[1] is None for r in res.rows)


def test_date_buckets__year_quarter_week_start(reng, seeded, ru):
    res = reng.report(ru["root"], "date_buckets")
    expected = {}
    for o in seeded["orders"]:
        d = o.data["order_date"]
        week = date.fromordinal(d.toordinal() - d.weekday())
        key = (d.year, (d.month + 2) // 3, week)
        n, s = expected.get(key, (0, Decimal(0)))
        expected[key] = (n + 1, s + (o.data["total"] or 0))
    assert [(r[0], r[1], r[2]) for r in res.rows] == sorted(expected, key=lambda k: k[2])
    assert {(r[0], r[1], r[2]): (r[3], r[4]) for r in res.rows} == expected


def test_listing_with_line_aggregates__order_limit_and_money_param(reng, seeded, ru):
    res = reng.report(ru["root"], "big_orders", {"min_total": "250.00", "via": "email"})
    rows = hand(reng, """
        SELECT o._number, c.name, r.zone, o.order_date, o.total,
               (SELECT count(*) FROM t_sales_order__lines l WHERE l._record_id = o._id),
               (SELECT coalesce(sum(l.qty), 0) FROM t_sales_order__lines l WHERE l._record_id = o._id)
        FROM t_sales_order o LEFT JOIN t_customer c ON c._id = o.customer
             LEFT JOIN t_region r ON r._id = c.region
        WHERE o.total >= 25000 AND o.channel = 'email'
        ORDER BY o.total DESC, o._number LIMIT 5""")
    expected = [(n, c, z, as_date(d), money(t), k, int(q)) for n, c, z, d, t, k, q in rows]
    assert res.rows == expected
    assert res.rows and res.column_names() == ["number", "customer", "zone", "order_date",
                                                "total", "items", "units"]


def test_totals_without_group_by__one_row(reng, seeded, ru):
    res = reng.report(ru["root"], "totals")
    (n, s, c), = hand(reng, "SELECT count(*), sum(total), count(DISTINCT customer) FROM t_sales_order")
    assert res.rows == [(n, money(s), c)]
    assert res.rows[0][1] == sum((o.data["total"] or 0) for o in seeded["orders"])


def test_row_permissions__a_sales_user_aggregates_only_own_orders(reng, seeded, ru):
    res = reng.report(ru["alice"], "totals")
    (n, s, c), = hand(reng, "SELECT count(*), sum(total), count(DISTINCT customer) "
                            "FROM t_sales_order WHERE _owner = 'alice'")
    assert res.rows == [(n, money(s), c)]
    assert n < len(seeded["orders"])
    lines = reng.report(ru["bob"], "line_sales", {"min_units": 0})
    (q,), = hand(reng, "SELECT sum(l.qty) FROM t_sales_order__lines l JOIN t_sales_order o "
                       "ON o._id = l._record_id WHERE o._owner = 'bob'")
    assert sum(r[2] for r in lines.rows) == q
    everyone = reng.report(ru["sam"], "totals")  # has_role('sales_manager') in the rows rule
    assert everyone.rows[0][0] == len(seeded["orders"])


def test_bad_parameter__is_a_400_naming_the_parameter(reng, ru):
    with pytest.raises(BadParameter) as e:
        reng.report(ru["root"], "orders_by_month_region", {"since": "last tuesday"})
    assert e.value.name == "since" and e.value.status == 400
    assert str(e.value) == "parameter 'since': expected a date as YYYY-MM-DD"
    with pytest.raises(BadParameter) as e:
        reng.report(ru["root"], "big_orders", {"via": "fax"})
    assert e.value.name == "via"
    with pytest.raises(BadParameter) as e:
        reng.report(ru["root"], "big_orders", {"min_total": "12.345"})
    assert e.value.name == "min_total"
    with pytest.raises(BadParameter) as e:
        reng.report(ru["root"], "totals", {"sinse": "2026-01-01"})
    assert e.value.name == "sinse"


def test_params_reach_sql_only_as_bound_values(reng, seeded, ru):
    sql = reng.report_sql(ru["root"], "big_orders", {"min_total": "987.65", "via": "phone"})
    assert "98765" not in sql and "phone" not in sql and "987.65" not in sql
    evil = "x'); DROP TABLE records; --"
    with pytest.raises(BadParameter):
        reng.report(ru["root"], "big_orders", {"via": evil})
    assert hand(reng, "SELECT count(*) FROM records")[0][0] > 0


def test_default_param__start_of_year_from_the_clock(reng, seeded, ru):
    res = reng.report(ru["root"], "orders_by_month_region")
    assert res.params["since"] == date(2026, 1, 1)
    assert min(r[0] for r in res.rows) >= date(2026, 1, 1)


def test_dashboard__shared_params_reach_every_tile_that_declares_them(reng, seeded, ru):
    res = reng.report(ru["root"], "sales_dashboard", {"since": "2025-12-01"})
    assert [t.report for t in res.tiles] == ["orders_by_month_region", "line_sales", "totals"]
    assert res.tiles[0].params["since"] == date(2025, 12, 1)
    assert res.tiles[0].rows == reng.report(ru["root"], "orders_by_month_region",
                                            {"since": "2025-12-01"}).rows
    assert res.tiles[1].params == {"min_units": 1}
    assert res.as_json()["tiles"][2]["rows"][0][0] == len(seeded["orders"])


def test_report_permissions__readers_of_the_source(reng, ru):
    reng.add_user("nobody", [])
    with pytest.raises(PermissionDenied):
        reng.report(reng.user("nobody"), "totals")


def test_json__decimals_as_strings_dates_iso(reng, seeded, ru):
    out = reng.report(ru["root"], "orders_by_month_region", {"since": "2025-12-01"}).as_json()
    assert set(out) >= {"columns", "rows"}
    row = out["rows"][0]
    assert row[0] == "2025-12-01" and isinstance(row[3], str) and "." in row[3]
    assert out["columns"][3] == {"name": "revenue", "label": "Revenue", "type": "money",
                                 "role": "measure"}
