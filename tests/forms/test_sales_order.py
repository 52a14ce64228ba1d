"""The design's sales order: line items, money, defaults, visibility, updates."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.errors import ValidationFailed

ORDER = {"customer": 1, "due_date": "2024-04-01",
         "lines": [{"product": 1, "qty": 3}]}


def failed(rt, raw, services, user, **kw):
    with pytest.raises(ValidationFailed) as exc:
        rt.prepare(raw, user=user, services=services, **kw)
    return exc.value.fields


def test_money__three_times_19_99_is_exactly_59_97(sales_order, services, alice):
    values = sales_order.prepare(ORDER, user=alice, services=services)
    line = values["lines"][0]
    assert line["amount"] == Decimal("59.97") and isinstance(line["amount"], Decimal)
    assert values["total"] == Decimal("59.97")
    assert sales_order.dump(values)["total"] == "59.97"


def test_computes__lines_first_then_the_parent_total(sales_order, services, alice):
    raw = {**ORDER, "lines": [{"product": 1, "qty": 3}, {"product": 2, "qty": 2, "price": "4.333"}]}
    assert failed(sales_order, raw, services, alice) == {"lines[1].price": "at most 2 decimal places"}
    raw["lines"][1]["price"] = "0.10"
    values = sales_order.prepare(raw, user=alice, services=services)
    assert [r["amount"] for r in values["lines"]] == [Decimal("59.97"), Decimal("0.20")]
    assert values["total"] == Decimal("60.17")


def test_computed_fields_sent_by_the_user__are_ignored(sales_order, services, alice):
    raw = {**ORDER, "total": "1.00", "lines": [{"product": 1, "qty": 1, "amount": "999"}]}
    values = sales_order.prepare(raw, user=alice, services=services)
    assert values["total"] == Decimal("19.99")
    assert values["lines"][0]["amount"] == Decimal("19.99")


def test_user_strings__are_data_never_expressions(sales_order, services, alice):
    raw = {**ORDER, "discount_reason": "__import__('os')", "channel": "phone",
           "lines": [{"product": 1, "qty": 1, "price": "product.price * 100"}]}
    assert failed(sales_order, raw, services, alice) == {"lines[0].price": "expected a number"}


def test_defaults__today_user_name_and_price_through_the_line_link(sales_order, services, alice):
    values = sales_order.prepare(ORDER, user=alice, services=services)
    assert values["order_date"] == date(2024, 3, 5)  # the frozen clock
    assert values["sales_rep"] == "alice"
    assert values["lines"][0]["price"] == Decimal("19.99")
    assert values["discount"] == Decimal("0")


def test_defaults__given_values_win(sales_order, services, alice):
    raw = {**ORDER, "order_date": "2024-03-01", "sales_rep": "bob",
           "lines": [{"product": 1, "qty": 1, "price": "18.00"}]}
    values = sales_order.prepare(raw, user=alice, services=services)
    assert (values["order_date"], values["sales_rep"]) == (date(2024, 3, 1), "bob")
    assert values["lines"][0]["price"] == Decimal("18.00")


def test_visible_if_false__field_is_neither_required_nor_stored(sales_order, services, alice):
    values = sales_order.prepare({**ORDER, "discount_reason": "friend"}, user=alice,
                                 services=services)
    assert "discount_reason" not in values


def test_visible_if_true__required_if_applies(sales_order, services, alice):
    raw = {**ORDER, "discount": "5"}
    assert failed(sales_order, raw, services, alice) == {"discount_reason": "is required"}
    values = sales_order.prepare({**raw, "discount_reason": "loyal"}, user=alice, services=services)
    assert values["discount"] == Decimal("0.0500") and values["discount_reason"] == "loyal"


def test_min_rows__error_on_the_table_path(sales_order, services, alice):
    assert failed(sales_order, {**ORDER, "lines": []}, services, alice) == {
        "lines": "needs at least 1 row"}


def test_all_errors_at_once__with_row_paths_in_field_order(sales_order, services, alice):
    raw = {"customer": 7, "due_date": "2024-03-01", "bogus": 1, "channel": "fax",
           "lines": [{"product": 1, "qty": 2}, {"product": 9, "qty": "0"}, {"note": 1, "qty": "x"}]}
    errors = failed(sales_order, raw, services, alice)
    assert list(errors.items()) == list({
        "bogus": "unknown field",
        "customer": "no customer record with id 7",
        "due_date": "Due date is before the order date",
        "channel": "'fax' is not one of: phone, email, online, store",
        "lines[1].product": "no product record with id 9",
        "lines[1].qty": "must be at least 1",
        "lines[2].product": "is required",
        "lines[2].qty": "expected a whole number",
        "lines[2].note": "unknown field",
    }.items())


def test_validation_failed__is_raised_with_every_field_and_its_status(sales_order, services, alice):
    with pytest.raises(ValidationFailed) as exc:
        sales_order.prepare({}, user=alice, services=services)
    assert exc.value.status == 422
    assert exc.value.fields == {"customer": "is required", "due_date": "is required",
                                "lines": "needs at least 1 row"}


def test_sales_rep__must_be_a_known_user(sales_order, services, alice):
    assert failed(sales_order, {**ORDER, "sales_rep": "mallory"}, services, alice) == {
        "sales_rep": "no user named mallory"}


def test_readonly_field__ignored_from_users_but_written_by_the_system(sales_order, services, alice):
    raw = {**ORDER, "approved_at": "2024-03-05T12:00:00"}
    assert sales_order.prepare(raw, user=alice, services=services)["approved_at"] is None
    values = sales_order.prepare(raw, user=alice, services=services, system=True)
    assert values["approved_at"] == datetime(2024, 3, 5, 12, 0)


def test_linked_records__are_loaded_once_per_call(sales_order, services, alice):
    raw = {**ORDER, "lines": [{"product": 1, "qty": 1}, {"product": 1, "qty": 2}]}
    sales_order.prepare(raw, user=alice, services=services)
    assert sorted(services.loads) == [("customer", 1), ("product", 1)]


# --- updates -------------------------------------------------------------------


@pytest.fixture
def saved(sales_order, services, alice):
    return sales_order.prepare({**ORDER, "order_date": "2024-03-01"}, user=alice,
                               services=services)


def test_patch__unsent_fields_keep_their_values_and_no_defaults_apply(sales_order, services,
                                                                      alice, saved):
    values = sales_order.prepare({"channel": "email"}, user=alice, existing=saved,
                                 services=services)
    assert values["channel"] == "email"
    assert values["order_date"] == date(2024, 3, 1)
    assert values["lines"] == saved["lines"]
    assert values["lines"][0] is not saved["lines"][0]  # existing is never mutated


def test_patch__blanking_a_defaulted_field_keeps_it_blank(sales_order, services, alice, saved):
    values = sales_order.prepare({"channel": None}, user=alice, existing=saved, services=services)
    assert values["channel"] is None


def test_patch__sent_lines_replace_the_list_and_recompute(sales_order, services, alice, saved):
    values = sales_order.prepare({"lines": [{"product": 2, "qty": 4}]}, user=alice,
                                 existing=saved, services=services)
    assert values["lines"] == [{"product": 2, "qty": 4, "price": Decimal("5.00"),
                                "amount": Decimal("20.00")}]
    assert values["total"] == Decimal("20.00")


def test_patch__unchanged_links_are_not_rechecked(sales_order, services, alice, saved):
    del services.records[("customer", 1)]  # no longer readable by this user
    services.loads.clear()
    values = sales_order.prepare({"channel": "store"}, user=alice, existing=saved,
                                 services=services)
    assert values["customer"] == 1
    assert ("customer", 1) not in services.loads


def test_patch__hiding_a_field_drops_its_stored_value(sales_order, services, alice):
    saved = sales_order.prepare({**ORDER, "discount": "5", "discount_reason": "loyal"},
                                user=alice, services=services)
    values = sales_order.prepare({"discount": "0"}, user=alice, existing=saved, services=services)
    assert "discount_reason" not in values


# --- views -----------------------------------------------------------------------


def test_defaults__of_a_blank_form(sales_order, services, alice):
    values = sales_order.defaults(alice, services)
    assert values["order_date"] == date(2024, 3, 5)
    assert values["sales_rep"] == "alice"
    assert values["lines"] == [] and values["total"] == Decimal("0.00")
    assert values["customer"] is None


def test_visible_fields__follow_visible_if(sales_order, services, alice):
    values = sales_order.prepare(ORDER, user=alice, services=services)
    shown = sales_order.visible_fields(values, user=alice, services=services)
    assert "discount_reason" not in shown
    assert "lines[0].qty" in shown and "customer" in shown
    values["discount"] = Decimal("0.05")
    assert "discount_reason" in sales_order.visible_fields(values, user=alice, services=services)


def test_diff__changed_fields_as_json_and_lines_by_identity(sales_order, services, alice, saved):
    saved = sales_order.identify_lines(saved, None)
    line_id = saved["lines"][0]["_id"]
    new = sales_order.prepare({"channel": "email", "lines": [{"_id": line_id, "product": 1, "qty": 4},
                                                             {"product": 1, "qty": 1}]},
                              user=alice, existing=saved, services=services)
    new = sales_order.identify_lines(new, saved)
    assert new["lines"][0]["_id"] == line_id and new["lines"][1]["_id"] != line_id
    assert sales_order.diff(saved, new) == {
        "channel": [None, "email"],
        "lines": {"added": [{"product": 1, "qty": 1, "price": "19.99", "amount": "19.99",
                             "_id": new["lines"][1]["_id"]}],
                  "changed": [{"_id": line_id, "at": 1,
                               "fields": {"amount": ["59.97", "79.96"], "qty": [3, 4]}}]},
        "total": ["59.97", "99.95"],
    }
    assert sales_order.diff(saved, saved) == {}


def test_diff__a_line_sent_without_its_id_is_a_new_line(sales_order, services, alice, saved):
    saved = sales_order.identify_lines(saved, None)
    new = sales_order.prepare({"lines": [{"product": 1, "qty": 3}]},
                              user=alice, existing=saved, services=services)
    new = sales_order.identify_lines(new, saved)
    change = sales_order.diff(saved, new)["lines"]
    assert [r["_id"] for r in change["removed"]] == [saved["lines"][0]["_id"]]
    assert [r["_id"] for r in change["added"]] == [new["lines"][0]["_id"]]


def test_diff__a_dropped_field_shows_as_null(sales_order, services, alice):
    old = {"discount_reason": "loyal"}
    assert sales_order.diff(old, {}) == {"discount_reason": ["loyal", None]}


def test_patch__system_fields_of_existing_are_not_returned(sales_order, services, alice, saved):
    existing = {**saved, "id": 5, "state": "draft", "owner": "alice", "number": "SO-1"}
    values = sales_order.prepare({}, user=alice, existing=existing, services=services)
    assert set(values) == set(saved)


def test_errors__do_not_depend_on_input_order(sales_order, services, alice):
    a = {"lines": [{"qty": 0}], "customer": 7}
    b = {"customer": 7, "lines": [{"qty": 0}]}
    assert list(failed(sales_order, a, services, alice)) == list(failed(sales_order, b, services, alice))
