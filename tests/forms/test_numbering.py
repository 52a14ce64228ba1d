from datetime import date, datetime
from decimal import Decimal

import pytest

from engine.forms.numbering import NumberPatternError, check_pattern, counter_key, format_number

WHEN = datetime(2024, 3, 5, 14, 30)


def test_sales_order_pattern__date_and_padded_sequence():
    assert format_number("SO-{date:%Y%m}-{seq:05}", 7, WHEN, {}) == "SO-202403-00007"


def test_counter_key__is_the_number_without_its_sequence():
    assert counter_key("SO-{date:%Y%m}-{seq:05}", WHEN, {}) == "SO-202403-"


def test_counter_key__changes_with_the_month_so_the_sequence_restarts():
    assert counter_key("SO-{date:%Y%m}-{seq:05}", datetime(2024, 4, 1), {}) == "SO-202404-"


def test_sequence_wider_than_its_padding__is_not_cut():
    assert format_number("C-{seq:03}", 12345, WHEN, {}) == "C-12345"


def test_field_placeholders__use_the_record_values():
    pattern = "{region}-{date:%y}-{seq}"
    assert format_number(pattern, 3, WHEN, {"region": "north"}) == "north-24-3"
    assert counter_key(pattern, WHEN, {"region": "north"}) == "north-24-"


def test_field_placeholders__missing_or_null_values_are_blank():
    assert format_number("{region}/{seq}", 1, WHEN, {"region": None}) == "/1"
    assert format_number("{region}/{seq}", 1, WHEN, {}) == "/1"


def test_field_placeholders__format_specs_apply_to_dates_and_decimals():
    values = {"order_date": date(2023, 12, 31), "amount": Decimal("3.5")}
    assert format_number("{order_date:%Y}-{amount:.2f}-{seq}", 1, WHEN, values) == "2023-3.50-1"


def test_date_without_a_format__is_yyyymmdd():
    assert format_number("{date}-{seq}", 1, WHEN, {}) == "20240305-1"


def test_literal_braces__are_kept():
    assert format_number("{{X}}-{seq}", 1, WHEN, {}) == "{X}-1"


def test_pattern_without_seq__gets_one_appended_so_numbers_stay_unique():
    assert format_number("INV-{date:%Y}", 4, WHEN, {}) == "INV-2024-4"
    assert counter_key("INV-{date:%Y}", WHEN, {}) == "INV-2024-"


@pytest.mark.parametrize("pattern", ["{region.__class__}-{seq}", "{lines[0]}-{seq}",
                                     "{seq!r}", "{seq:{width}}", "{seq"])
def test_unsafe_or_broken_patterns__are_refused(pattern):
    with pytest.raises(NumberPatternError):
        format_number(pattern, 1, WHEN, {"region": "x"})


def test_check_pattern__refuses_a_bad_sequence_spec():
    with pytest.raises(ValueError):
        check_pattern("{seq:%Y}")
    check_pattern("SO-{date:%Y%m}-{seq:05}")
