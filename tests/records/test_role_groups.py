"""Role groups: a role that `include`s others acts with all of them, in every check."""
from __future__ import annotations

import shutil

import pytest

from engine.errors import ActionRefused, PermissionDenied

from .conftest import HANDOVER


def claim(engine, user, **over):
    return engine.create(user, "claim", {"purpose": "Taxi", "amount": "12.00", **over})


def test_a_user_acts_with_the_closure_of_the_roles_granted(who):
    assert who["dan"].roles == {"director", "lead", "staff"}
    assert who["dan"].assigned_roles == {"director"}
    assert who["lea"].roles == {"lead", "staff"}
    assert who["sid"].roles == {"staff"}


def test_an_included_role_grants_its_create_right(claims, who):
    assert claim(claims, who["lea"]).owner == "lea"  # create: [staff]; lead includes staff
    assert claim(claims, who["dan"]).owner == "dan"  # through lead, transitively
    with pytest.raises(PermissionDenied):
        claim(claims, who["ann"])


def test_approvers_by_role_reach_every_holder_of_a_group_that_includes_it(claims, who):
    rec = claim(claims, who["sid"])
    claims.act(who["sid"], "claim", rec.id, "submit")
    # approvers: {role: staff} — tom holds it, lea and dan through their groups; sid owns it
    assert sorted(t.assignee for t in _open_tasks(claims, rec.id)) == ["dan", "lea", "tom"]
    assert [t.record_id for t in claims.tasks(who["dan"])] == [rec.id]


def test_a_step_actor_role_admits_the_groups_that_include_it(claims, who):
    rec = claim(claims, who["sid"])
    claims.act(who["sid"], "claim", rec.id, "submit")
    claims.act(who["tom"], "claim", rec.id, "approve")
    claims.act(who["sid"], "claim", rec.id, "approve")  # the receipt step: the handler's own task
    with pytest.raises(ActionRefused):  # pay is by: [lead]
        claims.act(who["sid"], "claim", rec.id, "pay")
    assert claims.act(who["dan"], "claim", rec.id, "pay").state == "paid"  # director includes lead


def test_has_role_in_a_rows_rule_sees_the_closure(claims, who):
    rec = claim(claims, who["sid"])
    assert claims.list(who["dan"], "claim").total == 1  # has_role('lead') through director
    assert claims.list(who["tom"], "claim").total == 0
    assert claims.get(who["dan"], "claim", rec.id).id == rec.id


def test_the_users_api_shows_granted_and_effective_roles(http):
    got = http("root").get("/api/users/dan").get_json()
    assert got["roles"] == ["director"]
    assert got["effective_roles"] == ["director", "lead", "staff"]


def test_a_reload_that_drops_an_include_takes_the_right_away(claims, who, tmp_path):
    tree = tmp_path / "app"
    shutil.copytree(HANDOVER, tree)
    app = tree / "app.yaml"
    app.write_text(app.read_text().replace("include: [lead]", "include: []"))
    claims.reload(str(tree))
    assert claims.user("dan").roles == {"director"}
    with pytest.raises(PermissionDenied):
        claim(claims, claims.user("dan"))


def _open_tasks(engine, record_id):
    return [t for name in ("dan", "lea", "sid", "tom") for t in engine.tasks(engine.user(name))
            if t.record_id == record_id]
