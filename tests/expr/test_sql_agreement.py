"""The SQL compiled from an expression gives what the Python closure gives.

Parametrized over the configured backends as tests/conftest.py's
`database_url` is: SQLite always, PostgreSQL when LOOM_TEST_DATABASE_URL is
set (an unreachable server then fails the run; nothing is ever skipped).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.errors import ExpressionError
from engine.expr import MappingContext, default_functions, parse, to_python
from engine.expr.sql import truth, where_form

from tests.conftest import BACKENDS, PG_URL

from .conftest import CUSTOMER, LINE, ORDER, PRODUCT, order_env
from .sqlscope import TestScope, User, make_tables, stored

NOW = datetime(2024, 3, 7, 9, 30)
USER = User("ann", "ann@x.io", roles=("sales",))
FUNCTIONS = default_functions()
ENV = order_env()

CUSTOMERS = [
    {"id": 1, "name": "Acme", "region": "north", "credit_limit": Decimal("5000.00"),
     "parent": 2},
    {"id": 2, "name": "Acme Group", "region": "east", "credit_limit": Decimal("90000.00"),
     "parent": None},
    {"id": 3, "name": "Solo", "region": None, "credit_limit": None, "parent": None},
]
PRODUCTS = [{"id": 7, "name": "Bolt", "stock_qty": 40}]
ORDERS = [
    {"id": 1, "number": "SO-1", "owner": "ann", "state": "draft", "customer": 1,
     "order_date": date(2024, 3, 1), "due_date": date(2024, 3, 9),
     "total": Decimal("1234.50"), "discount": Decimal("0.125"), "rate": Decimal("1.5"),
     "qty": 3, "note": "rush", "urgent": True, "channel": "phone",
     "created_at": datetime(2024, 3, 1, 8, 0)},
    {"id": 2, "number": "SO-2", "owner": "bob", "state": "approved", "customer": 2,
     "order_date": date(2023, 12, 31), "due_date": date(2024, 1, 1),
     "total": Decimal("-99.99"), "discount": Decimal("0"), "rate": Decimal("-0.0001"),
     "qty": 0, "note": "", "urgent": False, "channel": "online",
     "created_at": datetime(2023, 12, 31, 23, 59, 59)},
    {"id": 3, "number": "SO-3", "owner": None, "state": "draft", "customer": None,
     "order_date": None, "due_date": None, "total": None, "discount": None, "rate": None,
     "qty": None, "note": None, "urgent": None, "channel": None, "created_at": None},
    {"id": 4, "number": "SO-4", "owner": "ann", "state": "shipped", "customer": 3,
     "order_date": date(2024, 2, 29), "due_date": date(2024, 3, 10),
     "total": Decimal("4999.95"), "discount": Decimal("0.3333"), "rate": Decimal("2.0001"),
     "qty": -7, "note": "Straße", "urgent": True, "channel": "store",
     "created_at": datetime(2024, 3, 6, 12, 0, 0)},
]
LINES = [
    {"id": 1, "order_id": 1, "qty": 2, "price": Decimal("10.00"), "amount": Decimal("20.00"),
     "product": 7},
    {"id": 2, "order_id": 1, "qty": 1, "price": Decimal("0.10"), "amount": Decimal("0.10"),
     "product": 7},
    {"id": 3, "order_id": 1, "qty": None, "price": None, "amount": None, "product": None},
    {"id": 4, "order_id": 2, "qty": 5, "price": Decimal("-3.33"), "amount": Decimal("-16.65"),
     "product": 7},
    {"id": 5, "order_id": 4, "qty": 1, "price": Decimal("0.01"), "amount": Decimal("0.01"),
     "product": None},
]

EXPRESSIONS = [
    "total", "total + 1", "total - rate", "total * discount", "total * qty", "qty * 2 + 1",
    "-total", "total / 3", "qty / 2", "total / qty", "qty // 2", "total // 7", "total % 7",
    "qty % 3", "rate ** 2", "qty ** 3", "total > 1000", "0.1 + 0.2 == 0.3",
    "total >= 1000 and customer.region in ['north', 'east'] and due_date <= today() + 3",
    "due_date >= '2024-03-01'", "due_date - order_date", "due_date + 7", "order_date - 1",
    "created_at >= '2024-03-01 00:00'", "note + '!'", "note == 'rush'", "note != 'rush'",
    "total == None", "total != None", "customer.region", "customer.parent.region",
    "customer.credit_limit - total", "channel in ['phone', 'email']",
    "channel not in ['phone']", "'us' in note", "urgent", "not urgent",
    "urgent and total > 0", "note or urgent", "total if urgent else 0",
    "total if total < total else (None if total < total else None)", "None if urgent else qty",
    "'big' if total > 1000 else 'small'", "sum(lines.amount)", "count(lines)",
    "count(lines.qty)", "max(lines.amount)", "min(lines.qty)", "avg(lines.amount)",
    "sum(lines.amount) == total", "sum(lines.qty * lines.price)" if False else "sum(lines.qty)",
    "max(lines.product.name)", "round(total * discount, 2)", "round(total, -2)",
    "round(total / 3, 2)", "abs(total)", "len(note)", "coalesce(note, 'none')",
    "coalesce(total, 0) + 1", "days_between(order_date, due_date)",
    "days_between(created_at, due_date)", "add_days(due_date, qty)", "month_start(due_date)",
    "week_start(due_date)", "start_of_year(created_at)", "year(due_date)", "month(created_at)",
    "quarter(due_date)", "upper(number)", "lower(number + note)", "contains(note, 'us')",
    "has_role('sales')", "has_role('admin') or owner == user.name", "user.email", "today()",
    "now()", "max(total, 500)", "min(qty, 2, None)", "sum([total, 1, None])",
    "1 < qty <= 3", "not (total > 5)", "discount * 100 >= 12.5", "1 - discount",
    "total * (1 - discount)", "number + '/' + state",
]


# -- databases -----------------------------------------------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def db(request):
    """(engine, scope, select-by-id helper) with the sample rows loaded."""
    if request.param == "sqlite":
        engine = sa.create_engine("sqlite://")
        schema = None
    else:
        # no try/except: a configured but unreachable server fails the run
        engine = sa.create_engine(PG_URL)
        schema = f"loom_expr_{uuid.uuid4().hex[:10]}"
        with engine.begin() as conn:
            conn.execute(sa.schema.CreateSchema(schema))
    metadata = sa.MetaData(schema=schema)
    tables = make_tables(metadata)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for name, rows, types in (("customer", CUSTOMERS, CUSTOMER), ("product", PRODUCTS, PRODUCT),
                                  ("sales_order", ORDERS, ORDER), ("lines", LINES, LINE)):
            conn.execute(tables[name].insert(), [
                {k: stored(v, types.get(k, ORDER["id"])) for k, v in r.items()} for r in rows])
    scope = TestScope(engine.dialect.name, tables, user=USER, now=NOW)
    try:
        yield engine, scope, tables
    finally:
        if schema:
            with engine.begin() as conn:
                conn.execute(sa.schema.DropSchema(schema, cascade=True))
        engine.dispose()


def python_values(text: str) -> list:
    fn = parse(text).compile_python(ENV, FUNCTIONS)
    customers = {c["id"]: c for c in CUSTOMERS}
    products = {p["id"]: p for p in PRODUCTS}

    def loader(form, rid):
        return {"customer": customers, "product": products}[form].get(rid)

    out = []
    for order in ORDERS:
        values = dict(order, lines=[ln for ln in LINES if ln["order_id"] == order["id"]])
        ctx = MappingContext(values, user=USER, loader=loader, clock=lambda: NOW)
        try:
            out.append(fn(ctx))
        except ExpressionError as exc:
            assert exc.message == "division by zero"
            out.append("division by zero")
    return out


def sql_values(db, text: str) -> tuple[list, object]:
    engine, scope, tables = db
    term = parse(text).compile_sql(scope, FUNCTIONS)
    order = tables["sales_order"]
    query = sa.select(order.c.id, term.expr.label("v")).order_by(order.c.id)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [to_python(r.v, term) for r in rows], term


def same(py, sql, approximate: bool) -> bool:
    if py == "division by zero":
        return True  # SQL divides by NULL instead (documented); what follows is unspecified
    if approximate and isinstance(py, Decimal) and isinstance(sql, Decimal):
        return abs(py - sql) <= Decimal("1e-9") * max(1, abs(py))
    return py == sql and (py is None or sql is None or type(py) is type(sql)
                          or {type(py), type(sql)} <= {int, Decimal})


@pytest.mark.parametrize("text", EXPRESSIONS)
def test_sql_agrees_with_python(db, text):
    expected = python_values(text)
    got, term = sql_values(db, text)
    pairs = list(zip(expected, got))
    assert all(same(p, s, term.scale is None) for p, s in pairs), (text, pairs)


def test_exact_decimals_stay_exact_in_sql(db):
    got, term = sql_values(db, "total * discount + 0.0001")
    assert term.scale == 6
    assert got[0] == Decimal("154.312600")


def test_literals_are_bound_parameters_never_sql_text(db):
    engine, scope, _ = db
    term = parse("note == 'x'' OR 1=1 --' or total > 123456").compile_sql(scope, FUNCTIONS)
    sql = str(term.expr.compile(engine))
    assert "OR 1=1" not in sql and "123456" not in sql


def test_lists_outside_aggregates__are_refused_in_sql(db):
    _, scope, _ = db
    with pytest.raises(ExpressionError, match="is a list; in SQL use it inside"):
        parse("lines.amount").compile_sql(scope, FUNCTIONS)


# -- random expressions ----------------------------------------------------------------

NUMBERS = ["total", "discount", "rate", "qty", "customer.credit_limit", "sum(lines.amount)",
           "count(lines)"]
LITERALS = st.sampled_from(["0", "1", "-2", "3", "0.5", "100", "0.125", "None"])


def _arith(depth: int):
    leaf = st.one_of(st.sampled_from(NUMBERS), LITERALS)
    if depth == 0:
        return leaf
    sub = _arith(depth - 1)
    return st.one_of(
        leaf,
        st.builds(lambda a, op, b: f"({a} {op} {b})", sub, st.sampled_from(
            ["+", "-", "*", "//", "%"]), sub),
        st.builds(lambda a: f"-{a}", sub),
        st.builds(lambda c, a, b: f"({a} if {c} else {b})", _cond(0), sub, sub),
    )


def _cond(depth: int):
    num = _arith(depth)
    cmp = st.builds(lambda a, op, b: f"{a} {op} {b}", num,
                    st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), num)
    if depth == 0:
        return cmp
    sub = _cond(depth - 1)
    return st.one_of(cmp, st.builds(lambda a, op, b: f"({a} {op} {b})", sub,
                                    st.sampled_from(["and", "or"]), sub),
                     st.builds(lambda a: f"not ({a})", sub))


# A fixed seed keeps CI deterministic; a case a random run once found is added to
# EXPRESSIONS above (`… else (None if … else None)` typed its NULLs as text on PostgreSQL).
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.one_of(_arith(2), _cond(2)))
def test_random_expressions__sql_agrees_with_python(db, text):
    try:
        parse(text).check(ENV, FUNCTIONS)
    except ExpressionError:
        assume(False)
    expected = python_values(text)
    got, term = sql_values(db, text)
    assert all(same(p, s, term.scale is None) for p, s in zip(expected, got)), \
        (text, list(zip(expected, got)))


# -- as a filter: WHERE selects the rows whose condition Python finds true ------------------

FILTERS = [
    "customer == 1", "customer == 1 and state == 'draft'", "not (customer == 1)",
    "customer == 2 or note == 'rush'", "not (note == 'rush' and customer == 1)",
    "state == 'draft' and not (qty == 3)", "customer.region == 'north' or urgent",
    "total == 1234.5 and owner == user.name", "qty == None or channel == 'store'",
    "(customer == 1) == (state == 'draft')", "not (customer != 1 or qty > 0)",
    "due_date == '2024-03-09'", "not (due_date == '2024-03-09')", "urgent == True",
    "not (urgent == False)", "created_at == '2024-03-06 12:00'", "total == 4999.95",
    "discount == 0", "order_date == today() - 7", "customer.parent == 2 or channel == 'online'",
]


def filtered_ids(db, text: str) -> list[int]:
    engine, scope, tables = db
    term = parse(text).compile_sql(scope, FUNCTIONS)
    order = tables["sales_order"]
    query = sa.select(order.c.id).where(where_form(truth(term))).order_by(order.c.id)
    with engine.connect() as conn:
        return [r.id for r in conn.execute(query)]


def python_ids(text: str) -> list[int]:
    return [o["id"] for o, v in zip(ORDERS, python_values(text))
            if v != "division by zero" and v]


@pytest.mark.parametrize("text", FILTERS)
def test_as_a_filter__sql_selects_the_rows_python_holds_true(db, text):
    assert filtered_ids(db, text) == python_ids(text), text


@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=_cond(2))
def test_random_conditions_as_filters__sql_selects_the_rows_python_holds_true(db, text):
    try:
        parse(text).check(ENV, FUNCTIONS)
    except ExpressionError:
        assume(False)
    assume("//" not in text and "%" not in text)  # division by zero: SQL's answer differs
    assert filtered_ids(db, text) == python_ids(text), text


def test_equality_with_a_value_compiles_to_an_indexable_equals(db):
    # IS NOT DISTINCT FROM is never served by an index on PostgreSQL; `=` is
    engine, scope, _ = db
    term = parse("customer == 1 and note == 'rush'").compile_sql(scope, FUNCTIONS)
    sql = str(where_form(truth(term)).compile(engine)).lower()
    assert "distinct" not in sql and "coalesce" not in sql and " is " not in sql, sql
