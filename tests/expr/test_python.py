"""Evaluating compiled closures: exact decimals, None, the clock, links."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.errors import ExpressionError
from engine.expr import MappingContext, default_functions, parse
from engine.expr import types as T

from .conftest import order_env
from .sqlscope import User

NOW = datetime(2024, 3, 7, 9, 30)  # a Thursday



CUSTOMERS = {
    1: {"id": 1, "name": "Acme", "region": "north", "credit_limit": Decimal("5000.00"),
        "parent": 2},
    2: {"id": 2, "name": "Acme Group", "region": "east", "credit_limit": Decimal("90000.00"),
        "parent": None},
}
PRODUCTS = {7: {"id": 7, "name": "Bolt", "stock_qty": 40}}
RECORD = {
    "id": 10, "number": "SO-1", "owner": "ann", "state": "draft", "customer": 1,
    "order_date": date(2024, 3, 1), "due_date": date(2024, 3, 9), "total": Decimal("1234.50"),
    "discount": Decimal("0.125"), "rate": Decimal("1.5"), "qty": 3, "note": "rush",
    "urgent": True, "channel": "phone", "created_at": datetime(2024, 3, 1, 8, 0),
    "lines": [{"qty": 2, "price": Decimal("10.00"), "amount": Decimal("20.00"), "product": 7},
              {"qty": 1, "price": Decimal("0.10"), "amount": Decimal("0.10"), "product": 7},
              {"qty": None, "price": None, "amount": None, "product": None}],
}
USERS = {"ann": User("ann", "ann@x.io", manager="bob", roles=("sales",)),
         "bob": User("bob", "bob@x.io", roles=("sales_manager",))}


def loads():
    seen = []

    def loader(form, rid):
        seen.append((form, rid))
        return {"customer": CUSTOMERS, "product": PRODUCTS}[form].get(rid)
    return loader, seen


def run(text, values=None, env=None, user="ann", **ctx):
    loader, _ = loads()
    fn = parse(text).compile_python(env or order_env(), FUNCTIONS)
    c = MappingContext(RECORD if values is None else values, user=USERS.get(user),
                       loader=loader, clock=lambda: NOW, users=USERS.get, **ctx)
    return fn(c)


FUNCTIONS = default_functions()


@pytest.mark.parametrize("text, expected", [
    ("0.1 + 0.2", Decimal("0.3")),
    ("0.1 + 0.2 == 0.3", True),
    ("total * discount", Decimal("154.3125")),
    ("total * qty", Decimal("3703.50")),
    ("7 / 2", Decimal("3.5")),
    ("7 // 2", 3),
    ("-7 // 2", -4),
    ("-7 % 3", 2),
    ("-7.5 % 2", Decimal("0.5")),
    ("2 ** 10", 1024),
    ("1.5 ** 2", Decimal("2.25")),
    ("due_date - order_date", 8),
    ("due_date + 1", date(2024, 3, 10)),
    ("3 + due_date", date(2024, 3, 12)),
    ("note + '!'", "rush!"),
    ("customer.region", "north"),
    ("customer.parent.region", "east"),
    ("customer.parent.parent.region", None),
    ("lines.amount", [Decimal("20.00"), Decimal("0.10"), None]),
    ("lines.product.name", ["Bolt", "Bolt", None]),
    ("sum(lines.amount)", Decimal("20.10")),
    ("count(lines)", 3),
    ("count(lines.qty)", 2),
    ("avg(lines.qty)", Decimal("1.5")),
    ("min(lines.amount)", Decimal("0.10")),
    ("max(total, 2000)", Decimal("2000")),
    ("min(None, 3, 1)", 1),
    ("round(total * discount, 2)", Decimal("154.31")),
    ("round(2.5)", Decimal("3")),
    ("round(-2.5)", Decimal("-3")),
    ("round(qty)", 3),
    ("abs(-total)", Decimal("1234.50")),
    ("len(note)", 4),
    ("coalesce(None, note)", "rush"),
    ("days_between(order_date, due_date)", 8),
    ("add_days(due_date, -9)", date(2024, 2, 29)),
    ("month_start(due_date)", date(2024, 3, 1)),
    ("week_start(due_date)", date(2024, 3, 4)),
    ("year(due_date) * 10 + quarter(due_date)", 20241),
    ("month(created_at)", 3),
    ("upper(note)", "RUSH"),
    ("contains(note, 'us')", True),
    ("has_role('sales')", True),
    ("has_role('admin')", False),
    ("user.name", "ann"),
    ("user", "ann"),
    ("user.manager.email", "bob@x.io"),
    ("owner.email", "ann@x.io"),
    ("owner == user.name", True),
    ("channel in ['phone', 'email']", True),
    ("'us' in note", True),
    ("1 < qty <= 3 < total", True),
    ("note and urgent", True),
    ("0 or ''", False),
    ("not note", False),
    ("'a' if urgent else 'b'", "a"),
    ("due_date >= '2024-03-09'", True),
    ("today()", date(2024, 3, 7)),
    ("now()", NOW),
    ("due_date <= today() + 3", True),
    ("total >= 1000 and customer.region in ['north', 'east'] and due_date <= today() + 3", True),
])
def test_values(text, expected):
    result = run(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("text, expected", [
    ("total + 1", None),
    ("total * discount", None),
    ("total > 5", False),
    ("total <= 5", False),
    ("not total > 5", True),
    ("total == None", True),
    ("total != None", False),
    ("total == rate", True),
    ("total != 3", True),
    ("note in ['a']", False),
    ("note not in ['a']", True),
    ("customer.region", None),
    ("sum(lines.amount)", Decimal(0)),
    ("count(lines)", 0),
    ("max(lines.amount)", None),
    ("avg(lines.qty)", None),
    ("round(total, 2)", None),
    ("due_date + 1", None),
    ("days_between(due_date, order_date)", None),
    ("contains(note, 'a')", False),
    ("coalesce(total, 0)", Decimal(0)),
])
def test_none__propagates_like_sql(text, expected):
    result = run(text, values={})
    assert result == expected
    assert type(result) is type(expected)


def test_division_by_zero__is_an_error_at_the_operator():
    with pytest.raises(ExpressionError) as info:
        run("total / (qty - 3)")
    assert (info.value.message, info.value.offset) == ("division by zero", 6)


def test_produced_text__is_capped():
    values = dict(RECORD, note="x" * 6000)
    with pytest.raises(ExpressionError) as info:
        run("note + note", values)
    assert info.value.message == "the result would be longer than 10000"


def test_repetition_at_run_time__is_capped(functions):
    env = order_env(n=T.t(T.ANY), s=T.t(T.ANY))
    fn = parse("s * n").compile_python(env, functions)
    assert fn(MappingContext({"s": "ab", "n": 3})) == "ababab"
    with pytest.raises(ExpressionError):
        fn(MappingContext({"s": "ab", "n": 10 ** 9}))


def test_clock_is_read_from_the_context_so_it_can_be_frozen():
    assert run("today()") == date(2024, 3, 7)
    fn = parse("today() - 1").compile_python(order_env(), FUNCTIONS)
    assert fn(MappingContext({}, clock=lambda: datetime(2000, 1, 1))) == date(1999, 12, 31)


def test_links__are_loaded_once_per_context():
    loader, seen = loads()
    fn = parse("customer.region + customer.name + customer.parent.name").compile_python(
        order_env(), FUNCTIONS)
    assert fn(MappingContext(RECORD, loader=loader)) == "northAcmeAcme Group"
    assert seen == [("customer", 1), ("customer", 2)]


def test_line_and_target__read_as_row_and_link():
    env = order_env(line=T.row({"qty": T.t(T.INTEGER)}), target=T.link("product"))
    fn = parse("target.stock_qty - line.qty").compile_python(env, FUNCTIONS)
    loader, _ = loads()
    assert fn(MappingContext({"line": {"qty": 5}, "target": 7}, loader=loader)) == 35


def test_stored_strings_and_floats__are_read_as_their_type():
    values = {"total": "17.15", "rate": 0.1, "due_date": "2024-01-31"}
    assert run("total + rate", values) == Decimal("17.25")
    assert run("due_date + 1", values) == date(2024, 2, 1)


def test_compiled_closure__is_cached_per_env_and_functions():
    e, env = parse("total + 1"), order_env()
    assert e.compile_python(env, FUNCTIONS) is e.compile_python(env, FUNCTIONS)
    assert e.compile_python(order_env(), FUNCTIONS) is not e.compile_python(env, FUNCTIONS)


def test_plugin_functions__register_per_registry():
    mine = default_functions()
    mine.register("double", lambda x: None if x is None else x * 2,
                  lambda args: args[0])
    assert parse("double(total)").compile_python(order_env(), mine)(
        MappingContext(RECORD)) == Decimal("2469.00")
    assert "double" not in default_functions()
    with pytest.raises(ExpressionError, match="unknown function 'double'"):
        parse("double(total)").check(order_env(), default_functions())
