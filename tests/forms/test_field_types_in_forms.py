"""Every field type's parse and validation path, through FormRuntime.prepare."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.errors import ValidationFailed


def prep(rt, services, user, **data):
    data.setdefault("title", "T")
    return rt.prepare(data, user=user, services=services)


def errors_of(rt, services, user, **data):
    with pytest.raises(ValidationFailed) as exc:
        prep(rt, services, user, **data)
    return exc.value.fields


@pytest.mark.parametrize("name, raw, expected", [
    ("title", "  Hello ", "Hello"),
    ("notes", "line 1\nline 2", "line 1\nline 2"),
    ("notes", "", None),
    ("email", "a@example.com", "a@example.com"),
    ("phone", "+86 (10) 1234-5678", "+86 (10) 1234-5678"),
    ("count", " 42 ", 42),
    ("count", 7, 7),
    ("count", 7.0, 7),
    ("count", "", None),
    ("ratio", "1.5", Decimal("1.500")),
    ("price", "19.99", Decimal("19.99")),
    ("price", 19.99, Decimal("19.99")),
    ("price", "1,234.5", Decimal("1234.50")),
    ("rate", "12.5", Decimal("0.1250")),
    ("rate", "12.5%", Decimal("0.1250")),
    ("rate", 0, Decimal("0.0000")),
    ("active", "yes", True),
    ("active", False, False),
    ("active", "0", False),
    ("due", "2024-02-29", date(2024, 2, 29)),
    ("at", "2024-03-05T10:00:00+08:00", datetime(2024, 3, 5, 2, 0)),
    ("size", "large", "large"),
    ("tags", ["red", "green", "red"], ["red", "green"]),
    ("tags", "green, red", ["green", "red"]),
    ("assignee", "bob", "bob"),
    ("contact", "1", 1),
    ("contact", {"id": 1}, 1),
    ("attachment", {"name": "a.pdf", "size": 3, "evil": "x"}, {"name": "a.pdf", "size": 3}),
])
def test_good_values__parse_to_python(kitchen, services, alice, name, raw, expected):
    assert prep(kitchen, services, alice, **{name: raw})[name] == expected


@pytest.mark.parametrize("name, raw, message", [
    ("title", "x" * 11, "at most 10 characters"),
    ("title", {"a": 1}, "expected text"),
    ("email", "not-an-email", "is not an email address"),
    ("phone", "call me", "is not a phone number"),
    ("count", "1.5", "expected a whole number"),
    ("count", True, "expected a whole number"),
    ("count", -1, "must be at least 0"),
    ("count", 101, "must be at most 100"),
    ("ratio", "1.2345", "at most 3 decimal places"),
    ("price", "abc", "expected a number"),
    ("price", "NaN", "expected a number"),
    ("price", "1e999999", "is too large"),
    ("price", "19.999", "at most 2 decimal places"),
    ("price", "-1", "must be at least 0.00"),
    ("rate", "50.01", "must be at most 50%"),
    ("rate", "12.345", "at most 2 decimal places"),
    ("active", "maybe", "expected yes or no"),
    ("due", "2024-02-30", "expected a date as YYYY-MM-DD"),
    ("at", "yesterday", "expected a date and time as YYYY-MM-DDTHH:MM"),
    ("size", "huge", "'huge' is not one of: small, large"),
    ("tags", ["blue"], "'blue' is not one of: red, green"),
    ("assignee", "mallory", "no user named mallory"),
    ("contact", "abc", "expected the id of a contact record"),
    ("contact", 7, "no contact record with id 7"),
    ("attachment", 5, "expected a file"),
])
def test_bad_values__get_their_exact_message(kitchen, services, alice, name, raw, message):
    assert errors_of(kitchen, services, alice, **{name: raw}) == {name: message}


def test_null_input__is_no_value_for_every_type(kitchen, services, alice):
    names = ["notes", "email", "phone", "count", "ratio", "price", "rate", "active", "due", "at",
             "size", "assignee", "contact", "attachment"]
    values = prep(kitchen, services, alice, **{n: None for n in names})
    assert all(values[n] is None for n in names)
    assert prep(kitchen, services, alice, tags=None)["tags"] == []


def test_required__blank_text_is_missing(kitchen, services, alice):
    assert errors_of(kitchen, services, alice, title="   ") == {"title": "is required"}


def test_unknown_input_key__is_an_error(kitchen, services, alice):
    assert errors_of(kitchen, services, alice, colour="red") == {"colour": "unknown field"}


def test_required_if__only_when_the_condition_holds(kitchen, services, alice):
    assert prep(kitchen, services, alice, kind="person")["company_name"] is None
    assert errors_of(kitchen, services, alice, kind="company") == {"company_name": "is required"}
    assert prep(kitchen, services, alice, kind="company", company_name="ACME")["company_name"] == "ACME"


def test_validate__message_of_the_first_failing_rule_in_the_users_language(kitchen, services, alice):
    assert errors_of(kitchen, services, alice, score=-2) == {"score": "Score cannot be negative"}
    zh = type(alice)("li", frozenset(), language="zh")
    services.users.add("li")
    assert errors_of(kitchen, services, zh, score=-2) == {"score": "分数不能为负"}


def test_validate__a_rule_that_errors_at_run_time_counts_as_failed(kitchen, services, alice):
    # 100 / score with score 0: division by zero
    assert errors_of(kitchen, services, alice, score=0) == {"score": "Score is too big"}
    assert prep(kitchen, services, alice, score=50)["score"] == 50


def test_validate__rules_do_not_run_on_empty_values(kitchen, services, alice):
    assert prep(kitchen, services, alice, score=None)["score"] is None


def test_percent__json_round_trips_as_the_percentage(kitchen, services, alice):
    values = prep(kitchen, services, alice, rate="12.5")
    data = kitchen.dump(values)
    assert data["rate"] == "12.50"
    assert kitchen.load(data)["rate"] == Decimal("0.1250")
    again = prep(kitchen, services, alice, rate=data["rate"])
    assert again["rate"] == Decimal("0.1250")


def test_default_and_compute__follow_a_link(kitchen, services, alice):
    values = prep(kitchen, services, alice, contact=1)
    assert values["region"] == "south"
    assert values["contact_discount"] == Decimal("0.1250")


def test_dump_and_load__are_inverse_for_every_type(kitchen, services, alice):
    values = prep(kitchen, services, alice, notes="n", email="a@b.co", count=3, ratio="1.25",
                  price="2.50", rate="7", active=True, due="2024-01-02",
                  at="2024-01-02T03:04:05", size="small", tags=["red"], assignee="bob",
                  contact=1, attachment={"name": "f.txt"},
                  items=[{"label": "a", "express": True, "fee": "1.10"}])
    data = kitchen.dump(values)
    import json

    assert json.loads(json.dumps(data)) == data
    assert data["at"] == "2024-01-02T03:04:05"
    assert data["items"][0]["shipping"] == "3.60"
    assert kitchen.load(data) == values


# --- line items of the kitchen form ------------------------------------------------


def test_row_visible_if__hidden_cell_is_not_required_and_not_stored(kitchen, services, alice):
    values = prep(kitchen, services, alice, items=[{"label": "a", "fee": "9.99"}])
    row = values["items"][0]
    assert "fee" not in row
    assert row == {"label": "a", "express": False, "weight": Decimal("1.0"),
                   "shipping": Decimal("2.50")}


def test_row_visible_if_true__required_if_applies_on_the_row_path(kitchen, services, alice):
    errors = errors_of(kitchen, services, alice,
                       items=[{"label": "a"}, {"label": "b", "express": True}])
    assert errors == {"items[1].fee": "is required"}


def test_row_computes__then_the_parent_sum(kitchen, services, alice):
    values = prep(kitchen, services, alice, items=[
        {"label": "a", "weight": "2"}, {"label": "b", "express": "yes", "fee": "1.25"}])
    assert [r["shipping"] for r in values["items"]] == [Decimal("5.00"), Decimal("3.75")]
    assert values["shipping_total"] == Decimal("8.75")


def test_max_rows__error_on_the_table_path(kitchen, services, alice):
    rows = [{"label": str(i)} for i in range(3)]
    assert errors_of(kitchen, services, alice, items=rows) == {"items": "can have at most 2 rows"}


def test_table_input_that_is_not_a_list_of_rows(kitchen, services, alice):
    assert errors_of(kitchen, services, alice, items="x") == {"items": "expected a list of rows"}
    assert errors_of(kitchen, services, alice, items=[1]) == {"items": "expected a list of rows"}


def test_input_that_is_not_an_object(kitchen, services, alice):
    with pytest.raises(ValidationFailed):
        kitchen.prepare(["title"], user=alice, services=services)
