"""Line identity: every table row carries a stable `_id` from the write that created it."""
from __future__ import annotations

import sqlalchemy as sa

from engine.auth.users import SYSTEM
from engine.store import tables as t
from tests.conftest import make_engine, VALID
from tests.workflow.helpers import seed_catalog


def order(engine, user, customer, *lines):
    return engine.create(user, "sales_order", {"customer": customer.id, "due_date": "2026-04-01",
                                               "lines": list(lines)})


def ids(rec):
    return [row["_id"] for row in rec.data["lines"]]


def test_every_new_line_gets_a_string_id_shown_in_the_api(engine, users):
    customer, product = seed_catalog(engine, users)
    rec = order(engine, users["alice"], customer, {"product": product.id, "qty": 1},
                {"product": product.id, "qty": 2})
    first, second = ids(rec)
    assert isinstance(first, str) and len(first) == 16 and first != second
    again = engine.get(users["alice"], "sales_order", rec.id)
    assert ids(again) == [first, second]
    assert [r["_id"] for r in again.to_json()["data"]["lines"]] == [first, second]


def test_ids_survive_edits_and_reorders_when_sent_back(engine, users):
    customer, product = seed_catalog(engine, users)
    alice = users["alice"]
    rec = order(engine, alice, customer, {"product": product.id, "qty": 1},
                {"product": product.id, "qty": 2})
    a, b = ids(rec)
    rec = engine.update(alice, "sales_order", rec.id, {"lines": [
        {"_id": b, "product": product.id, "qty": 5}, {"_id": a, "product": product.id, "qty": 1},
        {"product": product.id, "qty": 7}]}, version=rec.version)
    assert ids(rec)[:2] == [b, a] and ids(rec)[2] not in (a, b)
    assert [row["qty"] for row in rec.data["lines"]] == [5, 1, 7]
    # an edit of another field keeps every line as it is
    again = engine.update(alice, "sales_order", rec.id, {"channel": "email"}, version=rec.version)
    assert ids(again) == ids(rec)


def test_an_id_from_another_record_or_made_up_is_not_trusted(engine, users):
    customer, product = seed_catalog(engine, users)
    alice = users["alice"]
    mine = order(engine, alice, customer, {"product": product.id, "qty": 1})
    other = order(engine, alice, customer, {"product": product.id, "qty": 2})
    [stolen] = ids(other)
    mine = engine.update(alice, "sales_order", mine.id, {"lines": [
        {"_id": stolen, "product": product.id, "qty": 1},
        {"_id": "made-up", "product": product.id, "qty": 1}]}, version=mine.version)
    assert stolen not in ids(mine) and "made-up" not in ids(mine)
    # a new record never takes the ids it was sent either
    copy = order(engine, alice, customer, {"_id": stolen, "product": product.id, "qty": 1})
    assert ids(copy) != [stolen]
    # one of the record's own ids sent twice: the second row is a new line
    [own] = ids(other)
    other = engine.update(alice, "sales_order", other.id, {"lines": [
        {"_id": own, "product": product.id, "qty": 2},
        {"_id": own, "product": product.id, "qty": 3}]}, version=other.version)
    assert ids(other)[0] == own and ids(other)[1] != own


def test_history_describes_lines_by_identity(engine, users):
    customer, product = seed_catalog(engine, users)
    alice = users["alice"]
    rec = order(engine, alice, customer, {"product": product.id, "qty": 1},
                {"product": product.id, "qty": 2})
    a, b = ids(rec)
    rec = engine.update(alice, "sales_order", rec.id, {"lines": [
        {"_id": b, "product": product.id, "qty": 4}, {"product": product.id, "qty": 9}]},
        version=rec.version)
    create, update = engine.history(alice, "sales_order", rec.id)
    assert [r["_id"] for r in create.diff["lines"]["added"]] == [a, b]
    change = update.diff["lines"]
    assert change["changed"] == [{"_id": b, "at": 1, "fields": {"amount": ["200.00", "400.00"],
                                                                  "qty": [2, 4]}}]
    assert [r["_id"] for r in change["removed"]] == [a]
    assert [r["qty"] for r in change["added"]] == [9]
    assert "moved" not in change


