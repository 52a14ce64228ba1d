"""Line-targeted updates, upserts, invariants on every write and entering a step again,
through the Engine facade over tests/fixtures/workflows/line_flow (every check re-reads)."""
from __future__ import annotations

import shutil
import threading

import pytest
import sqlalchemy as sa

from engine.auth.users import SYSTEM
from engine.errors import ValidationFailed
from engine.store import tables as t
from engine.bootstrap import default_registries
from engine.engine import Engine
from tests.conftest import DEMO_USERS, make_engine
from tests.workflow.fixtures import WORKFLOWS, engine_with_users
from tests.workflow.helpers import reread

TREE = WORKFLOWS / "line_flow"


class Flow:
    def __init__(self, eng, users):
        self.eng, self.u = eng, users
        self.a = eng.create(SYSTEM, "item", {"sku": "A"})
        self.b = eng.create(SYSTEM, "item", {"sku": "B"})

    def plan(self, *lines):
        return self.eng.create(self.u["alice"], "plan", {"lines": [
            {"item": item.id, "qty": qty} for item, qty in lines]})

    def batch(self, plan, *lines):
        """Lines as (plan line index or a line id, item, qty)."""
        rows = []
        for which, item, qty in lines:
            line_id = plan.data["lines"][which]["_id"] if isinstance(which, int) else which
            rows.append({"plan_line": line_id, "item": item.id, "qty": qty})
        return self.eng.create(self.u["walt"], "batch", {"plan": plan.id, "lines": rows})

    def act(self, rec, action, user="walt"):
        return self.eng.act(self.u[user], rec.form, rec.id, action)

    def done(self, plan):
        return [row["done_qty"] for row in reread(self.eng, plan).data["lines"]]

    def tallies(self):
        return {self.eng.get(SYSTEM, "item", r.data["item"]).data["sku"]:
                (r.data["count"], r.data["reserved"])
                for r in self.eng.list(SYSTEM, "tally", order="id").items}

    def memos(self):
        return self.eng.list(SYSTEM, "memo").total


@pytest.fixture
def flow(database_url, clock):
    eng, users = engine_with_users(TREE, database_url, clock)
    yield Flow(eng, users)
    eng.close()


# --- line-targeted updates ----------------------------------------------------------


def test_update_with_line_changes_exactly_the_line_its_id_names(flow):
    plan = flow.plan((flow.a, 5), (flow.a, 7))
    batch = flow.batch(plan, (1, flow.a, 4))
    flow.act(batch, "post")
    assert flow.done(plan) == [0, 4]
    after = reread(flow.eng, plan)
    assert after.version == plan.version + 1
    [*_, event] = flow.eng.history(SYSTEM, "plan", plan.id)
    assert event.detail["by_record"] == {"form": "batch", "id": batch.id, "number": batch.number}
    assert event.diff == {"lines": {"changed": [{"_id": plan.data["lines"][1]["_id"], "at": 2,
                                                 "fields": {"done_qty": [0, 4]}}]}}


def test_update_with_line_keeps_working_after_the_lines_are_reordered(flow):
    plan = flow.plan((flow.a, 5), (flow.b, 7))
    first, second = plan.data["lines"]
    plan = flow.eng.update(flow.u["alice"], "plan", plan.id, {"lines": [second, first]},
                           version=plan.version)
    batch = flow.batch(plan, (first["_id"], flow.a, 2))
    flow.act(batch, "post")
    assert flow.done(plan) == [0, 2]


def test_update_with_where_over_lines_finds_the_one_line_and_reads_its_record(flow):
    plan = flow.plan((flow.a, 5), (flow.b, 7))
    flow.act(flow.batch(plan, (0, flow.b, 3)), "post_by_item")
    lines = reread(flow.eng, plan).data["lines"]
    assert [r["done_qty"] for r in lines] == [0, 3]
    assert lines[1]["note"] == f"by {plan.number}"  # target.record is the line's record


def test_a_line_id_that_names_no_line_is_refused_in_business_words(flow):
    plan = flow.plan((flow.a, 5))
    batch = flow.batch(plan, ("not-a-line", flow.a, 1))
    with pytest.raises(ValidationFailed) as exc:
        flow.act(batch, "post")
    assert exc.value.message == f"Plan: nothing to update was found for Batch {batch.number}, line 1 (A)"
    assert reread(flow.eng, batch).state == "draft" and flow.tallies() == {}


# --- rules are invariants on every write ---------------------------------------------


