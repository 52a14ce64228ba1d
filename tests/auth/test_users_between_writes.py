"""What one write remembers of users for the next (store/writer_memory.py) is never stale:
a user changed in this process, by another Engine on the same database, or by a reload of
the role groups counts from the next action on; a change rolled back is not remembered."""
from __future__ import annotations

import shutil
from datetime import date

import pytest

from engine.errors import ActionRefused
from tests.conftest import VALID, make_engine
from tests.workflow.helpers import new_order, seed_catalog


def _submitted(engine, users, catalog) -> list[str]:
    """Submit a new order; the assignees of its manager_review tasks."""
    order = new_order(engine, users["alice"], *catalog)
    engine.act(users["alice"], "sales_order", order.id, "submit")
    return sorted(t.assignee for t in engine.step_tasks(users["alice"], order))


def _last_subject(engine, user) -> str:
    return engine.notifications(user)[0]["subject"]


def test_a_user_changed_by_another_engine_on_the_same_database_counts_at_the_next_action(
        engine, users, database_url, clock):
    catalog = seed_catalog(engine, users)
    assert _submitted(engine, users, catalog) == ["sam", "sue"]  # the writer remembers them
    assert _last_subject(engine, users["sam"]).startswith("New task")
    other = make_engine(VALID, database_url, clock)
    try:
        other.users.update("sue", roles=["sales"])
        other.users.update("sam", language="zh")
        assert _submitted(engine, users, catalog) == ["sam"]
        assert _last_subject(engine, users["sam"]).startswith("新待办")  # his language now
        other.users.deactivate("sam")
        with pytest.raises(ActionRefused) as refused:
            _submitted(engine, users, catalog)
        assert refused.value.reason == "no_approvers"
        other.users.reactivate("sam")
        other.set_out_of_office(other.user("sam"), date(2026, 3, 1), None, "gm")
        assert _submitted(engine, users, catalog) == ["gm"]  # sam away: his deputy
    finally:
        other.close()


def test_a_user_changed_in_this_process_counts_at_once(engine, users):
    catalog = seed_catalog(engine, users)
    assert _submitted(engine, users, catalog) == ["sam", "sue"]
    engine.users.update("sue", roles=["sales"])
    assert _submitted(engine, users, catalog) == ["sam"]
    engine.users.deactivate("sam")
    with pytest.raises(ActionRefused) as refused:
        _submitted(engine, users, catalog)
    assert refused.value.reason == "no_approvers"
    engine.users.reactivate("sam")
    engine.users.update("sue", roles=["sales_manager"])
    engine.set_out_of_office(engine.user("sam"), date(2026, 3, 1), None, "gm")
    assert _submitted(engine, users, catalog) == ["gm", "sue"]


def test_a_users_change_rolled_back_is_not_remembered(engine, users):
    """Inside the write that changes sue's roles an action sees the change; the write rolls
    back, and the next action sees sue as the database has her again."""
    catalog = seed_catalog(engine, users)
    assert _submitted(engine, users, catalog) == ["sam", "sue"]
    with pytest.raises(RuntimeError):
        with engine.db.write():
            engine.users.update("sue", roles=["sales"])
            assert _submitted(engine, users, catalog) == ["sam"]
            raise RuntimeError("roll it all back")
    assert _submitted(engine, users, catalog) == ["sam", "sue"]


def test_role_groups_changed_by_a_reload_count_for_users_already_remembered(
        engine, users, tmp_path):
    catalog = seed_catalog(engine, users)
    assert _submitted(engine, users, catalog) == ["sam", "sue"]
    changed = tmp_path / "defs"
    shutil.copytree(VALID, changed)
    app = changed / "app.yaml"
    app.write_text(app.read_text().replace(
        "  - general_manager\n", "  - {name: general_manager, include: [sales_manager]}\n"))
    engine.reload(str(changed))
    assert _submitted(engine, users, catalog) == ["gm", "sam", "sue"]
