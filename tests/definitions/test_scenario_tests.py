"""`loom test`: scenario tests written in YAML, run on throw-away databases.

The fixture tree tests/fixtures/scenarios holds a small claims app; its
`tests/` scenarios pass, its `failing/` ones fail or error on purpose, each
with the exact message and file:line an admin would read.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
TREE = Path("tests/fixtures/scenarios")
FAILING = TREE / "failing"

pytestmark = pytest.mark.outbox_ok  # scenarios queue emails nobody delivers, on purpose


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # file names in the output are relative to the project


def loom(*args: str):
    return CliRunner().invoke(main, list(args))


def test_passing_scenarios_pass_and_say_so_per_file():
    result = loom("test", str(TREE / "tests"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("tests/fixtures/scenarios/tests/away_manager.yaml::"
                               "away_manager_hands_over_to_the_delegate PASSED")
    assert lines[1].startswith("tests/fixtures/scenarios/tests/big_claim.yaml::"
                               "big_claim_goes_to_the_director PASSED")
    assert lines[2].startswith("tests/fixtures/scenarios/tests/small_claim.yaml::"
                               "small_claim_needs_only_the_manager PASSED")
    assert lines[-1].startswith("3 passed, 0 failed, 0 error(s) in ")


def test_a_wrong_expectation_fails_at_its_own_line():
    result = loom("test", str(FAILING / "wrong_state.yaml"))
    assert result.exit_code == 1
    assert ("tests/fixtures/scenarios/failing/wrong_state.yaml:14: expects_the_wrong_route "
            "FAILED: EC-1 state: expected approved, got director_review") in result.stdout


def test_a_refused_step_is_an_error_with_the_engines_message():
    result = loom("test", str(FAILING / "refused.yaml"))
    assert result.exit_code == 1
    assert ("tests/fixtures/scenarios/failing/refused.yaml:9: submits_a_claim_without_purpose "
            "ERROR: ann creates expense_claim EC-1: Some fields need attention: purpose: "
            "is required") in result.stdout


def test_an_expected_error_that_never_comes_fails():
    result = loom("test", str(FAILING / "succeeds.yaml"))
    assert result.exit_code == 1
    assert ("tests/fixtures/scenarios/failing/succeeds.yaml:10: expects_an_error_that_never_comes "
            "FAILED: ann submits EC-1: expected an error containing 'locked', but it succeeded"
            ) in result.stdout


def test_an_expected_error_that_comes_passes_and_a_different_one_fails(tmp_path):
    tree = tmp_path / "claims"
    shutil.copytree(TREE, tree)
    shutil.rmtree(tree / "failing")
    big = tree / "tests" / "big_claim.yaml"
    big.write_text(big.read_text().replace("{error: comment}", "{error: budget exceeded}"))
    result = loom("test", str(tree / "tests" / "big_claim.yaml"))
    assert result.exit_code == 1
    assert ("dora rejects EC-1: expected an error containing 'budget exceeded', got "
            "'Some fields need attention: comment: a comment is required'") in result.stdout \
        or "expected an error containing 'budget exceeded', got" in result.stdout


def test_json_format_for_ci_lists_every_scenario_and_the_coverage():
    result = loom("test", str(TREE), "--format", "json")
    assert result.exit_code == 1  # the failing/ folder is part of the tree
    data = json.loads(result.stdout)
    by_name = {s["scenario"]: s for s in data["scenarios"]}
    assert by_name["small_claim_needs_only_the_manager"]["status"] == "passed"
    assert by_name["expects_the_wrong_route"] == {
        "scenario": "expects_the_wrong_route", "file": "tests/fixtures/scenarios/failing/wrong_state.yaml",
        "line": 14, "status": "failed", "message": "EC-1 state: expected approved, got director_review",
        "seconds": by_name["expects_the_wrong_route"]["seconds"], "steps": 3}
    assert (data["passed"], data["failed"], data["errors"]) == (3, 2, 1)
    [claims] = data["coverage"]
    assert claims["workflow"] == "expense_claim" and claims["steps"] == [5, 5]


def test_coverage_names_the_actions_and_routes_no_scenario_took():
    result = loom("test", str(TREE / "tests" / "small_claim.yaml"))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "expense_claim: steps 3/5, actions 2/6, routes 1/2" in out
    assert ("tests/fixtures/scenarios/workflows/expense_claim.yaml:10: expense_claim: approve in "
            "manager_review never went to director_review (if amount >= 1000)") in out
    assert "no scenario enters step rejected" in out
    assert "no scenario does reject in manager_review" in out


def test_notifications_are_recorded_not_sent(tmp_path):
    tree = tmp_path / "claims"
    shutil.copytree(TREE, tree)
    small = tree / "tests" / "small_claim.yaml"
    small.write_text(small.read_text().replace("{to: fin, channel: email}",
                                               "{to: ann, channel: email}"))
    result = loom("test", str(small))
    assert result.exit_code == 1
    assert ("expected ann to be notified by email; notified: ann by inbox, fin by email, "
            "fin by inbox, max by inbox"
            in result.stdout)


def test_loom_check_reports_scenario_mistakes_at_file_line_col(tmp_path):
    tree = tmp_path / "claims"
    shutil.copytree(TREE, tree)
    (tree / "tests" / "typos.yaml").write_text(
        "scenario: typos\n"
        "date: 2026-03-02\n"
        "users:\n"
        "  ann: {roles: [staf], manager: max}\n"
        "records:\n"
        "  - {form: projekt, values: {name: Apollo}}\n"
        "steps:\n"
        "  - ann creates expense_claim EC-1: {purpos: Taxi, amount: 5}\n"
        "  - ann submits EC-2\n"
        "  - ann aproves EC-1\n"
        "  - expect EC-1: {state: aproved, colour: red}\n"
        "  - ann dances with EC-1 tonight\n")
    result = loom("check", str(tree))
    assert result.exit_code == 1
    out = result.stdout
    f = os.path.relpath(tree / "tests" / "typos.yaml")
    for expected in (
            f"{f}:4:17: unknown role 'staf'; did you mean 'staff'? (roles are listed in app.yaml) [LOOM-E032]",
            f"{f}:4:33: user 'max' is not given in this scenario's users [LOOM-E181]",
            f"{f}:6:12: unknown form 'projekt'; did you mean 'project'? [LOOM-E030]",
            f"{f}:8:38: form 'expense_claim' has no field 'purpos'; did you mean 'purpose'? [LOOM-E031]",
            f"{f}:9:5: no earlier step or given record is called 'EC-2'; a create names it "
            "('ann creates expense_claim EC-1'); did you mean 'EC-1'? [LOOM-E182]",
            f"{f}:10:5: 'aproves' is no action of form 'expense_claim'; did you mean 'approve'? [LOOM-E183]",
            f"{f}:11:26: workflow 'expense_claim' has no step 'aproved'; did you mean 'approved'? [LOOM-E184]",
            f"{f}:11:35: unknown expectation 'colour'; one of state, values, tasks, notified, created, "
            "lines [LOOM-E184]",
            f"{f}:12:5: cannot read the step 'ann dances with EC-1 tonight'; write one of "):
        assert expected in out, f"missing {expected!r} in\n{out}"