def test_a_rule_of_the_target_line_refuses_the_whole_transition(flow):
    plan = flow.plan((flow.a, 5), (flow.b, 3))
    flow.act(flow.batch(plan, (1, flow.b, 2)), "post")
    over = flow.batch(plan, (0, flow.a, 1), (1, flow.b, 2))  # line 2 would reach 4 of 3
    with pytest.raises(ValidationFailed) as exc:
        flow.act(over, "post")
    assert exc.value.message == f"Plan {plan.number}, line 2 (B): More done than planned"
    assert exc.value.fields == {}
    # nothing half-applied: line 1 of the plan, the tallies and the batch are as before
    assert flow.done(plan) == [0, 2] and flow.tallies() == {"B": (2, 0)}
    assert reread(flow.eng, over).state == "draft"


def test_the_rule_message_is_in_the_acting_users_language(flow):
    flow.eng.add_user("wang", ["warehouse"], language="zh")
    plan = flow.plan((flow.a, 1))
    batch = flow.eng.create(flow.eng.user("wang"), "batch", {"plan": plan.id, "lines": [
        {"plan_line": plan.data["lines"][0]["_id"], "item": flow.a.id, "qty": 2}]})
    with pytest.raises(ValidationFailed) as exc:
        flow.eng.act(flow.eng.user("wang"), "batch", batch.id, "post")
    assert exc.value.message == f"计划 {plan.number}, 第 1 行 (A): 完成数量超过计划"


def _force_line(ctx, args):
    """A plugin action that writes another record straight through the writer, no form
    validation of its own: the writer still keeps the target's rules."""
    tools = ctx.tools
    plan = tools.reader.record(tools.rt.repo.fetch(ctx.conn, "plan", ctx.values["plan"], lock=True))
    lines = [dict(r) for r in plan.data["lines"]]
    for mine in ctx.values["lines"]:
        for row in lines:
            if row["_id"] == mine["plan_line"]:
                row["done_qty"] += mine["qty"]
    tools.writer.update(ctx.conn, ctx.user, plan, {**plan.data, "lines": lines}, ctx.now)


@pytest.fixture
def forced(tmp_path, database_url, clock):
    """line_flow plus a `force` action whose on-enter plugin action bypasses validation."""
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    wf = tree / "workflows" / "batch.yaml"
    wf.write_text(wf.read_text().replace(
        "      check: {to: checked, by: [warehouse]}\n",
        "      check: {to: checked, by: [warehouse]}\n      force: {to: forced, by: [warehouse]}\n")
        + "  forced:\n    final: true\n    on_enter:\n      - force_line: {}\n")
    regs = default_registries()
    regs.actions.register("force_line", _force_line)
    eng = Engine(str(tree), database_url, clock=clock, registries=regs)
    for name, (roles, manager) in DEMO_USERS.items():
        eng.add_user(name, roles, manager=manager)
    yield Flow(eng, {name: eng.user(name) for name in DEMO_USERS})
    eng.close()


def test_the_writer_keeps_the_rules_whoever_writes(forced):
    plan = forced.plan((forced.a, 5))
    with pytest.raises(ValidationFailed) as exc:
        forced.act(forced.batch(plan, (0, forced.a, 6)), "force")
    assert exc.value.message == f"Plan {plan.number}, line 1 (A): More done than planned"
    assert forced.done(plan) == [0]


def test_only_the_rules_a_change_could_break_are_checked(forced):
    plan = forced.plan((forced.a, 5), (forced.b, 5))
    with forced.eng.db.write() as conn:  # data an older definition allowed: 9 done of 5
        data = conn.execute(sa.select(t.records.c.data).where(t.records.c.id == plan.id)).scalar_one()
        data = {**data, "lines": [data["lines"][0], {**data["lines"][1], "done_qty": 9}]}
        conn.execute(t.records.update().where(t.records.c.id == plan.id).values(data=data))
    # line 2 is not touched: its rule is not evaluated, the write goes through
    forced.act(forced.batch(plan, (0, forced.a, 2)), "force")
    assert forced.done(plan) == [2, 9]
    # a write that changes what line 2's rule reads is refused
    with pytest.raises(ValidationFailed) as exc:
        forced.act(forced.batch(plan, (1, forced.b, 1)), "force")
    assert exc.value.message == f"Plan {plan.number}, line 2 (B): More done than planned"


