"""A request's user is read afresh from its token each time: a role change, a deactivation or
a revoked token counts from the very next request (nothing about them is kept in the process)."""
from __future__ import annotations

from sqlalchemy import event

from tests.api.conftest import order_data


def test_a_removed_role_refuses_the_next_request(engine, users, api, catalog):
    rec = engine.create(users["alice"], "sales_order", order_data(catalog))
    client = api("alice")
    assert client.post("/api/forms/sales_order/records", json={"data": order_data(catalog)}).status_code == 201
    engine.users.update("alice", roles=["purchasing"])
    resp = client.post("/api/forms/sales_order/records", json={"data": order_data(catalog)})
    assert resp.status_code == 403
    engine.users.update("alice", roles=["sales"])
    assert client.get(f"/api/forms/sales_order/records/{rec.id}").status_code == 200


def test_a_deactivated_user_is_refused_on_the_next_request(engine, users, api):
    client = api("alice")
    assert client.get("/api/tasks").status_code == 200
    engine.users.deactivate("alice")
    assert client.get("/api/tasks").status_code == 401


def test_a_revoked_token_is_refused_on_the_next_request(engine, users, app):
    token = engine.create_token("alice")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/tasks", headers=headers).status_code == 200
    engine.users.revoke_token(token)
    assert client.get("/api/tasks", headers=headers).status_code == 401


def test_the_token_its_user_and_roles_are_one_statement(engine, users, api):
    client = api("sam")
    client.get("/api/tasks")  # warm: nothing below depends on it but the count
    seen: list[str] = []
    listener = lambda _c, _cur, stmt, *_a: seen.append(stmt)  # noqa: E731
    event.listen(engine.db.engine, "before_cursor_execute", listener)
    try:
        assert client.get("/api/tasks").status_code == 200
    finally:
        event.remove(engine.db.engine, "before_cursor_execute", listener)
    auth = [s for s in seen if "tokens" in s or "user_roles" in s or "FROM users" in s]
    assert len(auth) == 1 and "JOIN user_roles" in auth[0]
