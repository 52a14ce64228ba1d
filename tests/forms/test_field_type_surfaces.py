"""Each built-in field type answers every surface itself: spreadsheet cells in and out,
form inputs, what a person reads, its API schema and its list filter."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from werkzeug.datastructures import MultiDict

from engine.definitions.model import FieldSpec, Label
from engine.fields.base import cell_text
from engine.fields import FieldError, PlainLabels
from engine.bootstrap import default_registries

TYPES = default_registries(load_plugins=False).field_types
SIZES = (("small", Label((("en", "Small"), ("zh", "小")))), ("large", Label((("en", "Large"), ("zh", "大")))))
COLOURS = (("red", Label((("en", "Red"), ("zh", "红")))), ("green", Label((("en", "Green"), ("zh", "绿")))))


def spec(type_: str, **kw) -> FieldSpec:
    if type_ == "choice":
        kw.setdefault("options", ("small", "large"))
        kw.setdefault("option_labels", SIZES)
    if type_ == "multichoice":
        kw.setdefault("options", ("red", "green"))
        kw.setdefault("option_labels", COLOURS)
    if type_ == "link":
        kw.setdefault("to", "contact")
    return FieldSpec(name=kw.pop("name", "x"), type=type_, label=Label(), **kw)


TITLES = {("contact", "Acme"): 5, ("contact", "7"): 7, ("contact", "Twin"): -1}


def resolve(form, cell):
    """The importer's resolver gets the cell as read (a typed XLSX date or number stays typed)."""
    return TITLES.get((form, cell_text(cell)))


# What engine/importer.py's cell conversion gave before the types owned it, type by type.
@pytest.mark.parametrize("type_, cell, expected", [
    ("text", "  hi ", "hi"),
    ("text", datetime(2026, 3, 2, 9, 30), "2026-03-02T09:30:00"),
    ("text", 2.5, "2.5"),
    ("text", 3, 3),
    ("textarea", " a\nb ", "a\nb"),
    ("email", " a@example.com", "a@example.com"),
    ("phone", "+86 10 1234", "+86 10 1234"),
    ("user", "bob ", "bob"),
    ("integer", 3.0, 3),
    ("integer", 7, 7),
    ("integer", "12", "12"),
    ("integer", 2.5, "2.5"),
    ("decimal", 19.99, "19.99"),
    ("decimal", 0.1, "0.1"),
    ("money", 1234.5, "1234.5"),
    ("money", " 12.50 ", "12.50"),
    ("percent", "12%", "12%"),
    ("percent", 12.5, "12.5"),
    ("boolean", True, True),
    ("boolean", " 是 ", True),
    ("boolean", "否", False),
    ("boolean", "x", True),
    ("boolean", "✗", False),
    ("boolean", "Yes", True),
    ("boolean", 1.0, True),
    ("boolean", 0, False),
    ("date", datetime(2026, 3, 2, 0, 0), "2026-03-02"),
    ("date", date(2026, 3, 2), "2026-03-02"),
    ("date", "2026-03-02", "2026-03-02"),
    ("datetime", datetime(2026, 3, 2, 9, 30), "2026-03-02T09:30:00"),
    ("datetime", "2026-03-02 09:30", "2026-03-02 09:30"),
    ("choice", "small", "small"),
    ("choice", " Large ", "large"),
    ("choice", "小", "small"),
    ("choice", "medium", "medium"),  # parse names the options
    ("multichoice", "red; green", ["red", "green"]),
    ("multichoice", "Red,绿", ["red", "green"]),
    ("multichoice", "红；green;", ["red", "green"]),
    ("link", "Acme", 5),
    ("link", 7.0, 7),
    ("file", "a.pdf", "a.pdf"),
])
def test_from_cell__reads_a_spreadsheet_cell_as_before(type_, cell, expected):
    assert TYPES[type_].from_cell(spec(type_), cell, resolve) == expected