def _race(engines, users, batches):
    """Both batches post at once, each through its own engine (its own connections)."""
    barrier = threading.Barrier(len(batches))
    outcome: dict[int, object] = {}

    def post(i):
        eng = engines[i]
        barrier.wait()
        try:
            outcome[i] = eng.act(eng.user("walt"), "batch", batches[i].id, "post").state
        except ValidationFailed as exc:
            outcome[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a poster hung"
    return outcome


@pytest.mark.parametrize("round_", range(3))
def test_two_racing_posts_over_one_line__exactly_one_wins(flow, database_url, clock, round_):
    plan = flow.plan((flow.a, 10))
    batches = [flow.batch(plan, (0, flow.a, 6)), flow.batch(plan, (0, flow.a, 6))]
    other = make_engine(TREE, database_url, clock)
    try:
        outcome = _race([flow.eng, other], flow.u, batches)
    finally:
        other.close()
    won = [i for i, o in outcome.items() if o == "posted"]
    lost = [o for o in outcome.values() if isinstance(o, ValidationFailed)]
    assert len(won) == 1 and len(lost) == 1, outcome
    assert lost[0].message == f"Plan {plan.number}, line 1 (A): More done than planned"
    assert flow.done(plan) == [6]
    assert flow.tallies() == {"A": (6, 0)}  # the loser's upsert rolled back with it
    loser = batches[1 - won[0]]
    assert reread(flow.eng, loser).state == "draft"
    assert [e.action for e in flow.eng.history(SYSTEM, "batch", loser.id)] == ["create"]


# --- upsert and the failing action's message -------------------------------------------


def test_create_missing_makes_the_target_then_applies_set(flow):
    plan = flow.plan((flow.a, 10), (flow.b, 10))
    flow.act(flow.batch(plan, (0, flow.a, 2), (1, flow.b, 1)), "post")
    assert flow.tallies() == {"A": (2, 0), "B": (1, 0)}
    flow.act(flow.batch(plan, (0, flow.a, 3)), "post")
    assert flow.tallies() == {"A": (5, 0), "B": (1, 0)}


def test_create_missing_with_a_table_adds_the_line_then_applies_set(flow):
    plan = flow.plan((flow.a, 5))
    flow.act(flow.batch(plan, (0, flow.a, 1), (0, flow.b, 2)), "post_adding")
    lines = reread(flow.eng, plan).data["lines"]
    assert [(r["item"], r["qty"], r["done_qty"]) for r in lines] == [
        (flow.a.id, 5, 1), (flow.b.id, 2, 2)]  # done_qty's default 0, then + 2
    assert lines[1]["_id"] and lines[1]["_id"] != lines[0]["_id"]
    assert reread(flow.eng, plan).data["total"] == 7


def test_without_create_missing_the_user_reads_the_definitions_message(flow):
    plan = flow.plan((flow.a, 10))
    with pytest.raises(ValidationFailed) as exc:
        flow.act(flow.batch(plan, (0, flow.a, 1)), "check")
    assert exc.value.message == "This item has no tally yet; count it first"


def test_without_a_message_the_default_names_the_document_and_line(flow):
    plan = flow.plan((flow.a, 10))
    batch = flow.batch(plan, (0, flow.a, 1))
    with pytest.raises(ValidationFailed) as exc:
        flow.act(batch, "check_plain")
    assert exc.value.message == (f"Tally: nothing to update was found for Batch {batch.number}, "
                                 "line 1 (A)")
    assert "where" not in exc.value.message and "target" not in exc.value.message


# --- entering a step again ---------------------------------------------------------------


def test_a_rejected_change_request_does_not_reserve_twice(flow):
    plan = flow.plan((flow.a, 3))
    flow.act(plan, "approve", "alice")
    assert flow.tallies() == {"A": (0, 3)} and flow.memos() == 1
    flow.act(plan, "request_change", "alice")
    flow.act(plan, "reject", "sam")
    assert reread(flow.eng, plan).state == "approved"
    assert flow.tallies() == {"A": (0, 3)} and flow.memos() == 1
    [*_, back] = flow.eng.history(SYSTEM, "plan", plan.id)
    assert {"skipped": "update", "entry": "from change_review"} in back.detail["on_enter"]


def test_from_runs_again_on_a_listed_entry_and_once_never_does(flow):
    plan = flow.plan((flow.a, 3))
    flow.act(plan, "approve", "alice")
    flow.act(plan, "request_change", "alice")
    flow.act(plan, "accept", "sam")  # back to draft: the stock is the plan's again to reserve
    flow.act(plan, "approve", "alice")
    assert flow.tallies() == {"A": (0, 6)}
    assert flow.memos() == 1
