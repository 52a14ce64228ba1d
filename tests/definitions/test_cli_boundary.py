"""`loom serve --demo` finds the app's demo through app.yaml and runs it on the
engine's own clock; every command turns a LoomError into one `error:` line and
exit status 1 (mapped once, in the `loom` group)."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import waitress
from click.testing import CliRunner

from engine.cli import main
from engine.engine import Engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def served(monkeypatch):
    """What `loom serve` handed to waitress, instead of serving."""
    calls = []
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: calls.append((app, kw)))
    return calls


def app_with_demo(tmp_path: Path) -> Path:
    tree = tmp_path / "app"
    shutil.copytree(FIXTURES / "valid", tree)
    (tree / "demo").mkdir()
    shutil.copy(FIXTURES / "demo" / "seed.py", tree / "demo" / "seed.py")
    with open(tree / "app.yaml", "a", encoding="utf-8") as fh:
        fh.write("demo: demo/seed.py\n")
    return tree


def test_serve_demo__runs_the_demo_named_in_app_yaml_on_the_engines_clock(tmp_path, served):
    tree, url = app_with_demo(tmp_path), f"sqlite:///{tmp_path / 'demo.db'}"
    result = CliRunner().invoke(main, ["serve", "--demo", "--definitions", str(tree), "--database", url])
    assert result.exit_code == 0, result.output
    assert "demo logins: dora / dora-demo-123" in result.stdout and len(served) == 1
    eng = Engine(str(tree), url)
    try:
        [rec] = eng.list(eng.user("dora"), "customer").items
        assert rec.created_at == datetime(2025, 3, 2, 9, 0)  # the demo's held clock stamped it
        assert eng.authenticate("dora", "dora-demo-123").name == "dora"
    finally:
        eng.close()


def test_serve_demo__the_clock_is_real_time_again_when_serving(tmp_path, served):
    tree, url = app_with_demo(tmp_path), f"sqlite:///{tmp_path / 'demo.db'}"
    assert CliRunner().invoke(main, ["serve", "--demo", "--definitions", str(tree),
                                     "--database", url]).exit_code == 0
    app, _ = served[0]
    now = app.extensions["loom.engine"].clock.now()
    assert abs(now - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=5)


def test_serve_demo__an_app_without_a_demo_serves_with_a_note(tmp_path, served):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    result = CliRunner().invoke(main, ["serve", "--demo", "--definitions", str(FIXTURES / "valid"),
                                       "--database", url])
    assert result.exit_code == 0 and len(served) == 1
    assert "note: this app has no demo (app.yaml `demo`); no demo data seeded" in result.stderr


def test_every_command__reports_a_loom_error_as_one_line_and_exit_1(tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURES / "valid", broken)
    (broken / "forms" / "customer.yaml").write_text("form: customer\nfields: 3\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    for args in (["user", "token", "nobody", "--definitions", str(FIXTURES / "valid"), "--database", url],
                 ["user", "add", "ann", "--definitions", str(broken), "--database", url],
                 ["export", "no_such_form", "--definitions", str(FIXTURES / "valid"), "--database", url]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("error: ") and "Traceback" not in result.output, args
        assert result.exception is None or isinstance(result.exception, SystemExit), args
