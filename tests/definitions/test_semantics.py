"""Semantic checks: the valid app checks clean; each invalid fixture, dropped into a
copy of it, gives exactly the problem written on its first line.

An invalid fixture is one YAML file under tests/fixtures/invalid/semantic/. Its
first line is `# expect: <file>:<line>:<col>: <message> [<code>]`; `<file>`
is where it goes in the copied tree (replacing or adding that file).
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from engine.definitions.catalog import check_tree
from engine.definitions import checks, semantics
from engine.bootstrap import default_registries

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VALID = FIXTURES / "valid"
INVALID = sorted((FIXTURES / "invalid" / "semantic").glob("*.yaml"))


@pytest.fixture(scope="module")
def registries():
    # The built-ins only: messages that list field types must not depend on which
    # plugins happen to be installed (a stale egg-info can still announce one).
    return default_registries(load_plugins=False)


def expectations(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# expect: "):
            break
        out.append(line[len("# expect: "):])
    return out


def copy_valid(dest: Path) -> Path:
    shutil.copytree(VALID, dest)
    return dest


def check_in(tree: Path, registries) -> list[str]:
    """Problems of `tree`, with paths relative to it (as `loom check` run there prints)."""
    cwd = os.getcwd()
    os.chdir(tree)
    try:
        _, problems = check_tree(".", registries)
    finally:
        os.chdir(cwd)
    return [str(p) for p in problems]


def check_files(tmp_path: Path, registries, files: dict[str, str]) -> list[str]:
    tree = copy_valid(tmp_path / "app")
    for rel, text in files.items():
        target = tree / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return check_in(tree, registries)


# --- the valid tree -------------------------------------------------------------


def test_valid_tree__checks_clean(tmp_path, registries):
    assert check_in(copy_valid(tmp_path / "app"), registries) == []


def test_valid_tree__checks_clean_without_registries(tmp_path):
    assert check_in(copy_valid(tmp_path / "app"), None) == []


def test_valid_tree__loads_every_kind(tmp_path, registries):
    defs, problems = check_tree(str(VALID), registries)
    assert problems == []
    assert set(defs.forms) == {"customer", "product", "sales_order", "purchase_requisition"}
    assert set(defs.workflows) == {"sales_order"}
    assert set(defs.alerts) == {"low_stock"}
    assert {"sales_by_month", "product_sales", "low_stock_items", "sales_dashboard"} <= set(defs.reports)
    assert defs.app.role_names == {"sales", "sales_manager", "general_manager", "finance",
                                   "warehouse", "purchasing", "admin"}


# --- invalid fixtures -----------------------------------------------------------


def test_there_are_enough_invalid_fixtures_covering_every_code():
    assert len(INVALID) >= 40
    codes = {re.search(r"\[(LOOM-E\d+)\]$", e).group(1) for p in INVALID for e in expectations(p)}
    declared = {v for k, v in vars(semantics).items() if re.fullmatch(r"[EW]_[A-Z_]+", k)}
    assert declared - codes == set(), sorted(declared - codes)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_fixture__reports_exactly_the_expected_problem(path: Path, tmp_path, registries):
    expected = expectations(path)
    assert expected, f"{path.name}: the first line must be '# expect: file:line:col: message [code]'"
    target = expected[0].split(":", 1)[0]
    got = check_files(tmp_path, registries, {target: path.read_text(encoding="utf-8")})
    assert got == expected


@pytest.mark.parametrize("name", ["workflow_unknown_on_enter_action.yaml",
                                  "workflow_notify_unknown_channel.yaml",
                                  "form_unknown_field_type.yaml"])
def test_without_registries__the_checks_know_the_built_in_actions_channels_and_types(
        name, tmp_path):
    # definitions sit below the runtime packages, so with no registries given they name
    # the built-in actions and channels from their own lists; the messages must not change
    path = FIXTURES / "invalid" / "semantic" / name
    expected = expectations(path)
    target = expected[0].split(":", 1)[0]
    assert check_files(tmp_path, None, {target: path.read_text(encoding="utf-8")}) == expected


# --- decisions where DESIGN.md is silent -------------------------------------------

WF_HEAD = "workflow: purchase_requisition\nform: purchase_requisition\nstart: draft\nsteps:\n"


def test_step_without_actions__is_an_end_step(tmp_path, registries):
    text = WF_HEAD + "  draft:\n    actions:\n      submit: {to: filed}\n  filed:\n    on_enter:\n" \
                     "      - set: {reason: \"'filed'\"}\n"
    assert check_files(tmp_path, registries, {"workflows/pr.yaml": text}) == []


def test_single_guarded_action__needs_no_unconditional_entry(tmp_path, registries):
    text = WF_HEAD + "  draft:\n    actions:\n      submit:\n        - {to: done, if: \"qty > 0\"}\n" \
                     "  done: {final: true}\n"
    assert check_files(tmp_path, registries, {"workflows/pr.yaml": text}) == []


def test_table_fields__see_row_fields_then_parent_fields_and_parent(tmp_path, registries):
    text = ("form: quote\nfields:\n  - {name: rate, type: percent}\n  - {name: price, type: money}\n"
            "  - name: lines\n    type: table\n    fields:\n"
            "      - {name: price, type: money}\n"
            "      - {name: net, type: money, compute: \"price * (1 - rate)\"}\n"
            "      - {name: list, type: money, compute: \"parent.price\"}\n")
    assert check_files(tmp_path, registries, {"forms/quote.yaml": text}) == []


def test_lines_report__sees_parent_fields_bare_and_as_parent(tmp_path, registries):
    text = ("report: lines_by_state\nsource: sales_order.lines\nfilter: \"parent.state == 'approved'\"\n"
            "group_by:\n  - {name: region, expr: customer.region}\n"
            "measures:\n  - {name: qty, agg: sum, expr: qty}\n")
    assert check_files(tmp_path, registries, {"reports/lines_by_state.yaml": text}) == []


def test_without_app_yaml__roles_are_not_checked(tmp_path, registries):
    tree = copy_valid(tmp_path / "app")
    (tree / "app.yaml").unlink()
    text = "form: ticket\nfields:\n  - {name: subject, type: text}\npermissions:\n  read: [anyone]\n"
    (tree / "forms" / "ticket.yaml").write_text(text)
    assert check_in(tree, registries) == []


def test_dashboards_in_a_cycle__are_reported_on_both(tmp_path, registries):
    got = check_files(tmp_path, registries, {
        "reports/sales_dashboard.yaml": "report: sales_dashboard\ntiles: [sales_by_month, overview]\n",
        "reports/overview.yaml": "report: overview\ntiles: [low_stock_items, sales_dashboard]\n",
    })
    assert got == [
        "reports/overview.yaml:2:26: dashboards show each other in a cycle: overview → "
        "sales_dashboard → overview [LOOM-E060]",
        "reports/sales_dashboard.yaml:2:25: dashboards show each other in a cycle: "
        "sales_dashboard → overview → sales_dashboard [LOOM-E060]",
    ]


def test_plugin_action__is_accepted_when_registered(tmp_path):
    regs = default_registries()
    regs.actions.register("post_to_erp", object())
    for name in ("set", "create", "update", "notify"):
        regs.actions.register(name, object())
    text = WF_HEAD + "  draft:\n    actions:\n      submit: {to: done}\n  done:\n    final: true\n" \
                     "    on_enter:\n      - post_to_erp: {system: sap}\n"
    assert check_files(tmp_path, regs, {"workflows/pr.yaml": text}) == []
    regs2 = default_registries()
    got = check_files(tmp_path / "b", regs2, {"workflows/pr.yaml": text})
    assert len(got) == 1 and "unknown on_enter action 'post_to_erp'" in got[0]


def test_problem_inside_a_block_scalar__points_at_the_character(tmp_path, registries):
    text = ("form: ticket\nfields:\n  - {name: hours, type: integer}\n"
            "  - name: cost\n    type: money\n    compute: |\n      hours * rat\n")
    got = check_files(tmp_path, registries, {"forms/ticket.yaml": text})
    assert got == ["forms/ticket.yaml:7:15: expression 'hours * rat\\n': unknown name 'rat' "
                   "[LOOM-E033]"]


def test_every_problem_of_a_tree__is_reported_in_file_order(tmp_path, registries):
    got = check_files(tmp_path, registries, {
        "forms/ticket.yaml": "form: ticket\ntitle_field: nme\nfields:\n  - {name: a, type: integr}\n",
        "alerts/a.yaml": "alert: a\nform: tiket\non: change\n",
    })
    assert [g.split(": ")[0] for g in got] == [
        "alerts/a.yaml:2:7", "forms/ticket.yaml:2:14", "forms/ticket.yaml:4:21"]


def test_report_params__are_typed_by_their_field_type(tmp_path, registries):
    text = ("report: r\nsource: sales_order\nparams:\n  - {name: min_total, type: money, default: 0}\n"
            "where: \"total >= min_total and channel == 'phone'\"\n"
            "measures:\n  - {name: n, agg: count}\n")
    assert check_files(tmp_path, registries, {"reports/r.yaml": text}) == []
    bad = text.replace("total >= min_total", "order_date >= min_total")
    got = check_files(tmp_path / "b", registries, {"reports/r.yaml": bad})
    assert got == ["reports/r.yaml:5:20: expression \"order_date >= min_total and channel == "
                   "'phone'\": cannot compare date with money [LOOM-E033]"]


def test_check_semantics__with_no_definitions_returns_nothing(registries):
    from engine.definitions.catalog import DEFAULT_APP, Definitions

    defs = Definitions(app=DEFAULT_APP, forms={}, workflows={}, alerts={}, reports={})
    assert checks.check_semantics(defs, {k: {} for k in
                                         ("app", "form", "workflow", "alert", "report")},
                                  registries) == []
