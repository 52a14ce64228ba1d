"""Record hand-over (`reassign`, 转交 of the record): owner, owner_field, tasks, history, notice."""
from __future__ import annotations

import pytest

from engine.errors import ActionRefused, Conflict, NotFound, PermissionDenied, ValidationFailed

from .test_role_groups import claim


def test_after_hand_over_the_new_owner_may_edit_and_submit_and_the_old_one_may_not(claims, who):
    rec = claim(claims, who["sid"])
    after = claims.act(who["sid"], "claim", rec.id, "reassign", to="tom", comment="I am away")
    assert (after.owner, after.data["handler"], after.version) == ("tom", "tom", rec.version + 1)
    # the rows rule (owner or handler) no longer shows sid the claim at all
    with pytest.raises(NotFound):
        claims.update(who["sid"], "claim", rec.id, {"purpose": "Train"}, after.version)
    with pytest.raises(NotFound):
        claims.act(who["sid"], "claim", rec.id, "submit")
    # lea still reads it (has_role('lead')) but edits and submits are the owner's
    with pytest.raises(PermissionDenied):
        claims.update(who["lea"], "claim", rec.id, {"purpose": "Train"}, after.version)
    with pytest.raises(ActionRefused):
        claims.act(who["lea"], "claim", rec.id, "submit")
    edited = claims.update(who["tom"], "claim", rec.id, {"purpose": "Train"}, after.version)
    assert claims.act(who["tom"], "claim", rec.id, "submit").state == "review"
    assert edited.data["purpose"] == "Train"


def test_hand_over_keeps_history_and_tells_the_new_owner(claims, who):
    rec = claim(claims, who["sid"])
    claims.act(who["lea"], "claim", rec.id, "reassign", to="tom", comment="tom covers sid")
    last = claims.history(who["root"], "claim", rec.id)[-1]
    assert (last.action, last.actor, last.comment) == ("reassign", "lea", "tom covers sid")
    assert last.detail == {"from": "sid", "to": "tom"}
    assert last.diff == {"handler": ["sid", "tom"], "owner": ["sid", "tom"]}
    notes = claims.notifications(who["tom"])
    assert [n["subject"] if isinstance(n, dict) else n.subject for n in notes] == \
        [f"lea handed {rec.number} over to you"]


@pytest.mark.parametrize("actor, allowed", [
    ("sid", True),    # the owner
    ("lea", True),    # the owner's manager
    ("dan", True),    # permissions.reassign: [director]
    ("root", True),   # an administrator
    ("ann", False),   # a reader (the rows rule shows auditors every claim), no more
])
def test_who_may_hand_a_record_over(claims, who, actor, allowed):
    rec = claim(claims, who["sid"])
    if allowed:
        assert claims.act(who[actor], "claim", rec.id, "reassign", to="tom").owner == "tom"
    else:
        with pytest.raises(PermissionDenied):
            claims.act(who[actor], "claim", rec.id, "reassign", to="tom")


def test_hand_over_names_an_active_user_who_may_read_the_form(claims, who):
    rec = claim(claims, who["sid"])
    for to, message in [("nobody", "there is no active user 'nobody'"),
                        ("sid", "sid already owns the record"),
                        ("root", None)]:
        if message is None:
            assert claims.act(who["sid"], "claim", rec.id, "reassign", to=to).owner == "root"
            continue
        with pytest.raises(ValidationFailed) as err:
            claims.act(who["sid"], "claim", rec.id, "reassign", to=to)
        assert err.value.fields == {"to": message}


def test_the_old_owners_open_tasks_move_to_the_new_owner(claims, who):
    rec = claim(claims, who["sid"])
    claims.act(who["sid"], "claim", rec.id, "submit")
    claims.act(who["tom"], "claim", rec.id, "approve")  # to receipt: the handler's (sid's) task
    assert [t.record_id for t in claims.tasks(who["sid"])] == [rec.id]
    after = claims.act(who["lea"], "claim", rec.id, "reassign", to="tom")
    assert claims.tasks(who["sid"]) == []
    moved = claims.tasks(who["tom"])
    assert [(t.record_id, t.step, t.transferred_from) for t in moved] == [(rec.id, "receipt", "sid")]
    assert claims.history(who["root"], "claim", rec.id)[-1].detail["tasks"] == \
        [{"id": moved[0].id, "assignee": "tom", "transferred_from": "sid"}]
    with pytest.raises(Conflict):  # "your task in step receipt was transferred; reload the record"
        claims.act(who["sid"], "claim", rec.id, "approve")
    assert claims.act(who["tom"], "claim", rec.id, "approve", version=after.version).state == "approved"


def test_a_form_without_workflow_is_handed_over_too(claims, who):
    project = claims.create(who["sid"], "project", {"name": "Expo"})
    assert [a["name"] for a in claims.available_actions(who["sid"], project)] == ["reassign"]
    assert claims.available_actions(who["tom"], project) == []
    assert claims.act(who["sid"], "project", project.id, "reassign", to="tom").owner == "tom"
    assert claims.update(who["tom"], "project", project.id, {"name": "Expo 2"}, 2).data["name"] == "Expo 2"


def test_a_finished_record_is_not_handed_over(claims, who, clock):
    rec = claim(claims, who["sid"])
    for actor, action in [("sid", "submit"), ("tom", "approve"), ("sid", "approve"), ("lea", "pay")]:
        claims.act(who[actor], "claim", rec.id, action)
    with pytest.raises(ActionRefused) as err:
        claims.act(who["root"], "claim", rec.id, "reassign", to="tom")
    assert err.value.reason == "final_step"


def test_explain_offers_hand_over_and_says_why_not_to_others(claims, who):
    project = claims.create(who["sid"], "project", {"name": "Expo"})
    [entry] = claims.explain(who["sid"], project)
    assert (entry["action"], entry["available"]) == ("reassign", True)
    rec = claim(claims, who["sid"])
    seen = {e["action"]: e for e in claims.explain(who["ann"], rec)}
    assert (seen["reassign"]["available"], seen["reassign"]["reason"]) == (False, "not_permitted")
