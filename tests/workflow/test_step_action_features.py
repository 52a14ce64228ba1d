"""On-enter `if`, `update.where` and `create.lines`, through the Engine facade.

The fixture tree `workflows/step_features` places an order: a conditional
`set`, stock reserved in bins found by product and depot (`where`), a job
per made-to-order line (`each` + `if`), a request with the order's lines
(`lines`, filtered by its own `if`), a conditional `notify`, and an alert
that raises a request with lines. Each job also gets its product's recipe
(`lines.from: line.product.recipe.parts`, through links), and an alert on a
new job asks for its parts (`from: product.recipe.parts`, without `each`).
Every check re-reads from the database.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.auth.users import SYSTEM
from engine.errors import LoomError, ValidationFailed
from tests.workflow.fixtures import WORKFLOWS, engine_with_users
from tests.workflow.helpers import reread

TREE = WORKFLOWS / "step_features"


@pytest.fixture
def shop(database_url, clock):
    eng, users = engine_with_users(TREE, database_url, clock)
    yield Shop(eng, users)
    eng.close()


class Shop:
    def __init__(self, eng, users):
        self.eng, self.u = eng, users
        self.sh = eng.create(SYSTEM, "depot", {"code": "SH"})
        self.gz = eng.create(SYSTEM, "depot", {"code": "GZ"})
        self.chair = eng.create(SYSTEM, "product", {"sku": "CH", "price": "100"})
        self.lamp = eng.create(SYSTEM, "product", {"sku": "LP", "price": "40"})
        self.sofa = eng.create(SYSTEM, "product", {"sku": "SF", "price": "900",
                                                   "made_to_order": True})
        self.bins = {}
        for p in (self.chair, self.lamp):
            for d in (self.sh, self.gz):
                self.bins[p.data["sku"], d.data["code"]] = eng.create(
                    SYSTEM, "bin", {"product": p.id, "depot": d.id, "on_hand": 20})

    def order(self, lines, depot=None, **extra):
        return self.eng.create(self.u["alice"], "order", {
            "depot": (depot or self.sh).id, "lines": lines, **extra})

    def place(self, order):
        return self.eng.act(self.u["alice"], "order", order.id, "place")

    def bin(self, sku, depot="SH"):
        return reread(self.eng, self.bins[sku, depot]).data

    def all(self, form):
        return self.eng.list(SYSTEM, form, order="id").items


# --- if ------------------------------------------------------------------------------


def test_set_with_if__runs_only_when_the_condition_holds(shop):
    small = shop.place(shop.order([{"product": shop.lamp.id, "qty": 2}]))
    big = shop.place(shop.order([{"product": shop.chair.id, "qty": 10}]))
    assert reread(shop.eng, small).data["flagged"] is False
    assert reread(shop.eng, big).data["flagged"] is True


def test_notify_with_if__sees_values_set_before_it(shop):
    shop.place(shop.order([{"product": shop.lamp.id, "qty": 1}]))
    assert shop.eng.notifications(shop.u["walt"]) == []
    big = shop.place(shop.order([{"product": shop.chair.id, "qty": 10}]))
    assert [n["subject"] for n in shop.eng.notifications(shop.u["walt"])] == [
        f"{big.number} is big"]


def test_create_each_with_if__one_record_per_matching_line(shop):
    order = shop.place(shop.order([
        {"product": shop.chair.id, "qty": 1},
        {"product": shop.sofa.id, "qty": 2, "colour": "sage"},
        {"product": shop.sofa.id, "qty": 1, "colour": "sand"}]))
    jobs = shop.all("job")
    assert [(j.data["order"], j.data["product"], j.data["qty"], j.data["colour"]) for j in jobs] == [
        (order.id, shop.sofa.id, 2, "sage"), (order.id, shop.sofa.id, 1, "sand")]


def test_update_each_with_if__skips_lines_that_do_not_match(shop):
    # the sofa has no bin: without the `if`, `where` would find none and fail
    shop.place(shop.order([{"product": shop.sofa.id, "qty": 1},
                           {"product": shop.lamp.id, "qty": 3}]))
    assert shop.bin("LP")["reserved"] == 3


# --- update ... where -----------------------------------------------------------------


def test_update_where__finds_the_one_record_by_field_values(shop):
    shop.place(shop.order([{"product": shop.chair.id, "qty": 4, "price": "95.50"},
                           {"product": shop.lamp.id, "qty": 2}], depot=shop.gz))
    assert (shop.bin("CH", "GZ")["reserved"], shop.bin("CH", "GZ")["last_price"]) == (
        4, Decimal("95.50"))
    assert shop.bin("LP", "GZ")["reserved"] == 2
    assert shop.bin("CH", "SH")["reserved"] == shop.bin("LP", "SH")["reserved"] == 0


def test_update_where__each_order_and_line_finds_its_own_target_every_time(shop):
    # the where statement is compiled once and reused with each line's values bound
    shop.place(shop.order([{"product": shop.chair.id, "qty": 1}, {"product": shop.lamp.id, "qty": 2}]))
    shop.place(shop.order([{"product": shop.lamp.id, "qty": 3}], depot=shop.gz))
    shop.place(shop.order([{"product": shop.chair.id, "qty": 5}], depot=shop.gz))
    shop.place(shop.order([{"product": shop.lamp.id, "qty": 7}]))
    assert {k: shop.bin(*k)["reserved"] for k in shop.bins} == {
        ("CH", "SH"): 1, ("LP", "SH"): 9, ("CH", "GZ"): 5, ("LP", "GZ"): 3}
    hall = shop.eng.create(SYSTEM, "depot", {"code": "HALL"})
    with pytest.raises(ValidationFailed):  # values the reused statement finds nothing for
        shop.place(shop.order([{"product": shop.lamp.id, "qty": 1}], depot=hall))
    assert shop.bin("LP")["reserved"] == 9


def test_update_where__no_match_is_an_error_and_rolls_everything_back(shop):
    hall = shop.eng.create(SYSTEM, "depot", {"code": "HALL"})
    order = shop.order([{"product": shop.lamp.id, "qty": 1},
                        {"product": shop.chair.id, "qty": 1}], depot=hall, priority="high")
    with pytest.raises(ValidationFailed) as exc:
        shop.place(order)
    # what the end user reads: the business problem, never the engine's where clause
    assert exc.value.message == "Bin: nothing to update was found for Order O-0001, line 1 (LP)"
    assert exc.value.fields == {}
    assert reread(shop.eng, order).state == "draft"
    assert shop.all("request") == [] and shop.all("job") == []


def test_update_where__several_matches_is_an_error(shop):
    shop.eng.create(SYSTEM, "bin", {"product": shop.lamp.id, "depot": shop.sh.id})
    order = shop.order([{"product": shop.chair.id, "qty": 1},
                        {"product": shop.lamp.id, "qty": 1}])
    with pytest.raises(LoomError) as exc:
        shop.place(order)
    assert exc.value.message.endswith(": more than one record matches Order O-0001, line 2 (LP)")
    assert reread(shop.eng, order).state == "draft"
    assert shop.bin("CH")["reserved"] == 0  # line 1 was undone with the rest


def test_update_where__the_target_rules_still_apply(shop):
    order = shop.order([{"product": shop.chair.id, "qty": 21}])
    with pytest.raises(ValidationFailed) as exc:
        shop.place(order)
    # the rule's own message, naming the record it would break
    assert exc.value.message == f"Bin #{shop.bins['CH', 'SH'].id}: More reserved than on hand"
    assert reread(shop.eng, order).state == "draft" and shop.bin("CH")["reserved"] == 0


# --- create ... lines -----------------------------------------------------------------


def test_create_lines__fills_the_new_records_table_from_matching_lines(shop):
    order = shop.place(shop.order([{"product": shop.chair.id, "qty": 2, "price": "90"},
                                   {"product": shop.lamp.id, "qty": 1},
                                   {"product": shop.lamp.id, "qty": 5}], priority="high"))
    rush = [r for r in shop.all("request") if r.data["note"] == "rush"]
    assert len(rush) == 1
    req = rush[0]
    assert req.data["order"] == order.id and req.data["units"] == 7
    assert [(ln["product"], ln["qty"], ln["value"]) for ln in req.data["lines"]] == [
        (shop.chair.id, 2, Decimal("180.00")), (shop.lamp.id, 5, Decimal("200.00"))]


def test_create_lines__a_table_left_too_short_refuses_the_step(shop):
    order = shop.order([{"product": shop.lamp.id, "qty": 1}], priority="high")
    with pytest.raises(ValidationFailed) as exc:  # no line has qty > 1: request needs one
        shop.place(order)
    assert exc.value.fields == {"lines": "needs at least 1 row"}
    assert reread(shop.eng, order).state == "draft" and shop.bin("LP")["reserved"] == 0


def test_create_with_if__false_creates_nothing(shop):
    shop.place(shop.order([{"product": shop.chair.id, "qty": 2}], priority="low"))
    assert shop.all("request") == []


def test_alert_create__if_and_lines(shop):
    shop.place(shop.order([{"product": shop.lamp.id, "qty": 2}], priority="high"))  # 80
    assert [r.data["note"] for r in shop.all("request")] == ["rush"]  # the alert wants 500
    shop.place(shop.order([{"product": shop.chair.id, "qty": 5},
                           {"product": shop.lamp.id, "qty": 1}], priority="high"))
    alerted = [r for r in shop.all("request") if r.data["note"] == "from the alert"]
    assert len(alerted) == 1
    assert [(ln["product"], ln["qty"]) for ln in alerted[0].data["lines"]] == [
        (shop.chair.id, 5), (shop.lamp.id, 1)]


# --- create ... lines from a linked record's table ---------------------------------------


def with_recipe(shop, product, parts):
    """Give `product` a recipe of (part, per_unit) pairs."""
    recipe = shop.eng.create(SYSTEM, "recipe", {"product": product.id, "parts": [
        {"part": p.id, "per_unit": n} for p, n in parts]})
    product = reread(shop.eng, product)
    return shop.eng.update(SYSTEM, "product", product.id, {"recipe": recipe.id}, product.version)


def test_create_lines_through_links__each_job_gets_its_products_recipe(shop):
    with_recipe(shop, shop.sofa, [(shop.chair, 2), (shop.lamp, 1)])
    shop.place(shop.order([{"product": shop.sofa.id, "qty": 3, "colour": "sage"},
                           {"product": shop.chair.id, "qty": 1},
                           {"product": shop.sofa.id, "qty": 1, "colour": "sand"}]))
    jobs = shop.all("job")
    # `line` is the recipe row, `outer` the order line, bare `qty` (computed) the job's
    assert [[(m["part"], m["per_unit"], m["needed"], m["colour"]) for m in j.data["materials"]]
            for j in jobs] == [
        [(shop.chair.id, 2, 6, "sage"), (shop.lamp.id, 1, 3, "sage")],
        [(shop.chair.id, 2, 2, "sand"), (shop.lamp.id, 1, 1, "sand")]]


def test_create_lines_through_links__if_filters_the_source_rows(shop):
    skip = shop.eng.create(SYSTEM, "product", {"sku": "SKIP"})
    with_recipe(shop, shop.sofa, [(skip, 1), (shop.lamp, 4)])
    shop.place(shop.order([{"product": shop.sofa.id, "qty": 2}]))
    [job] = shop.all("job")
    assert [(m["part"], m["needed"]) for m in job.data["materials"]] == [(shop.lamp.id, 8)]


def test_create_lines_through_links__no_linked_record_gives_no_rows(shop):
    shop.place(shop.order([{"product": shop.sofa.id, "qty": 2}]))  # the sofa has no recipe
    [job] = shop.all("job")
    assert job.data["materials"] == []


def test_create_lines_through_links__reads_records_the_user_may_not_read(shop):
    # alice (sales) cannot read recipes; the step action reads them as the system does
    recipe = with_recipe(shop, shop.sofa, [(shop.lamp, 1)]).data["recipe"]
    with pytest.raises(LoomError):
        shop.eng.get(shop.u["alice"], "recipe", recipe)
    shop.place(shop.order([{"product": shop.sofa.id, "qty": 1}]))
    [job] = shop.all("job")
    assert [m["part"] for m in job.data["materials"]] == [shop.lamp.id]


def test_alert_create_lines_through_links__without_each(shop):
    with_recipe(shop, shop.sofa, [(shop.chair, 2), (shop.lamp, 1)])
    order = shop.place(shop.order([{"product": shop.sofa.id, "qty": 3}]))
    parts = [r for r in shop.all("request") if r.data["note"] == "parts"]
    assert len(parts) == 1
    assert [(ln["product"], ln["qty"]) for ln in parts[0].data["lines"]] == [
        (shop.chair.id, 6), (shop.lamp.id, 3)]
    assert reread(shop.eng, order).state == "placed"


def test_create_lines_through_links__values_are_checked_against_the_source_row(tmp_path):
    import shutil

    from engine.definitions.catalog import check_tree
    from engine.bootstrap import default_registries

    tree = shutil.copytree(TREE, tmp_path / "app")
    wf = tree / "workflows" / "order.yaml"
    wf.write_text(wf.read_text(encoding="utf-8").replace(
        'per_unit: "line.per_unit"', 'per_unit: "line.part"'), encoding="utf-8")
    _, problems = check_tree(str(tree), default_registries(load_plugins=False))
    assert [p.code for p in problems] == ["LOOM-E035"]
    assert "field 'per_unit' is integer, but this value is link to product" in str(problems[0])
