"""Reload swaps the runtime snapshot in one assignment: an operation running meanwhile sees
the old definitions or the new ones, never a mix.

The reader is parked (an event, never a sleep) inside an expression of the
old workflow while another thread reloads; when it resumes, everything it
still derives (the step's actions, where they lead, who approves there)
comes from the snapshot it started with.
"""
from __future__ import annotations

import shutil
import threading

import pytest

from engine.expr import types as T
from engine.bootstrap import default_registries
from engine.engine import Engine
from tests.conftest import FIXTURES

CHANGE = FIXTURES / "workflows" / "change"
WAIT = 30  # seconds a parked thread waits before the test fails instead of hanging


def gated_tree(src, dst, field: str = "party"):
    """The contract workflow with `submit` guarded by `gate(<field>)` (a registered function);
    the form's field named `field`."""
    shutil.copytree(src, dst)
    wf = dst / "workflows" / "contract.yaml"
    text = wf.read_text()
    for to in ("legal", "review"):
        text = text.replace(f"submit: {{to: {to}, by: [owner]}}",
                            f"submit: {{to: {to}, by: [owner], if: \"gate({field})\"}}")
    assert f"gate({field})" in text
    wf.write_text(text)
    form = dst / "forms" / "contract.yaml"
    form.write_text(form.read_text().replace("name: party,", f"name: {field},"))
    return dst


class Gate:
    """`gate(x)` is true; armed, the first call parks its thread until released."""

    def __init__(self):
        self.armed = False
        self.parked, self.release = threading.Event(), threading.Event()

    def __call__(self, value):
        if self.armed:
            self.armed = False
            self.parked.set()
            assert self.release.wait(WAIT), "never released"
        return True


@pytest.fixture
def gated(tmp_path, database_url, clock):
    gate = Gate()
    regs = default_registries()
    regs.functions.register("gate", gate, lambda args: T.t(T.BOOLEAN))
    v1 = gated_tree(CHANGE / "v1", tmp_path / "v1")
    # v2: no legal step, and the form's `party` is now `counterparty`
    v2 = gated_tree(CHANGE / "v2", tmp_path / "v2", field="counterparty")
    eng = Engine(str(v1), database_url, clock=clock, registries=regs)
    for name, roles in {"ann": ["sales"], "gm": ["general_manager"], "pat": ["purchasing"]}.items():
        eng.add_user(name, roles)
    yield eng, gate, v2
    eng.close()


def where_submit_leads(explained: list[dict]) -> tuple:
    [submit] = [e for e in explained if e["action"] == "submit"]
    return (sorted(e["action"] for e in explained if e["available"]), submit["next"],
            [a["user"] for a in submit["approvers"]])


def test_a_reader_during_reload_sees_the_old_definitions_throughout(gated):
    eng, gate, v2 = gated
    ann = eng.user("ann")
    rec = eng.create(ann, "contract", {"party": "Initech"})
    old = eng.explain(ann, rec)
    assert where_submit_leads(old)[1:] == ("legal", ["gm"])

    seen: dict = {}
    gate.armed = True
    reader = threading.Thread(target=lambda: seen.update(result=eng.explain(ann, rec)))
    reader.start()
    assert gate.parked.wait(WAIT), "the reader never reached the gate"
    before = eng.runtime
    eng.reload(str(v2))  # completes while the reader is parked mid-explain
    assert eng.runtime is not before
    gate.release.set()
    reader.join(WAIT)
    assert not reader.is_alive()

    # all of it from the old snapshot: the same answer, word for word (a mix would
    # evaluate the old step's `gate(party)` against the new form, which has no `party`)
    assert seen["result"] == old
    new = eng.explain(ann, rec)  # a new operation: all of it new
    assert where_submit_leads(new)[1:] == ("review", ["pat"])
    [submit] = [e for e in new if e["action"] == "submit"]
    assert submit["branches"][0]["if"] == "gate(counterparty)"


def test_reload_replaces_the_snapshot_whole_and_never_changes_the_old_one(gated):
    eng, _, v2 = gated
    before = eng.runtime
    machines, forms, defs = before.machines, before.forms, before.defs
    eng.reload(str(v2))
    after = eng.runtime
    assert after is not before and after.defs is not defs
    assert before.machines is machines and before.forms is forms and before.defs is defs
    assert "legal" in before.machines["contract"].machine.states
    assert "legal" not in after.machines["contract"].machine.states
    with pytest.raises(AttributeError):
        after.machines = machines  # frozen: a snapshot is replaced, never patched