def test_the_line_table_finds_a_line_and_its_record_by_id(engine, users):
    customer, product = seed_catalog(engine, users)
    rec = order(engine, users["alice"], customer, {"product": product.id, "qty": 1},
                {"product": product.id, "qty": 2})
    a, b = ids(rec)
    with engine.db.read() as conn:
        found = conn.execute(sa.text("SELECT _record_id, qty FROM t_sales_order__lines "
                                     "WHERE line_id = :id"), {"id": b}).one()
    assert tuple(found) == (rec.id, 2)


def line_table(engine, record_id):
    with engine.db.read() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "SELECT _position, line_id, qty, amount FROM t_sales_order__lines "
            "WHERE _record_id = :id ORDER BY _position"), {"id": record_id})]


def test_the_line_table_follows_every_kind_of_edit(engine, users):
    customer, product = seed_catalog(engine, users)
    alice = users["alice"]
    rec = order(engine, alice, customer, {"product": product.id, "qty": 1},
                {"product": product.id, "qty": 2}, {"product": product.id, "qty": 3})
    a, b, c = ids(rec)
    price = rec.data["lines"][0]["price"]

    def edit(*lines):
        nonlocal rec
        rec = engine.update(alice, "sales_order", rec.id, {"lines": list(lines)},
                            version=rec.version)
        # the SQL rows are the record's lines (money kept in cents)
        stored = [(i, r["_id"], r["qty"], int(r["amount"] * 100))
                  for i, r in enumerate(rec.data["lines"])]
        assert line_table(engine, rec.id) == stored
        return rec

    line = lambda lid, qty: {"_id": lid, "product": product.id, "qty": qty}  # noqa: E731
    edit(line(a, 1), line(b, 9), line(c, 3))          # one line changed in place
    assert line_table(engine, rec.id)[1][2:] == (9, int(9 * price * 100))
    edit(line(a, 4), line(b, 9), line(c, 5))          # two changed in place
    edit(line(c, 5), line(a, 4), line(b, 9))          # moved
    edit(line(c, 5), line(b, 2))                      # one removed, one changed
    edit(line(c, 5), line(b, 2), {"product": product.id, "qty": 6})  # one added


def test_lines_stored_without_ids_get_them_when_the_tables_are_rebuilt(database_url, clock):
    eng = make_engine(VALID, database_url, clock)
    try:
        eng.add_user("alice", ["sales"], manager=None)
        customer = eng.create(eng.user("alice"), "customer", {"name": "ACME"})
        product = eng.create(SYSTEM, "product", {"sku": "P-1", "name": "W", "price": "1.00"})
        rec = order(eng, eng.user("alice"), customer, {"product": product.id, "qty": 1})
        with eng.db.write() as conn:  # as a database from before line ids holds it
            data = conn.execute(sa.select(t.records.c.data).where(t.records.c.id == rec.id)).scalar_one()
            data = {**data, "lines": [{k: v for k, v in r.items() if k != "_id"} for r in data["lines"]]}
            conn.execute(t.records.update().where(t.records.c.id == rec.id).values(data=data))
            conn.execute(t.typed_tables.update().where(t.typed_tables.c.name == "t_sales_order__lines")
                         .values(signature="old"))
    finally:
        eng.close()
    eng = make_engine(VALID, database_url, clock)
    try:
        [line_id] = ids(eng.get(SYSTEM, "sales_order", rec.id))
        assert isinstance(line_id, str) and line_id
        with eng.db.read() as conn:
            assert conn.execute(sa.text("SELECT line_id FROM t_sales_order__lines")).scalar_one() == line_id
    finally:
        eng.close()
