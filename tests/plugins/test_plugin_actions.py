"""A plugin's on-enter or alert action runs only when its `if` holds; the engine owns the `if`."""
from __future__ import annotations

import shutil

import pytest

from engine.definitions.catalog import check_tree
from engine.engine import Engine
from engine.bootstrap import default_registries
from tests.conftest import FIXTURES

TREE = FIXTURES / "plugin_actions"


def ledger_registries(calls: list):
    regs = default_registries()

    def post_to_ledger(ctx, args):
        calls.append((ctx.record.id, dict(args)["account"]))

    regs.actions.register("post_to_ledger", post_to_ledger)
    return regs


@pytest.fixture
def ledger(database_url, clock):
    calls: list = []
    eng = Engine(str(TREE), database_url, clock=clock, registries=ledger_registries(calls))
    eng.add_user("cleo", ["clerk"])
    yield eng, calls
    eng.close()


def test_plugin_action_runs_only_when_its_if_holds(ledger):
    eng, calls = ledger
    cleo = eng.user("cleo")
    small = eng.create(cleo, "claim", {"title": "taxi", "amount": "40"})
    big = eng.create(cleo, "claim", {"title": "hotel", "amount": "1200"})
    assert calls == [(big.id, "review")]  # the alert's action, for the big claim only
    calls.clear()
    eng.act(cleo, "claim", small.id, "submit")
    eng.act(cleo, "claim", big.id, "submit")
    assert calls == [(small.id, "9999"), (big.id, "6200"), (big.id, "9999")]
    # the plugin got its arguments without the engine's `if`
    assert all(isinstance(account, str) for _, account in calls)


def test_a_plugin_action_if_is_type_checked(tmp_path):
    shutil.copytree(TREE, tmp_path / "t")
    wf = tmp_path / "t" / "workflows" / "claim.yaml"
    wf.write_text(wf.read_text().replace('if: "amount >= 100"', 'if: "amont >= 100"'))
    _, problems = check_tree(str(tmp_path / "t"), ledger_registries([]))
    assert [f"{p.line}:{p.col}: {p.message}" for p in problems] == [
        "11:31: expression 'amont >= 100': unknown name 'amont'; did you mean 'amount'?"]
