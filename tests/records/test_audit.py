"""The audit log: logins, account and role changes, deletes, restores, purges and hand-overs,
visible to administrators and filterable by user and time."""
from __future__ import annotations

from datetime import timedelta

from .test_role_groups import claim


def _log(http, query=""):
    r = http("root").get(f"/api/admin/audit{query}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _login(http, name, password):
    return http(None).post("/api/session", json={"username": name, "password": password},
                           environ_base={"REMOTE_ADDR": "10.0.0.7"})


def test_logins_are_audited_whether_they_succeed_or_fail(http):
    assert _login(http, "sid", "wrong-pass-999").status_code == 401
    assert _login(http, "sid", "sid-pass-123").status_code == 201
    assert _login(http, "nosuch", "whatever-123").status_code == 401
    got = [(x["action"], x["actor"], x["address"]) for x in _log(http)["items"]]
    assert got[:3] == [("login_failed", "nosuch", "10.0.0.7"), ("login", "sid", "10.0.0.7"),
                       ("login_failed", "sid", "10.0.0.7")]


def test_account_changes_name_the_admin_who_made_them(claims, who, http):
    claims.users.update("tom", roles=["lead"], actor="root")
    claims.accounts.set_password("tom", "a-fresh-pass-77", actor="root")
    claims.accounts.unlock("tom", actor="root")
    claims.users.deactivate("tom", actor="root")
    claims.users.update("sid", is_admin=True, actor="root")
    items = _log(http, "?user=tom")["items"]
    assert [(x["action"], x["actor"], x["user"]) for x in items] == [
        ("deactivate", "root", "tom"), ("unlock", "root", "tom"), ("password_set", "root", "tom"),
        ("roles", "root", "tom"), ("user_add", "system", "tom")]
    assert items[3]["detail"] == {"from": ["staff"], "to": ["lead"]}
    assert _log(http, "?action=admin_granted")["items"][0]["user"] == "sid"


def test_records_deleted_restored_purged_and_handed_over_are_audited(claims, who, http):
    rec = claim(claims, who["sid"])
    claims.act(who["sid"], "claim", rec.id, "reassign", to="tom")
    claims.delete(who["tom"], "claim", rec.id)
    claims.restore_record(who["root"], "claim", rec.id)
    claims.delete(who["tom"], "claim", rec.id)
    claims.purge_record(who["root"], "claim", rec.id)
    items = [x for x in _log(http)["items"] if x["record_id"] == rec.id]
    assert [(x["action"], x["actor"]) for x in items] == [
        ("purge", "root"), ("delete", "tom"), ("restore", "root"), ("delete", "tom"), ("reassign", "sid")]
    assert items[-1]["detail"] == {"from": "sid", "to": "tom", "number": rec.number}
    assert all(x["form"] == "claim" for x in items)


def test_the_log_filters_by_time_and_pages(claims, who, http, clock):
    start = clock.now()
    for name in ("sid", "tom", "lea"):
        clock.advance(hours=1)
        claims.accounts.unlock(name, actor="root")
    since = (start + timedelta(hours=1, minutes=30)).isoformat() + "Z"
    until = (start + timedelta(hours=3)).isoformat() + "Z"
    got = _log(http, f"?action=unlock&since={since}&until={until}")
    assert [x["user"] for x in got["items"]] == ["tom"] and got["total"] == 1
    page = _log(http, "?action=unlock&limit=2&offset=1")
    assert page["total"] == 3 and [x["user"] for x in page["items"]] == ["tom", "sid"]
    assert http("root").get("/api/admin/audit?since=yesterday").status_code == 400
    assert http("sid").get("/api/admin/audit").status_code == 403
