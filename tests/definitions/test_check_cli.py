"""`loom check` on the valid app and on a broken copy of it, in text and JSON."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main

VALID = Path(__file__).resolve().parents[1] / "fixtures" / "valid"


def run(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args))
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(main, list(args))


def broken_copy(tmp_path: Path) -> Path:
    tree = tmp_path / "app"
    shutil.copytree(VALID, tree)
    wf = tree / "workflows" / "sales_order.yaml"
    wf.write_text(wf.read_text().replace("{to: rejected, comment: required}",
                                         "{to: rejeted, comment: required}"))
    (tree / "forms" / "ticket.yaml").write_text(
        "form: ticket\nfields:\n  - {name: hours, type: integr}\n")
    return tree


def test_check_valid_tree__exits_0_and_says_ok():
    result = run("check", str(VALID))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "ok: 11 definition file(s) checked, 0 warning(s)" in result.stderr


def test_check_valid_tree_as_json__parses_with_no_problems():
    result = run("check", str(VALID), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"problems": [], "errors": 0, "warnings": 0}


def test_check_from_environment_variable__uses_loom_definitions(monkeypatch):
    monkeypatch.setenv("LOOM_DEFINITIONS", str(VALID))
    assert run("check").exit_code == 0


def test_check_broken_tree__prints_every_problem_and_exits_1(tmp_path, monkeypatch):
    tree = broken_copy(tmp_path)
    monkeypatch.chdir(tree)
    result = run("check", ".")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "forms/ticket.yaml:3:25: unknown field type 'integr'; did you mean 'integer'? [LOOM-E036]",
        "workflows/sales_order.yaml:18:20: action 'reject' goes to unknown step 'rejeted'; "
        "did you mean 'rejected'? [LOOM-E045]",
    ]
    assert "2 error(s), 0 warning(s)" in result.stderr


def test_check_broken_tree_as_json__lists_located_problems(tmp_path, monkeypatch):
    tree = broken_copy(tmp_path)
    monkeypatch.chdir(tree)
    result = run("check", ".", "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["errors"] == 2 and data["warnings"] == 0
    assert data["problems"][1] == {
        "file": "workflows/sales_order.yaml", "line": 18, "col": 20,
        "message": "action 'reject' goes to unknown step 'rejeted'; did you mean 'rejected'?",
        "code": "LOOM-E045", "severity": "error",
    }


def test_check_warnings_only__exits_0_and_prints_them(tmp_path, monkeypatch):
    tree = tmp_path / "app"
    shutil.copytree(VALID, tree)
    (tree / "forms" / "ticket.yaml").write_text(
        "form: ticket\ntitle: {en: Ticket, fr: Billet}\nfields:\n  - {name: subject, type: text}\n")
    monkeypatch.chdir(tree)
    result = run("check", ".")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "forms/ticket.yaml:2:21: warning: label language 'fr' is not one of the app's "
        "languages (en, zh); the UI never shows it [LOOM-E064]"]


def test_check_empty_directory__is_an_error(tmp_path):
    result = run("check", str(tmp_path))
    assert result.exit_code == 1
    assert "no definition files" in result.stdout
