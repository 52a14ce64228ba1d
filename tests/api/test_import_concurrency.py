"""Imports share the database (issue 12, item 3): while an import (or its dry run) is
under way, API writes and reads go on and none of them fails; the import still commits
all its rows, or — when a row fails late, or its process dies — none of them."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest


from engine.io import importer

ROOT = Path(__file__).resolve().parents[2]
WAIT = 120  # seconds an event may take on the shared, loaded machine (never slept)
ROWS = 1000  # two or more write batches; progress is reported after the first


def customers_csv(n: int, prefix: str = "Imported") -> io.BytesIO:
    lines = ["name,region"] + [f"{prefix} {i},north" for i in range(n)]
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def write_while_importing(engine, api, dry_run: bool):
    """Run the import; at its first progress report (the import mid-way) another thread
    makes API writes and reads, and the import waits until they have all answered."""
    importing, answered = threading.Event(), threading.Event()
    seen = {}
    statuses: list[int] = []

    def progress(done, total):
        if not importing.is_set():
            importing.set()
            seen["answered_while_importing"] = answered.wait(WAIT)

    def writer():
        client = api("alice")
        if not importing.wait(WAIT):
            return
        try:
            for i in range(10):
                r = client.post("/api/forms/customer/records",
                                json={"data": {"name": f"Typed {i}", "region": "south"}})
                statuses.append(r.status_code)
                statuses.append(client.get("/api/forms/customer/records?limit=5").status_code)
        finally:
            answered.set()

    thread = threading.Thread(target=writer)
    thread.start()
    result = engine.import_file(engine.user("alice"), "customer", customers_csv(ROWS),
                                format="csv", dry_run=dry_run, progress=progress)
    thread.join(WAIT)
    return result, seen, statuses


def names(engine, prefix: str) -> list[str]:
    out, offset = [], 0
    while True:  # every page: where the typed records fall depends on the write batches
        page = engine.list(engine.user("root"), "customer", limit=500, offset=offset)
        out += [r.data["name"] for r in page.items if r.data["name"].startswith(prefix)]
        if len(page.items) < 500:
            return out, page.total
        offset += 500


def test_api_writes_go_on_while_an_import_runs_and_all_rows_commit(engine, api):
    result, seen, statuses = write_while_importing(engine, api, dry_run=False)
    assert seen == {"answered_while_importing": True}
    assert statuses == [201, 200] * 10
    assert result.ok and len(result.created) == ROWS
    typed, total = names(engine, "Typed")
    assert len(typed) == 10 and total == ROWS + 10


def test_api_writes_go_on_during_a_dry_run_which_writes_nothing(engine, api):
    result, seen, statuses = write_while_importing(engine, api, dry_run=True)
    assert seen == {"answered_while_importing": True}
    assert statuses == [201, 200] * 10
    assert result.ok and result.created == [] and result.rows == ROWS
    assert names(engine, "Typed")[1] == 10


def products_csv(n: int) -> io.BytesIO:
    lines = ["sku,name,price"] + [f"P-{i},Part {i},1" for i in range(n)]
    return io.BytesIO(("\n".join(lines) + "\n").encode())


def skus(engine) -> list[str]:
    out, offset = [], 0
    while True:
        page = engine.list(engine.user("root"), "product", limit=500, offset=offset)
        out += [r.data["sku"] for r in page.items]
        if len(page.items) < 500:
            return out
        offset += 500


@pytest.mark.outbox_ok  # the typed product's own alert mail stays queued, on purpose
def test_a_row_failing_in_a_late_batch_undoes_the_batches_written_before(engine, users):
    """A unique value another writer takes between the check and the write fails the
    import after earlier batches committed: they are deleted again, nothing stays."""
    last = f"P-{ROWS - 1}"  # written in the last batch

    def progress(done, total):  # earlier batches are in: someone types the last row's sku
        if last not in skus(engine):
            assert len(skus(engine)) >= done  # the committed batches are there meanwhile
            engine.create(users["pat"], "product", {"sku": last, "name": "Typed", "price": "2"})

    result = engine.import_file(users["pat"], "product", products_csv(ROWS), format="csv",
                                progress=progress)
    assert [(e.row, e.column, e.message) for e in result.errors] == [
        (ROWS + 1, "sku", f"{last} is already used by another record")]
    assert result.created == [] and skus(engine) == [last]
    # the imported products' alert mail, not sent yet, went with them; the typed one's stays
    assert engine.outbox_status() == {"pending": 1}


CRASHING_IMPORT = """
import io, os, sys
from engine.engine import Engine
eng = Engine(sys.argv[1], sys.argv[2])
rows = ["sku,name,price"] + [f"P-{i},Part {i},1" for i in range(int(sys.argv[3]))]
def progress(done, total):
    os._exit(9)  # the process dies with some batches committed and the rest not written
eng.import_file(eng.user("pat"), "product", io.BytesIO("\\n".join(rows).encode()),
                format="csv", progress=progress)
"""


def test_an_import_whose_process_dies_is_undone_by_the_next_import(engine, users,
                                                                      database_url):
    from tests.conftest import VALID

    done = subprocess.run([sys.executable, "-c", CRASHING_IMPORT, str(VALID), database_url,
                           str(ROWS)], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 9, done.stderr
    left = skus(engine)
    assert 0 < len(left) < ROWS  # what a crash leaves until someone imports again
    result = engine.import_file(users["pat"], "product", products_csv(2), format="csv",
                                dry_run=True)
    assert result.ok and skus(engine) == []
