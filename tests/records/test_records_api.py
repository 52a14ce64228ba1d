"""Hand-over, delete, the trash and the audit log through the JSON API."""
from __future__ import annotations


def _claim(api, **over):
    r = api.post("/api/forms/claim/records", json={"data": {"purpose": "Taxi", "amount": "12.00", **over}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_reassign_over_the_api_hands_the_record_to_the_new_owner(http):
    sid, tom = http("sid"), http("tom")
    rec = _claim(sid)
    assert "reassign" in [a["name"] for a in rec["actions"]]
    r = sid.post(f"/api/forms/claim/records/{rec['id']}/actions/reassign", json={"to": "tom", "comment": "away"})
    assert r.status_code == 200
    assert (r.get_json()["owner"], r.get_json()["data"]["handler"]) == ("tom", "tom")
    r = tom.patch(f"/api/forms/claim/records/{rec['id']}",
                  json={"data": {"purpose": "Bus"}, "version": r.get_json()["version"]})
    assert r.status_code == 200
    assert sid.get(f"/api/forms/claim/records/{rec['id']}").status_code == 404
    r = http("ann").post(f"/api/forms/claim/records/{rec['id']}/actions/reassign", json={"to": "sid"})
    assert r.status_code == 403


def test_delete_answers_204_403_409_with_a_reason(http):
    sid, lea = http("sid"), http("lea")
    project = sid.post("/api/forms/project/records", json={"data": {"name": "Expo"}}).get_json()
    rec = _claim(sid, project=project["id"])
    assert rec["deletable"] is True
    assert lea.get(f"/api/forms/claim/records/{rec['id']}").get_json()["deletable"] is False
    r = lea.delete(f"/api/forms/claim/records/{rec['id']}")
    assert (r.status_code, r.get_json()["error"]["code"]) == (403, "permission_denied")
    r = sid.delete(f"/api/forms/project/records/{project['id']}")
    assert r.status_code == 409
    assert r.get_json()["error"]["reason"] == "linked"
    assert rec["number"] in r.get_json()["error"]["message"]
    r = sid.delete(f"/api/forms/claim/records/{rec['id']}", json={"version": rec["version"] + 5})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    r = sid.delete(f"/api/forms/claim/records/{rec['id']}", json={"version": rec["version"]})
    assert (r.status_code, r.data) == (204, b"")
    assert sid.get(f"/api/forms/claim/records/{rec['id']}").status_code == 404
    assert sid.get("/api/forms/claim/records").get_json()["total"] == 0
    submitted = _claim(sid)
    sid.post(f"/api/forms/claim/records/{submitted['id']}/actions/submit")
    r = sid.delete(f"/api/forms/claim/records/{submitted['id']}")
    assert r.status_code == 403
    assert r.get_json()["error"]["message"] == "records in step review cannot be deleted"


def test_admins_list_restore_and_purge_the_trash(http):
    sid, root = http("sid"), http("root")
    one, two = _claim(sid), _claim(sid)
    for rec in (one, two):
        assert sid.delete(f"/api/forms/claim/records/{rec['id']}").status_code == 204
    assert sid.get("/api/trash").status_code == 403
    page = root.get("/api/trash?form=claim").get_json()
    assert page["total"] == 2
    assert [(x["id"], x["deleted_by"]) for x in page["items"]] == [(two["id"], "sid"), (one["id"], "sid")]
    r = root.post(f"/api/trash/claim/{one['id']}/restore")
    assert r.status_code == 200 and r.get_json()["state"] == "draft"
    assert sid.get(f"/api/forms/claim/records/{one['id']}").status_code == 200
    assert root.post(f"/api/trash/claim/{one['id']}/restore").get_json()["error"]["reason"] == "not_deleted"
    assert root.delete(f"/api/trash/claim/{two['id']}").status_code == 204
    assert root.get("/api/trash").get_json()["total"] == 0
    assert root.get(f"/api/forms/claim/records/{two['id']}/history").status_code == 404
