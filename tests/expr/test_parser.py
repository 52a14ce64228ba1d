"""The parser's whitelist: every sandbox escape is refused, pointing at the spot."""
from decimal import Decimal

import pytest

from engine.errors import ExpressionError
from engine.expr import parse


def refused(text: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    return info.value


@pytest.mark.parametrize("text, message, offset", [
    ("x.__class__", "names with '__' are not allowed", 2),
    ("__import__('os')", "names with '__' are not allowed", 0),
    ("(1).real", "attributes are only allowed on field names, like project.region", 4),
    ("f().x", "attributes are only allowed on field names, like project.region", 4),
    ("'a'.upper()", "only registered functions can be called, like round(total, 2)", 0),
    ("lines[0]", "subscripts like x[0] are not allowed", 0),
    ("total + (lambda: 1)()", "only registered functions can be called, like round(total, 2)", 9),
    ("lambda: 1", "lambda is not allowed", 0),
    ("[x for x in lines]", "comprehensions are not allowed", 0),
    ("sum(x for x in lines)", "generator expressions are not allowed", 3),
    ("f'{total}'", "f-strings are not allowed", 0),
    ("(y := 1)", "':=' is not allowed", 1),
    ("sum(*lines)", "'*' unpacking is not allowed", 4),
    ("round(total, ndigits=2)", "keyword arguments are not allowed", 13),
    ("total ** n", "'**' needs a whole-number exponent from 0 to 100", 9),
    ("total ** 101", "'**' needs a whole-number exponent from 0 to 100", 9),
    ("2 ** 1.5", "'**' needs a whole-number exponent from 0 to 100", 5),
    ("'ab' * 5001", "repeating text or a list would make it longer than 10000", 5),
    ("9999 * 'ab'", "repeating text or a list would make it longer than 10000", 5),
    ("{'a': 1}", "dictionaries are not allowed", 0),
    ("{1}", "sets are not allowed", 0),
    ("a if b", "syntax error: expected 'else' after 'if' expression", 0),
    ("total is None", "use '==' or '!=' instead of 'is'", 6),
    ("~total", "'~' is not allowed", 0),
    ("a & b", "bitwise operators are not allowed", 2),
    ("b'x'", "only text, numbers, True, False and None literals are allowed", 0),
    ("1j", "only text, numbers, True, False and None literals are allowed", 0),
    ("x" * 2001, "expression is longer than 2000 characters", 2000),
    ("", "expression is empty", 0),
    ("client.__dict__", "names with '__' are not allowed", 7),
    ("customer.__class__.x", "names with '__' are not allowed", 9),
])
def test_refused_constructs__say_what_and_where(text, message, offset):
    err = refused(text)
    assert (err.message, err.offset) == (message, offset)


def test_deep_nesting__refused_at_the_level_past_the_limit():
    err = refused("-" * 60 + "x")
    assert err.message == "expression is nested more than 50 levels deep"
    assert err.offset == 50


def test_syntax_error__points_at_the_bad_character():
    err = refused("total + * 2")
    assert err.message.startswith("syntax error")
    assert err.offset == 8


def test_offsets_count_characters_not_bytes():
    err = refused("'销售' + x.__y")
    assert err.offset == 9


def test_leading_blanks__are_allowed_and_still_counted_in_offsets():
    assert parse("  total > 1").paths() == {("total",)}
    assert refused("  x[0]").offset == 2


def test_allowed_constructs__parse():
    e = parse("round(total * (1 - discount), 2) if customer.region in ['north', 'east'] "
              "else -total // 3 % 2 ** 2")
    assert e.paths() == {("total",), ("discount",), ("customer", "region")}
    assert e.functions() == {"round"}


def test_float_literals_become_exact_decimals_from_the_source_text():
    e = parse("0.10000000000000000001")
    assert e.tree.value == Decimal("0.10000000000000000001")


def test_expr__equal_and_hashable_by_source():
    assert parse("a + 1") == parse("a + 1")
    assert len({parse("a + 1"), parse("a + 1"), parse("a+1")}) == 2


def test_small_literal_repetition__is_fine():
    parse("'ab' * 3")


def test_paths_of_user_and_lines():
    assert parse("sum(lines.amount) > 0 and user.name == owner").paths() == {
        ("lines", "amount"), ("user", "name"), ("owner",)}


@pytest.mark.parametrize("text, message, offset", [
    ("(total ** 100) ** 100",
     "this calculation could give a number of more than 4000 digits (each field counts as 19)", 15),
    ("(((9 ** 100) ** 100) ** 100) ** 100",
     "this calculation could give a number of more than 4000 digits (each field counts as 19)", 13),
    ("total ** 100 * total ** 100 * total ** 100",
     "this calculation could give a number of more than 4000 digits (each field counts as 19)", 28),
    ("('ab' * 100) * 100", "repeating text or a list would make it longer than 10000", 13),
    ("[1, 2] * 5001", "repeating text or a list would make it longer than 10000", 7),
    ("'a' * 6000 + 'b' * 6000", "joining texts or lists would make them longer than 10000", 11),
    ("abs(" * 13 + "x" + ")" * 13, "functions are nested more than 12 deep", 48),
    (" + ".join(["x ** 100"] * 10),
     "expression is too large once each 'x ** k' is written out as k factors (more than 1000 "
     "parts)", 101),
])
def test_budgets__refused_before_anything_runs_with_code_e101(text, message, offset):
    err = refused(text)
    assert (err.message, err.offset, err.code_) == (message, offset, "LOOM-E101")


def test_budgets__node_count_is_capped():
    err = refused(" or ".join(["a > 1"] * 134))
    assert err.message == "expression has more than 400 parts (names, numbers, operators and calls)"
    assert parse(" or ".join(["a > 1"] * 133)).paths() == {("a",)}


def test_budgets__numbers_times_fields_and_repetition_inside_the_limit_parse():
    assert parse("2 * total + 3 * 'ab' * 2 + [1] * 3 * 2").paths() == {("total",)}


def test_budgets__the_largest_allowed_power_of_a_field_still_parses():
    assert parse("total ** 100 > 0").paths() == {("total",)}
    assert parse("abs(" * 12 + "x" + ")" * 12).functions() == {"abs"}
