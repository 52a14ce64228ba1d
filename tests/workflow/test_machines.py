"""Machines: compiled once per workflow version, nothing from YAML handed over as a string."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.engine import Engine
from engine.workflow.machines import LoomMachine
from tests.conftest import VALID
from tests.workflow.fixtures import WORKFLOWS

ROOT = Path(__file__).resolve().parents[2]
TREES = [ROOT / "definitions", VALID, WORKFLOWS / "approvals", WORKFLOWS / "change" / "v1",
         WORKFLOWS / "change" / "v2"]


@pytest.mark.parametrize("tree", TREES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_condition_and_callback_handed_to_transitions_is_a_callable(tree, tmp_path):
    eng = Engine(str(tree), f"sqlite:///{tmp_path / 'm.db'}")
    try:
        assert eng.runtime.machines, "the tree has workflows"
        for cw in eng.runtime.machines.values():
            held = cw.callables()
            if any(step.actions for step in cw.spec.steps.values()):  # not a one-step record
                assert held, cw.spec.id
            assert all(callable(f) and not isinstance(f, str) for f in held), cw.spec.id
            assert cw.machine.models == []  # no record is ever attached
    finally:
        eng.close()


def test_a_string_callback_is_refused_not_imported():
    m = LoomMachine(model=None, states=["a", "b"], initial="a", auto_transitions=False,
                    send_event=True)
    m.add_transition("go", "a", "b", conditions=["os.system"])

    class Subject:
        state = "a"

    with pytest.raises(TypeError, match="refusing to resolve 'os.system'"):
        m.events["go"].trigger(Subject())


def test_reload_swaps_machines_without_a_restart(tmp_path, clock):
    eng = Engine(str(WORKFLOWS / "change" / "v1"), f"sqlite:///{tmp_path / 'r.db'}", clock=clock)
    try:
        before = eng.runtime.machines["contract"]
        assert "legal" in before.machine.states
        eng.reload(str(WORKFLOWS / "change" / "v2"))
        after = eng.runtime.machines["contract"]
        assert after is not before and "legal" not in after.machine.states
        assert after.version != before.version
    finally:
        eng.close()


def test_first_matching_branch_wins(engine):
    from engine.workflow.machines import Subject

    cw = engine.runtime.machines["sales_order"]
    assert cw.fire("approve", Subject("manager_review", lambda fn: True)) == "gm_review"
    assert cw.fire("approve", Subject("manager_review", lambda fn: False)) == "approved"
    assert cw.fire("ship", Subject("approved", lambda fn: False)) is None
    assert cw.fire("approve", Subject("draft", lambda fn: True)) is None