@pytest.mark.parametrize("type_, cell, message", [
    ("boolean", " maybe ", "expected yes or no, got 'maybe'"),
    ("link", "Zed", "no contact 'Zed'"),
    ("link", "Twin", "more than one contact is called 'Twin'"),
])
def test_from_cell__a_bad_cell_says_why(type_, cell, message):
    with pytest.raises(FieldError) as exc:
        TYPES[type_].from_cell(spec(type_), cell, resolve)
    assert str(exc.value) == message


ROUND_TRIP = [
    ("text", "hello"),
    ("textarea", "a\nb"),
    ("email", "a@example.com"),
    ("phone", "+86 10 1234"),
    ("user", "bob"),
    ("integer", 42),
    ("decimal", Decimal("1.2345")),
    ("money", Decimal("1234.50")),
    ("percent", Decimal("0.1250")),
    ("boolean", True),
    ("boolean", False),
    ("date", date(2026, 3, 2)),
    ("datetime", datetime(2026, 3, 2, 9, 30)),
    ("choice", "large"),
    ("multichoice", ["red", "green"]),
    ("link", 5),
    ("file", {"name": "a.pdf"}),
]
CELLS = {  # what an export writes (ids and option values; labels when asked for)
    "percent": "12.5%", "multichoice": "red; green", "link": 5, "file": "a.pdf",
    "date": date(2026, 3, 2), "money": Decimal("1234.50"), "boolean": True,
}


@pytest.mark.parametrize("type_, value", ROUND_TRIP)
def test_to_cell__writes_what_from_cell_reads_back(type_, value):
    ft, f = TYPES[type_], spec(type_)
    cell = ft.to_cell(f, value)
    if type_ in CELLS and value is not False:
        assert cell == CELLS[type_]
    ids = {("contact", "5"): 5}
    back = ft.from_cell(f, cell, lambda form, c: ids.get((form, cell_text(c))))
    assert ft.parse(f, back) == value
    as_text = "" if cell is None else str(cell)  # the same cell in a CSV file
    assert ft.parse(f, ft.from_cell(f, as_text, lambda form, c: ids.get((form, cell_text(c))))) == value


def test_to_cell__with_labels_writes_what_people_read_and_still_reads_back():
    zh = PlainLabels("zh", titles={("contact", "5"): "Acme"})
    assert TYPES["choice"].to_cell(spec("choice"), "small", zh) == "小"
    assert TYPES["multichoice"].to_cell(spec("multichoice"), ["red", "green"], zh) == "红; 绿"
    assert TYPES["link"].to_cell(spec("link"), 5, zh) == "Acme"
    assert TYPES["choice"].from_cell(spec("choice"), "小") == "small"
    assert TYPES["multichoice"].from_cell(spec("multichoice"), "红; 绿") == ["red", "green"]
    assert TYPES["link"].from_cell(spec("link"), "Acme", resolve) == 5


