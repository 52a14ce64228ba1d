"""Delete and restore: the trash (soft delete), who may delete where, links, admins' restore/purge."""
from __future__ import annotations

import shutil

import pytest

from engine.errors import ActionRefused, Conflict, NotFound, PermissionDenied

from .conftest import HANDOVER
from .test_role_groups import claim


def test_the_owner_deletes_a_draft_and_it_is_gone_from_lists_reads_and_links(claims, who):
    project = claims.create(who["sid"], "project", {"name": "Expo"})
    rec = claim(claims, who["sid"])
    gone = claims.delete(who["sid"], "claim", rec.id, version=rec.version)
    assert gone.version == rec.version + 1
    assert claims.list(who["sid"], "claim").total == 0
    assert claims.list(who["root"], "claim", filter="purpose == 'Taxi'").total == 0
    with pytest.raises(NotFound):
        claims.get(who["root"], "claim", rec.id)
    # the project no longer has a live claim linking to it, so it may go as well
    claims.delete(who["sid"], "project", project.id)


def test_delete_is_refused_outside_the_steps_that_allow_it(claims, who):
    rec = claim(claims, who["sid"])
    claims.act(who["sid"], "claim", rec.id, "submit")
    with pytest.raises(PermissionDenied) as err:
        claims.delete(who["sid"], "claim", rec.id)
    assert err.value.message == "records in step review cannot be deleted"
    with pytest.raises(PermissionDenied):  # admins too: the step is the record's state, not a role
        claims.delete(who["root"], "claim", rec.id)


def test_only_the_roles_named_may_delete(claims, who):
    rec = claim(claims, who["sid"])
    with pytest.raises(PermissionDenied) as err:
        claims.delete(who["lea"], "claim", rec.id)
    assert err.value.message == "only owner may delete this record in step draft"
    assert claims.delete(who["root"], "claim", rec.id).id == rec.id


def test_delete_is_refused_while_other_records_link_to_it_and_says_which(claims, who):
    project = claims.create(who["sid"], "project", {"name": "Expo"})
    one = claim(claims, who["sid"], project=project.id)
    two = claim(claims, who["tom"], project=project.id)
    with pytest.raises(ActionRefused) as err:
        claims.delete(who["sid"], "project", project.id)
    assert err.value.reason == "linked"
    assert err.value.message == (f"{project.number} cannot be deleted while other records link to it: "
                                 f"Expense claim {one.number}, Expense claim {two.number}; "
                                 "change or delete those first")


def test_a_stale_version_is_a_conflict(claims, who):
    rec = claim(claims, who["sid"])
    with pytest.raises(Conflict):
        claims.delete(who["sid"], "claim", rec.id, version=rec.version - 1)


def test_history_keeps_the_deletion_and_the_restore(claims, who):
    rec = claim(claims, who["sid"])
    claims.delete(who["sid"], "claim", rec.id, comment="typed by mistake")
    back = claims.restore_record(who["root"], "claim", rec.id)
    assert (back.state, back.version, back.owner) == ("draft", rec.version + 2, "sid")
    events = claims.history(who["sid"], "claim", rec.id)
    assert [(e.action, e.actor, e.comment) for e in events[-2:]] == [
        ("delete", "sid", "typed by mistake"), ("restore", "root", None)]
    assert claims.list(who["sid"], "claim").total == 1
    assert claims.update(who["sid"], "claim", rec.id, {"purpose": "Bus"}, back.version).data["purpose"] == "Bus"


def test_deleting_cancels_open_tasks_and_restoring_reopens_them(claims, who, tmp_path):
    # a workflow whose review step allows deleting, to the lead
    tree = _copy_with(tmp_path, "      return: {to: draft}\n",
                      "      return: {to: draft}\n    delete: [lead]\n")
    claims.reload(str(tree))
    rec = claim(claims, who["sid"])
    claims.act(who["sid"], "claim", rec.id, "submit")
    assert [t.record_id for t in claims.tasks(who["tom"])] == [rec.id]
    with pytest.raises(PermissionDenied):  # the step names lead, not the owner
        claims.delete(who["sid"], "claim", rec.id)
    claims.delete(claims.user("lea"), "claim", rec.id)
    assert claims.tasks(who["tom"]) == [] and claims.tasks(who["dan"]) == []
    # the inbox page counts what it lists (an open task's count reads no record: the trash
    # closed every open task of its records); a page of one, so the count runs
    other = claim(claims, who["sid"])
    claims.act(who["sid"], "claim", other.id, "submit")
    page = claims.task_page(who["tom"], limit=1, capped_total=False)
    assert ([x.record_id for x in page.items], page.total) == ([other.id], 1)
    claims.restore_record(who["root"], "claim", rec.id)
    assert [t.record_id for t in claims.tasks(who["tom"])] == [other.id, rec.id]
    page = claims.task_page(who["tom"], limit=1, capped_total=False)
    assert ([x.record_id for x in page.items], page.total) == ([other.id], 2)


def test_admins_see_the_trash_and_purge_for_good(claims, who):
    rec = claim(claims, who["sid"])
    other = claim(claims, who["tom"])
    claims.delete(who["sid"], "claim", rec.id)
    claims.delete(who["tom"], "claim", other.id)
    page = claims.trash(who["root"], "claim")
    assert page.total == 2 and [x.record.id for x in page.items] == [other.id, rec.id]
    assert page.items[0].deleted_by == "tom"
    with pytest.raises(PermissionDenied):
        claims.trash(who["sid"])
    with pytest.raises(PermissionDenied):
        claims.restore_record(who["sid"], "claim", rec.id)
    claims.purge_record(who["root"], "claim", rec.id)
    assert [x.record.id for x in claims.trash(who["root"]).items] == [other.id]
    with pytest.raises(NotFound):
        claims.restore_record(who["root"], "claim", rec.id)
    with pytest.raises(ActionRefused):  # purge takes only what is in the trash
        claims.purge_record(who["root"], "claim", claim(claims, who["sid"]).id)


def _copy_with(tmp_path, old, new):
    tree = tmp_path / "app"
    shutil.copytree(HANDOVER, tree)
    wf = tree / "workflows" / "claim.yaml"
    text = wf.read_text()
    assert old in text
    wf.write_text(text.replace(old, new, 1))
    return tree
