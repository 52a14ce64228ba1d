"""A GET request's reads share one read transaction; a write inside it is seen by later reads."""
from __future__ import annotations

from sqlalchemy import event


def _count(seen):
    def begin(_conn):
        seen.append(1)
    return begin


def test_a_record_get_reads_in_one_transaction(engine, users, api, catalog):
    from tests.api.conftest import order_data

    rec = engine.create(users["alice"], "sales_order", order_data(catalog))
    client = api("alice")  # the token is made before counting
    begins: list = []
    listener = _count(begins)
    event.listen(engine.db.engine, "begin", listener)
    try:
        resp = client.get(f"/api/forms/sales_order/records/{rec.id}")
        assert resp.status_code == 200
        assert "submit" in [a["name"] for a in resp.get_json()["actions"]]
        # the token's user, the record and its available actions: one BEGIN
        assert len(begins) == 1
    finally:
        event.remove(engine.db.engine, "begin", listener)


def test_reads_after_a_write_in_a_read_scope_see_the_write(engine, users):
    alice = users["alice"]
    rec = engine.create(alice, "customer", {"name": "before"})
    with engine.db.read_scope():
        assert engine.get(alice, "customer", rec.id).data["name"] == "before"
        engine.update(alice, "customer", rec.id, {"name": "after"}, version=rec.version)
        assert engine.get(alice, "customer", rec.id).data["name"] == "after"


def test_an_actions_answer_reads_in_the_actions_own_transaction(engine, users, api, catalog):
    from tests.api.conftest import order_data

    rec = engine.create(users["alice"], "sales_order", order_data(catalog))
    client = api("alice")
    begins: list[bool] = []  # True: a write's transaction

    def begin(conn):
        begins.append(bool(conn.get_execution_options().get("loom_write")))

    event.listen(engine.db.engine, "begin", begin)
    try:
        resp = client.post(f"/api/forms/sales_order/records/{rec.id}/actions/submit", json={})
    finally:
        event.remove(engine.db.engine, "begin", begin)
    answer = resp.get_json()
    assert resp.status_code == 200 and answer["state"] == "manager_review"
    # one transaction, the write's: the token's user is read in it (in the writer lane, see
    # web/hot_routes.py), then the action, then its answer (actions, make targets,
    # deletable), read as the action left the record; no transaction before or after
    assert begins == [True]
    assert "withdraw" in [a["name"] for a in answer["actions"]] and "submit" not in \
        [a["name"] for a in answer["actions"]]
    again = client.get(f"/api/forms/sales_order/records/{rec.id}").get_json()
    assert {k: again[k] for k in ("actions", "make", "deletable", "version")} == \
        {k: answer[k] for k in ("actions", "make", "deletable", "version")}
