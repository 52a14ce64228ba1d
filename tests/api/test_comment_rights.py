"""Who may comment (DESIGN: a built-in of approval steps for its approvers, the record's owner
and whoever was copied in): any other reader of the record is refused with 403."""
from __future__ import annotations

import pytest

from engine.errors import PermissionDenied
from tests.workflow.helpers import new_order, seed_catalog


def comments(engine, user, rec) -> list[str]:
    return [e.comment for e in engine.history(user, rec.form, rec.id) if e.action == "comment"]


def action_names(engine, user, rec) -> list[str]:
    return [a["name"] for a in engine.available_actions(user, engine.get(user, rec.form, rec.id))]


@pytest.fixture
def submitted(engine, users):
    customer, product = seed_catalog(engine, users)
    order = new_order(engine, users["alice"], customer, product)
    rec = engine.act(users["alice"], "sales_order", order.id, "submit")
    # a sales manager who joins after the step began: reads every order, holds no task
    engine.add_user("rhea", ["sales_manager"], password="rhea-pass-123")
    return rec


def test_a_reader_who_is_no_approver_owner_or_cc_may_not_comment(engine, users, submitted):
    sue = engine.user("rhea")
    engine.get(sue, "sales_order", submitted.id)
    with pytest.raises(PermissionDenied, match="approvers, the owner and users copied in"):
        engine.act(sue, "sales_order", submitted.id, "comment", comment="drive-by")
    assert "comment" not in action_names(engine, sue, submitted)
    assert comments(engine, users["root"], submitted) == []


def test_the_approver_and_the_owner_may_comment(engine, users, submitted):
    engine.act(users["sam"], "sales_order", submitted.id, "comment", comment="checking")
    engine.act(users["alice"], "sales_order", submitted.id, "comment", comment="thanks")
    assert "comment" in action_names(engine, users["sam"], submitted)
    assert comments(engine, users["root"], submitted) == ["checking", "thanks"]


@pytest.mark.outbox_ok  # being copied in queues a notification; delivery is not the point
def test_a_user_copied_in_may_comment(engine, users, submitted):
    engine.act(users["sam"], "sales_order", submitted.id, "cc", to="rhea")
    engine.act(engine.user("rhea"), "sales_order", submitted.id, "comment", comment="seen")
    assert comments(engine, users["root"], submitted) == ["seen"]


def test_comment_by_a_stranger_is_403_over_http(app, api, users, submitted):
    r = api("rhea").post(f"/api/forms/sales_order/records/{submitted.id}/actions/comment",
                        json={"comment": "drive-by"})
    assert r.status_code == 403
