"""Records I/O (engine/io): `loom export` writes what a person reads and `loom import` reads
back what it wrote — every field type and a table, over XLSX and CSV, into a fresh database."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner

from engine.cli import main
from tests.conftest import FIXTURES, make_engine

APP = FIXTURES / "io"
FORMS = ("party", "batch", "season", "entry", "ledger")  # link targets first


@pytest.fixture
def app(database_url, clock):
    eng = make_engine(APP, database_url, clock)
    eng.add_user("root", ["clerk"], is_admin=True, password="root-pass-123")
    eng.add_user("cleo", ["clerk"], password="cleo-pass-123")
    yield eng
    eng.close()



@pytest.fixture
def fresh(fresh_url, clock):
    eng = make_engine(APP, fresh_url, clock)
    eng.add_user("root", ["clerk"], is_admin=True, password="root-pass-123")
    eng.add_user("cleo", ["clerk"], password="cleo-pass-123")
    yield eng
    eng.close()


@pytest.fixture
def filled(app):
    """Two entries using every field type, with lines, one of them filed."""
    root = app.user("root")
    acme = app.create(root, "party", {"name": "Acme"}).id
    beta = app.create(root, "party", {"name": "Beta, Ltd"}).id
    b42 = app.create(root, "batch", {"code": 42, "note": "forty-two"}).id
    app.create(root, "batch", {"code": 7})
    spring = app.create(root, "season", {"starts": "2026-03-01", "name": "spring"}).id
    first = app.create(root, "entry", {
        "subject": "First", "notes": "two\nlines", "email": "a@example.com", "phone": "+86 21 5555 0101",
        "count": 3, "ratio": "1.125", "amount": "17.15", "discount": "12.5", "urgent": True,
        "due": "2026-04-01", "seen_at": "2026-03-02T08:30:00", "colour": "red", "tags": ["a", "c"],
        "owner_name": "cleo", "party": acme, "batch": b42, "season": spring,
        "attachment": {"name": "scan.pdf"},
        "lines": [{"party": beta, "qty": 2, "price": "9.99", "size": "m", "day": "2026-03-05"},
                  {"party": acme, "qty": 1, "price": "100", "size": "l"}]})
    app.create(root, "entry", {"subject": "Second", "urgent": False, "colour": "blue", "tags": [],
                               "lines": []})
    app.act(root, "entry", first.id, "file")
    app.create(root, "ledger", {"key": "K-1", "ref": "R-1", "doc_no": 10, "mark": "x",
                                "lines": [{"amount": "5"}, {"amount": "6.50"}]})
    return app


def readable(eng, form: str) -> list[dict]:
    """Every record's values with links as their targets' titles (ids differ between databases)."""
    root, spec = eng.user("root"), eng.defs.form(form)

    def plain(fields, values):
        out = {}
        for f in fields:
            v = values.get(f.name)
            if f.type == "link" and v is not None:
                target = eng.get(root, f.to, v)
                tf = eng.defs.form(f.to).title_field
                v = target.data[tf]
            elif f.is_table:
                v = [plain(f.fields, line) for line in v]
            out[f.name] = None if v == [] and not f.is_table else v  # a blank cell: no choice
        return out

    return [plain(spec.fields, r.data) for r in eng.list(root, form, order="id", limit=100).items]


def sheet_rows(data: bytes, sheet: str) -> list[list]:
    ws = openpyxl.load_workbook(io.BytesIO(data))[sheet]
    return [list(r) for r in ws.iter_rows(values_only=True)]


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def export(eng, form: str, fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    eng.export(eng.user("root"), form, fmt, out, **kw)
    return out.getvalue()


# --- round trips ------------------------------------------------------------------------


def test_xlsx_round_trip__every_field_type_and_a_table_into_a_fresh_database(filled, fresh):
    for form in FORMS:
        data = export(filled, form, "xlsx")
        result = fresh.import_file(fresh.user("root"), form, io.BytesIO(data), format="xlsx")
        assert result.ok, [str(e) for e in result.errors]
    for form in FORMS:
        assert readable(fresh, form) == readable(filled, form), form
    first = readable(fresh, "entry")[0]
    assert first["discount"] == Decimal("0.125") and first["tags"] == ["a", "c"]
    assert first["seen_at"] == datetime(2026, 3, 2, 8, 30) and first["season"] == date(2026, 3, 1)
    assert [line["party"] for line in first["lines"]] == ["Beta, Ltd", "Acme"]
    assert first["total"] == Decimal("119.98")


def test_csv_round_trip_through_loom_export_and_loom_import(filled, fresh, database_url,
                                                            fresh_url, tmp_path):
    filled.close(), fresh.close()
    for form in FORMS:
        out = tmp_path / f"{form}.csv"
        done = CliRunner().invoke(main, ["export", form, "-o", str(out), "--user", "root",
                                         "--definitions", str(APP), "--database", database_url])
        assert done.exit_code == 0, done.output
    assert (tmp_path / "entry.lines.csv").exists() and (tmp_path / "ledger.lines.csv").exists()
    for form in FORMS:
        done = CliRunner().invoke(main, ["import", form, str(tmp_path / f"{form}.csv"),
                                         "--user", "root", "--definitions", str(APP),
                                         "--database", fresh_url])
        assert done.exit_code == 0, done.output
    old = make_engine(APP, database_url, None)
    new = make_engine(APP, fresh_url, None)
    try:
        for form in FORMS:
            assert readable(new, form) == readable(old, form), form
    finally:
        old.close(), new.close()


def test_lines_export_alone_appends_to_parents_named_by_number(filled, fresh):
    root = fresh.user("root")
    for form in ("party", "batch", "season"):
        assert fresh.import_file(root, form, io.BytesIO(export(filled, form, "csv")),
                                 format="csv").ok
    assert fresh.import_file(root, "entry", io.BytesIO(export(filled, "entry", "csv")),
                             format="csv").ok
    assert readable(fresh, "entry")[0]["lines"] == []
    lines = export(filled, "entry.lines", "csv")
    assert csv_rows(lines)[1][:3] == ["EN-0001", "Beta, Ltd", "2"]
    result = fresh.import_file(root, "entry.lines", io.BytesIO(lines), format="csv")
    assert result.ok, [str(e) for e in result.errors]
    assert readable(fresh, "entry") == readable(filled, "entry")


# --- what an export shows ------------------------------------------------------------------


def test_export_shows_number_state_link_titles_and_choice_labels(filled):
    rows = csv_rows(export(filled, "entry", "csv"))
    head = rows[0]
    assert head[:4] == ["Number", "State", "Subject", "Notes"]
    first = dict(zip(head, rows[1]))
    assert (first["Number"], first["State"], first["Party"], first["Batch"], first["Season"]) == \
        ("EN-0001", "Filed", "Acme", "42", "2026-03-01")
    assert (first["Colour"], first["Tags"], first["Urgent"], first["Discount"]) == \
        ("Crimson", "Alpha; Gamma", "yes", "12.5%")
    assert (first["Amount"], first["Due"], first["Attachment"], first["Total"]) == \
        ("17.15", "2026-04-01", "scan.pdf", "119.98")
    assert dict(zip(head, rows[2]))["State"] == "Draft"
    values = dict(zip(head, csv_rows(export(filled, "entry", "csv", labels=False))[1]))
    assert (values["Colour"], values["Tags"]) == ("red", "a; c")


def test_xlsx_export_puts_lines_on_their_own_sheet_naming_the_parent(filled):
    data = export(filled, "entry", "xlsx")
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["entry", "entry.lines"]
    lines = sheet_rows(data, "entry.lines")
    assert lines[0] == ["Entry", "Party", "Qty", "Price", "Size", "Day", "Line total"]
    assert lines[1] == ["EN-0001", "Beta, Ltd", 2, 9.99, "m", datetime(2026, 3, 5), 19.98]
    main_sheet = sheet_rows(data, "entry")
    assert main_sheet[1][main_sheet[0].index("Due")] == datetime(2026, 4, 1)  # a date cell


def test_export_in_chinese_uses_chinese_labels_and_reads_back(filled, fresh):
    zoe = filled.add_user("zoe", ["clerk"], is_admin=True, language="zh", password="zoe-pass-1234")
    out = io.BytesIO()
    filled.export(zoe, "entry", "csv", out)
    rows = csv_rows(out.getvalue())
    first = dict(zip(rows[0], rows[1]))
    assert (first["编号"], first["状态"], first["主题"], first["Colour"], first["Urgent"]) == \
        ("EN-0001", "已归档", "First", "红色", "是")
    root = fresh.user("root")
    for form in ("party", "batch", "season"):
        assert fresh.import_file(root, form, io.BytesIO(export(filled, form, "csv")),
                                 format="csv").ok
    result = fresh.import_file(root, "entry", io.BytesIO(out.getvalue()), format="csv")
    assert result.ok, [str(e) for e in result.errors]
    got, want = readable(fresh, "entry"), readable(filled, "entry")
    assert [{k: v for k, v in r.items() if k not in ("lines", "total")} for r in got] == \
        [{k: v for k, v in r.items() if k not in ("lines", "total")} for r in want]


def test_export_of_a_form_whose_fields_answer_to_number_writes_key(filled):
    rows = csv_rows(export(filled, "ledger", "csv"))
    assert rows[0] == ["_key", "Key", "Ref", "Number", "#"]
    assert rows[1] == ["LG-001", "K-1", "R-1", "10", "x"]


# --- the form's own fields win ----------------------------------------------------------


def test_fields_named_key_ref_and_labelled_number_or_hash_import(app):
    root = app.user("root")
    data = "key,ref,Number,#\nK-1,R-1,10,x\nK-2,R-2,11,y\n"
    result = app.import_file(root, "ledger", io.BytesIO(data.encode()), format="csv")
    assert result.ok, [str(e) for e in result.errors]
    got = [(r.data["key"], r.data["ref"], r.data["doc_no"], r.data["mark"])
           for r in app.list(root, "ledger", order="id").items]
    assert got == [("K-1", "R-1", 10, "x"), ("K-2", "R-2", 11, "y")]


def test_template_names_the_key_column_so_it_cannot_collide(app):
    wb = openpyxl.load_workbook(io.BytesIO(app.template("ledger", "xlsx")))
    assert [c.value for c in wb["ledger"][1]] == ["_key", "key", "ref", "doc_no", "mark"]
    assert [c.value for c in wb["ledger.lines"][1]] == ["ledger", "amount"]
    wb["ledger"].append(["A", "K-1", None, 1, None])
    wb["ledger.lines"].append(["A", "2.50"])
    wb["ledger.lines"].append(["A", "3"])
    buf = io.BytesIO()
    wb.save(buf)
    result = app.import_file(app.user("root"), "ledger", io.BytesIO(buf.getvalue()), format="xlsx")
    assert result.ok, [str(e) for e in result.errors]
    rec = app.get(app.user("root"), "ledger", result.created[0])
    assert (rec.data["key"], [line["amount"] for line in rec.data["lines"]]) == \
        ("K-1", [Decimal("2.50"), Decimal("3.00")])


def test_old_files_still_name_the_key_number_when_no_field_does(filled):
    root = filled.user("root")
    data = ("number,subject,lines.party,lines.qty\n"
            "X,One,Acme,1\nX,One,Beta, Ltd,2\nY,Two,Acme,3\n").replace("Beta, Ltd", '"Beta, Ltd"')
    result = filled.import_file(root, "entry", io.BytesIO(data.encode()), format="csv")
    assert result.ok, [str(e) for e in result.errors]
    assert [len(filled.get(root, "entry", i).data["lines"]) for i in result.created] == [2, 1]


# --- links by title of any type ---------------------------------------------------------------


def test_links_by_integer_and_date_titles_import(filled):
    root = filled.user("root")
    data = "subject,batch,season\nA,42,2026-03-01\nB,7,\nC,8,2026-03-02\n"
    result = filled.import_file(root, "entry", io.BytesIO(data.encode()), format="csv")
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (4, "batch", "no batch '8'"), (4, "season", "no season '2026-03-02'")]
    data = "subject,batch,season\nA,42,2026-03-01\nB,7,\n"
    result = filled.import_file(root, "entry", io.BytesIO(data.encode()), format="csv")
    assert result.ok, [str(e) for e in result.errors]
    a, b = (filled.get(root, "entry", i) for i in result.created)
    batches = {r.data["code"]: r.id for r in filled.list(root, "batch").items}
    assert (a.data["batch"], b.data["batch"]) == (batches[42], batches[7])
    assert filled.get(root, "season", a.data["season"]).data["starts"] == date(2026, 3, 1)


def test_links_by_typed_xlsx_cells(filled):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["subject", "batch", "season"])
    ws.append(["A", 42, datetime(2026, 3, 1)])
    buf = io.BytesIO()
    wb.save(buf)
    result = filled.import_file(filled.user("root"), "entry", io.BytesIO(buf.getvalue()),
                                format="xlsx")
    assert result.ok, [str(e) for e in result.errors]


def test_a_title_two_records_share_is_refused_and_quotes_are_plain_text(app):
    root = app.user("root")
    app.create(root, "batch", {"code": 5})
    app.create(root, "batch", {"code": 5})
    app.create(root, "party", {"name": "O'Brien \\ Sons"})
    data = "subject,batch,party\nA,5,\nB,,O'Brien \\ Sons\nC,,x' or '1'=='1\n"
    result = app.import_file(root, "entry", io.BytesIO(data.encode()), format="csv")
    assert [(e.row, e.message) for e in result.errors] == [
        (2, "more than one batch is called '5'"), (4, "no party \"x' or '1'=='1\"")]
