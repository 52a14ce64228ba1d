"""`loom diff` and `loom db migrate-records`: a changed app, its in-flight records, moved
deliberately — never stranded.

The old tree is the claims app of tests/fixtures/scenarios; the new one drops the
director's step, renames `purpose` to `reason` and adds a required `cost_centre`,
with a `migrate:` section for each.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engine.auth.users import SYSTEM
from engine.cli import main
from engine.clock import Clock
from engine.engine import Engine
from engine.store import tables as t

OLD = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"

pytestmark = pytest.mark.outbox_ok  # entering `approved` queues an email nobody delivers


def make_new(tmp_path: Path) -> Path:
    new = tmp_path / "new"
    shutil.copytree(OLD, new, ignore=shutil.ignore_patterns("tests", "failing"))
    wf = new / "workflows" / "expense_claim.yaml"
    text = wf.read_text()
    text = text.replace('''      approve:
        - {to: director_review, if: "amount >= 1000"}
        - {to: approved}
''', '''      approve: {to: approved}
''')
    text = re.sub(r"  director_review:\n(    .*\n)+", "", text)
    text += "migrate:\n  steps: {director_review: approved}\n"
    wf.write_text(text)
    form = new / "forms" / "expense_claim.yaml"
    form.write_text(form.read_text().replace(
        "  - {name: purpose, type: text, required: true}",
        "  - {name: reason, type: text, required: true}\n"
        "  - {name: cost_centre, type: text, required: true}") +
        "migrate:\n  rename: {purpose: reason}\n  fill: {cost_centre: \"'CC-' + project.name\"}\n")
    return new


@pytest.fixture
def old_tree(tmp_path):
    old = tmp_path / "old"
    shutil.copytree(OLD, old, ignore=shutil.ignore_patterns("tests", "failing"))
    return old


@pytest.fixture
def in_flight(old_tree, database_url, clock):
    """Three claims under the old definitions: at the director, at the manager, approved."""
    eng = Engine(str(old_tree), database_url, clock=clock)
    eng.add_user("max", ["manager"])
    eng.add_user("ann", ["staff"], manager="max")
    eng.add_user("dora", ["director"])
    eng.add_user("fin", ["finance"], email="fin@example.com")
    project = eng.create(SYSTEM, "project", {"name": "Apollo"})
    ann = eng.user("ann")
    ids = {}
    for key, amount in (("director", 2000), ("manager", 50), ("done", 60)):
        rec = eng.create(ann, "expense_claim", {"project": project.id, "purpose": f"trip {key}",
                                                "amount": amount})
        eng.act(ann, "expense_claim", rec.id, "submit")
        if key != "manager":
            eng.act(eng.user("max"), "expense_claim", rec.id, "approve")
        ids[key] = rec.id
    assert eng.get(SYSTEM, "expense_claim", ids["director"]).state == "director_review"
    eng.close()
    return ids


def test_diff_lists_each_change_with_the_live_records_it_touches(in_flight, old_tree, tmp_path,
                                                                 database_url):
    new = make_new(tmp_path)
    result = CliRunner().invoke(main, ["diff", str(old_tree), str(new), "--database", database_url])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "form expense_claim:\n" in out
    assert "  field reason added (text, required)  (2 live record(s))" in out
    assert "  field cost_centre added (text, required)  (2 live record(s))" in out
    assert "  field purpose removed (its values stay in history only)  (2 live record(s))" in out
    assert "workflow expense_claim:\n" in out
    assert "  step director_review removed  (1 live record(s))" in out
    assert ("  step manager_review: approve routes director_review if amount >= 1000; approved → "
            "approved  (1 live record(s))") in out

    as_json = json.loads(CliRunner().invoke(main, ["diff", str(old_tree), str(new),
                                                   "--format", "json"]).stdout)
    removed = [c for c in as_json["changes"] if c["text"] == "step director_review removed"]
    assert removed == [{"kind": "workflow", "id": "expense_claim", "change": "changed",
                        "text": "step director_review removed", "form": "expense_claim",
                        "step": "director_review", "field": None, "records": None}]


def test_diff_against_a_git_revision(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(OLD, repo / "definitions", ignore=shutil.ignore_patterns("tests", "failing"))
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(git + ["add", "-A"], check=True)
    subprocess.run(git + ["commit", "-qm", "v1"], check=True)
    form = repo / "definitions" / "forms" / "project.yaml"
    form.write_text(form.read_text().replace("  - {name: budget, type: money, default: 0}\n",
                                             "  - {name: budget, type: integer, default: 0}\n"))
    result = CliRunner().invoke(main, ["diff", "HEAD", str(repo / "definitions")])
    assert result.exit_code == 0, result.output
    assert result.stdout == "form project:\n  field budget retyped: money → integer\n"
    bad = CliRunner().invoke(main, ["diff", "no-such-rev", str(repo / "definitions")])
    assert bad.exit_code == 1
    assert "'no-such-rev' is neither a folder nor a git revision of" in bad.stderr


def test_loom_check_refuses_a_migration_from_what_still_exists(tmp_path):
    new = make_new(tmp_path)
    wf = new / "workflows" / "expense_claim.yaml"
    wf.write_text(wf.read_text().replace("{director_review: approved}",
                                         "{manager_review: aproved}"))
    result = CliRunner().invoke(main, ["check", str(new)])
    assert result.exit_code == 1
    assert ("step 'manager_review' still exists; migrate moves records out of a step that was "
            "removed [LOOM-E185]") in result.stdout
    assert ("workflow 'expense_claim' has no step 'aproved' to move records to; did you mean "
            "'approved'? [LOOM-E185]") in result.stdout


def test_migrate_records_moves_renames_and_fills_with_history(in_flight, tmp_path, database_url,
                                                             clock):
    new = make_new(tmp_path)
    runner = CliRunner()
    args = ["db", "migrate-records", "--definitions", str(new), "--database", database_url]
    dry = runner.invoke(main, args + ["--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "expense_claim: records in removed step director_review enter approved: would touch 1" in dry.stdout
    assert "expense_claim: field purpose renamed to reason: would touch 3 record(s)" in dry.stdout
    assert "expense_claim: cost_centre filled where empty: would touch 3 record(s)" in dry.stdout

    done = runner.invoke(main, args)
    assert done.exit_code == 0, done.output
    assert "field purpose renamed to reason: 3 of 3 done record(s)" in done.stdout

    eng = Engine(str(new), database_url, clock=clock)
    try:
        moved = eng.get(SYSTEM, "expense_claim", in_flight["director"])
        assert moved.state == "approved"
        assert moved.data["approved_on"] == Clock().today()  # it entered `approved` (the CLI's clock)
        assert moved.data["reason"] == "trip director"
        assert moved.data["cost_centre"] == "CC-Apollo"
        assert eng.get(SYSTEM, "expense_claim", in_flight["manager"]).state == "manager_review"
        history = eng.history(SYSTEM, "expense_claim", in_flight["director"])
        migrations = [(e.action, e.from_state, e.to_state, e.comment) for e in history
                      if e.action == "migrate"]
        assert ("migrate", "director_review", "approved",
                "moved from removed step director_review") in migrations
        with eng.db.read() as conn:
            open_tasks = conn.execute(sa.select(sa.func.count()).select_from(t.tasks).where(
                t.tasks.c.record_id == in_flight["director"], t.tasks.c.status == "open")).scalar()
        assert open_tasks == 0
        assert eng.stranded_problems() == []
        # a second run finds nothing left to do
        again = [(i.kind, i.records) for i in eng.migrate_records(dry_run=True)]
        assert again == [("rename", 0), ("fill", 0), ("move", 0)]
    finally:
        eng.close()
