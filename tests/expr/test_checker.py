"""Static types: what is inferred, and the exact message and offset of each error."""
import pytest

from engine.errors import ExpressionError
from engine.expr import parse
from engine.expr import types as T

from .conftest import order_env


@pytest.mark.parametrize("text, kind", [
    ("total + 1", T.MONEY),
    ("total * discount", T.MONEY),
    ("total * qty", T.MONEY),
    ("total / total", T.DECIMAL),
    ("qty / 2", T.DECIMAL),
    ("qty // 2", T.INTEGER),
    ("discount + qty", T.PERCENT),
    ("rate + discount", T.DECIMAL),
    ("total + rate", T.MONEY),
    ("due_date + 3", T.DATE),
    ("due_date - order_date", T.INTEGER),
    ("note + 'x'", T.TEXT),
    ("customer.region", T.TEXT),
    ("customer.parent.parent.credit_limit", T.MONEY),
    ("user.name", T.TEXT),
    ("user.manager.email", T.TEXT),
    ("sum(lines.amount)", T.MONEY),
    ("count(lines)", T.INTEGER),
    ("avg(lines.qty)", T.DECIMAL),
    ("max(lines.amount)", T.MONEY),
    ("max(total, 0)", T.MONEY),
    ("note and total or urgent", T.BOOLEAN),
    ("total if urgent else None", T.MONEY),
    ("total if urgent else 0", T.MONEY),
    ("due_date >= '2024-01-01'", T.BOOLEAN),
    ("channel in ['phone', 'email']", T.BOOLEAN),
    ("'ab' in note", T.BOOLEAN),
    ("round(total * discount, 2)", T.MONEY),
    ("today() + 3", T.DATE),
    ("owner == user.name", T.BOOLEAN),
    ("coalesce(note, '')", T.TEXT),
    ("days_between(order_date, due_date)", T.INTEGER),
    ("month_start(created_at)", T.DATE),
])
def test_inferred_types(text, kind, functions):
    assert parse(text).check(order_env(), functions).kind == kind


def test_table_column__is_a_list_of_the_column_type(functions):
    assert parse("lines.amount").check(order_env(), functions) == T.list_of(T.t(T.MONEY))
    assert parse("lines.product.name").check(order_env(), functions) == T.list_of(T.t(T.TEXT))


def test_row_and_target_names(functions):
    env = order_env(line=T.row({"qty": T.t(T.INTEGER), "product": T.link("product")}),
                    target=T.link("product"))
    assert parse("target.stock_qty - line.qty").check(env, functions).kind == T.INTEGER


@pytest.mark.parametrize("text, message, offset", [
    ("due_date + note", "cannot apply '+' to date and text", 9),
    ("total + customer", "cannot apply '+' to money and link to customer", 6),
    ("note * 2", "cannot apply '*' to text and integer", 5),
    ("note - 'a'", "cannot apply '-' to text and text", 5),
    ("-note", "cannot apply '-' to text", 0),
    ("due_date >= 'abc'", "'abc' is not a date (write 'YYYY-MM-DD')", 12),
    ("'2024-13-01' < due_date", "'2024-13-01' is not a date (write 'YYYY-MM-DD')", 0),
    ("due_date >= note", "cannot compare date with text", 9),
    ("channel == 'fax'", "'fax' is not one of the options phone, email, online, store", 11),
    ("channel in ['phone', 'fax']", "'fax' is not one of the options phone, email, online, store",
     21),
    ("customer.region != 'nort'", "'nort' is not one of the options north, east, south, west",
     19),
    ("total in 5", "'in' needs a list or text on the right, not integer", 6),
    ("totl > 5", "unknown name 'totl'; did you mean 'total'?", 0),
    ("xyz > 5", "unknown name 'xyz'", 0),
    ("customer.regoin", "customer has no field 'regoin'; did you mean 'region'?", 9),
    ("customer.parent.regoin", "customer.parent has no field 'regoin'; did you mean 'region'?",
     16),
    ("total.amount", "total is money and has no field 'amount'", 6),
    ("user.nmae", "user has no field 'nmae'; did you mean 'name'?", 5),
    ("lines.amont", "lines has no field 'amont'; did you mean 'amount'?", 6),
    ("sum(note)", "sum(): needs a list such as lines.amount, not text", 0),
    ("rond(total)", "unknown function 'rond'; did you mean 'round'?", 0),
    ("round(total, 1, 2)", "round(): takes 1 to 2 arguments, got 3", 0),
    ("x + days_between(due_date, 3)", "unknown name 'x'", 0),
    ("1 + days_between(due_date, 3)", "days_between(): argument 2 must be a date, not integer",
     4),
    ("total if urgent else note", "both branches of 'if' must have the same type, not money "
     "and text", 0),
    ("[1, 'a']", "a list cannot mix integer and text", 4),
    ("due_date < created_at", "cannot compare date with datetime", 9),
    ("total == customer", "cannot compare money with link to customer", 6),
])
def test_type_errors__exact_message_and_offset(text, message, offset, functions):
    with pytest.raises(ExpressionError) as info:
        parse(text).check(order_env(), functions)
    assert (info.value.message, info.value.offset) == (message, offset)


def test_null_and_any__are_compatible_with_everything(functions):
    env = order_env(p=T.t(T.ANY))
    assert parse("p + total").check(env, functions).kind == T.ANY
    assert parse("None + total").check(env, functions).kind == T.MONEY
    assert parse("due_date == None").check(env, functions).kind == T.BOOLEAN


def test_check_without_functions__uses_the_built_ins():
    assert parse("round(total)").check(order_env()).kind == T.MONEY
