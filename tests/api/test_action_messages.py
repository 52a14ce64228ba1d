"""What an end user reads through the JSON API when an on-enter action cannot do its work:
the definition's message or the rule's, never the engine's where clause."""
from __future__ import annotations

import pytest

from engine.auth.users import SYSTEM
from tests.api.conftest import Api
from tests.workflow.fixtures import WORKFLOWS, engine_with_users
from web import create_app


@pytest.fixture
def world(database_url, clock):
    eng, users = engine_with_users(WORKFLOWS / "line_flow", database_url, clock)
    app = create_app(eng, secret_key="test-secret")
    app.config["TESTING"] = True
    item = eng.create(SYSTEM, "item", {"sku": "A"})
    plan = eng.create(users["alice"], "plan", {"lines": [{"item": item.id, "qty": 2}]})
    yield eng, (lambda name: Api(app, eng.create_token(name))), item, plan
    eng.close()


def batch(api, plan, item, qty):
    r = api("walt").post("/api/forms/batch/records", json={"data": {"plan": plan.id, "lines": [
        {"plan_line": plan.data["lines"][0]["_id"], "item": item.id, "qty": qty}]}})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def test_no_target_answers_the_definitions_message(world):
    eng, api, item, plan = world
    b = batch(api, plan, item, 1)
    r = api("walt").post(f"/api/forms/batch/records/{b['id']}/actions/check", json={})
    assert r.status_code == 422
    assert r.get_json()["error"]["message"] == "This item has no tally yet; count it first"


def test_a_broken_rule_answers_the_rules_message_naming_document_and_line(world):
    eng, api, item, plan = world
    b = batch(api, plan, item, 3)
    r = api("walt").post(f"/api/forms/batch/records/{b['id']}/actions/post", json={})
    assert r.status_code == 422
    assert r.get_json()["error"] == {"code": "validation_failed", "fields": {},
                                     "message": f"Plan {plan.number}, line 1 (A): More done than planned"}
    assert api("walt").get(f"/api/forms/batch/records/{b['id']}").get_json()["state"] == "draft"