def test_every_builtin_value_survives_an_xlsx_workbook():
    """Cells go through openpyxl as an export writes them (dates come back as date-times,
    decimals as floats) and the types read them back to the same values."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([TYPES[t].to_cell(spec(t), v) for t, v in ROUND_TRIP])
    buf = io.BytesIO()
    wb.save(buf)
    row = next(openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active.iter_rows(values_only=True))
    ids = {("contact", "5"): 5}
    for (t, value), cell in zip(ROUND_TRIP, row):
        ft, f = TYPES[t], spec(t)
        assert ft.parse(f, ft.from_cell(f, cell, lambda form, c: ids.get((form, cell_text(c))))) == value, t


@pytest.mark.parametrize("type_, posted, expected", [
    ("text", MultiDict({"k": "hi"}), "hi"),
    ("text", MultiDict({}), None),  # not sent: left alone
    ("boolean", MultiDict({"k": "true"}), "true"),
    ("boolean", MultiDict({}), "false"),  # an unticked box is not posted
    ("multichoice", MultiDict([("k", "red"), ("k", "green")]), ["red", "green"]),
    ("multichoice", MultiDict({}), []),
])
def test_from_form__reads_the_posted_input(type_, posted, expected):
    assert TYPES[type_].from_form(spec(type_), posted, "k") == expected


@pytest.mark.parametrize("type_, value, text", [
    ("text", None, ""),
    ("integer", 3, "3"),
    ("money", Decimal("12.50"), "12.50"),
    ("percent", Decimal("0.125"), "12.50"),
    ("boolean", True, "true"),
    ("boolean", False, ""),
    ("datetime", datetime(2026, 3, 2, 9, 30, 15), "2026-03-02T09:30"),
    ("multichoice", None, []),
    ("multichoice", ["red"], ["red"]),
    ("file", {"name": "a.pdf", "size": 3}, [{"name": "a.pdf", "size": 3}]),  # the files the input keeps
    ("link", 5, "5"),
])
def test_to_input__is_what_the_input_shows(type_, value, text):
    assert TYPES[type_].to_input(spec(type_), value) == text


@pytest.mark.parametrize("type_, value, shown", [
    ("text", "", ""),
    ("boolean", True, "yes"),
    ("boolean", False, "no"),
    ("choice", "small", "小"),
    ("multichoice", ["red", "green"], "红, 绿"),
    ("percent", Decimal("0.125"), "12.50%"),
    ("datetime", datetime(2026, 3, 2, 9, 30, 15), "2026-03-02 09:30"),
    ("link", 5, "Acme"),
    ("link", 6, "#6"),
    ("money", Decimal("3.20"), "3.20"),
])
def test_display__is_what_a_person_reads(type_, value, shown):
    labels = PlainLabels("zh", titles={("contact", "5"): "Acme"})
    assert TYPES[type_].display(spec(type_), value, labels) == shown


@pytest.mark.parametrize("type_, kw, schema", [
    ("text", {"max_length": 5}, {"type": ["string", "null"], "maxLength": 5}),
    ("email", {}, {"type": ["string", "null"], "format": "email"}),
    ("integer", {"min": 0, "max": 9}, {"type": ["integer", "null"], "minimum": 0, "maximum": 9}),
    ("boolean", {}, {"type": ["boolean", "null"]}),
    ("date", {}, {"type": ["string", "null"], "format": "date"}),
    ("choice", {}, {"enum": ["small", "large", None]}),
    ("multichoice", {}, {"type": ["array", "null"], "items": {"enum": ["red", "green"]}}),
    ("link", {}, {"type": ["integer", "null"], "description": "id of a contact record"}),
])
def test_json_schema__describes_the_api_value(type_, kw, schema):
    assert TYPES[type_].json_schema(spec(type_, **kw), lambda c: {}) == schema


def test_json_schema__a_table_asks_for_its_cells():
    t = spec("table", fields=(spec("integer", name="qty"),))
    s = TYPES["table"].json_schema(t, lambda c: TYPES[c.type].json_schema(c, None))
    assert s["items"]["properties"] == {"_id": {"type": "string"},
                                        "qty": {"type": ["integer", "null"]}}


@pytest.mark.parametrize("type_, args, parts", [
    ("text", {"x.x": "Ac'me"}, ["contains(lower(x), lower(\"Ac'me\"))"]),
    ("integer", {"x.x": "-12"}, ["x == -12"]),
    ("integer", {"x.x": "12a"}, []),
    ("choice", {"x.x": "small"}, ["x == 'small'"]),
    ("choice", {"x.x": "huge"}, []),
    ("link", {"x.x": "42"}, ["x == 42"]),
    ("date", {"x.x.from": "2026-03-01", "x.x.to": "bad"}, ["x >= '2026-03-01'"]),
    ("money", {"x.x": "3"}, []),
])
def test_list_filter__turns_query_args_into_expression_parts(type_, args, parts):
    assert TYPES[type_].list_filter(spec(type_), args)[0] == parts


def test_preview__tells_the_browser_how_to_read_and_show_the_value():
    assert TYPES["money"].preview(spec("money"), Decimal("3.5")) == {"kind": "number", "text": "3.5", "places": 2}
    assert TYPES["integer"].preview(spec("integer")) == {"kind": "number", "text": "", "places": 0}
    assert TYPES["boolean"].preview(spec("boolean"), True)["kind"] == "boolean"
