"""Definitions change without a restart: checked first, swapped atomically when clean,
kept (with the reason) when not, and every process converges on the published version."""
from __future__ import annotations

import re
import shutil
import threading
import urllib.request
import json as jsonlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.definitions.catalog import tree_version
from engine.engine import Engine
from tests.conftest import VALID
from tests.web.conftest import serving

FORM = Path("forms") / "customer.yaml"


@pytest.fixture
def live(tree, database_url, clock):
    eng = Engine(str(tree), database_url, clock=clock)
    eng.add_user("root", ["admin"], is_admin=True, password="root-pass-123")
    eng.add_user("alice", ["sales"])
    yield eng
    eng.close()


def relabel(tree: Path, new: str) -> None:
    path = tree / FORM
    path.write_text(re.sub(r"title: \{en: [^,]*, zh: 客户\}", f"title: {{en: {new}, zh: 客户}}",
                           path.read_text()))


def break_it(tree: Path) -> None:
    (tree / "forms" / "broken.yaml").write_text("form: broken\nfields:\n  - {name: n, type: integr}\n")


def test_a_clean_change_is_swapped_in_and_published(live, tree):
    relabel(tree, "Client")
    result = live.reload_definitions(live.user("root"))
    assert result.status == "reloaded"
    assert live.defs.form("customer").title.get("en") == "Client"
    assert live.definitions_version == tree_version(str(tree)) == result.version
    assert live.published_definitions_version() == result.version
    assert live.reload_definitions().status == "unchanged"


def test_a_broken_tree_is_refused_and_the_running_definitions_stay(live, tree):
    before = live.definitions_version
    relabel(tree, "Client")
    break_it(tree)
    result = live.reload_definitions(live.user("root"))
    assert result.status == "refused"
    assert live.defs.form("customer").title.get("en") == "Customer"
    assert live.definitions_version == before
    [problem] = [p for p in result.problems if p.severity == "error"]
    assert (problem.file.endswith("forms/broken.yaml"), problem.line, problem.col) == (True, 3, 21)
    assert "integr" in problem.message and "integer" in problem.message
    assert result.message == f"definitions not reloaded: 1 error(s); still running version {before}"


def test_only_admins_reload(live):
    from engine.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        live.reload_definitions(live.user("alice"))


def test_other_processes_converge_on_the_published_version(live, tree, tmp_path, database_url, clock):
    other = Engine(str(tree), database_url, clock=clock)  # a second web process on this host
    stale_tree = tmp_path / "stale"
    shutil.copytree(VALID, stale_tree)
    stale = Engine(str(stale_tree), database_url, clock=clock)  # a host not yet deployed to
    try:
        relabel(tree, "Client")
        live.reload_definitions()
        assert other.converge_definitions().status == "reloaded"
        assert other.defs.form("customer").title.get("en") == "Client"
        waiting = stale.converge_definitions()
        assert (waiting.status, waiting.wanted) == ("waiting", live.definitions_version)
        assert stale.defs.form("customer").title.get("en") == "Customer"
        relabel(stale_tree, "Client")  # the deploy reaches that host
        assert stale.converge_definitions().status == "reloaded"
        assert stale.definitions_version == live.definitions_version
    finally:
        other.close()
        stale.close()


def test_the_worker_follows_the_published_version(live, tree, database_url, clock):
    from engine.alerts.worker import Worker

    worker_engine = Engine(str(tree), database_url, clock=clock)
    try:
        relabel(tree, "Client")
        live.reload_definitions()
        summary = Worker(worker_engine).run_once()
        assert summary["definitions"] == "reloaded"
        assert worker_engine.defs.form("customer").title.get("en") == "Client"
    finally:
        worker_engine.close()


def test_loom_reload_publishes_a_clean_tree_and_refuses_a_broken_one(live, tree, database_url):
    relabel(tree, "Client")
    ok = CliRunner().invoke(main, ["reload", "--definitions", str(tree), "--database", database_url])
    assert ok.exit_code == 0, ok.output
    assert "definitions reloaded: now running version" in ok.stderr
    assert live.published_definitions_version() == tree_version(str(tree))
    assert live.converge_definitions().status == "reloaded"  # this process follows
    break_it(tree)
    bad = CliRunner().invoke(main, ["reload", "--definitions", str(tree), "--database", database_url,
                                    "--format", "json"])
    assert bad.exit_code == 1
    out = jsonlib.loads(bad.stdout)
    assert out["status"] == "refused" and out["problems"][0]["line"] == 3
    assert live.published_definitions_version() == live.definitions_version  # unchanged


def test_reload_api_and_admin_button(live, tree):
    from web import create_app

    app = create_app(live, secret_key="t")
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    api = app.test_client()
    token = {"Authorization": f"Bearer {live.create_token('alice')}"}
    assert api.post("/api/admin/reload", headers=token).status_code == 403
    root = {"Authorization": f"Bearer {live.create_token('root')}"}
    break_it(tree)
    refused = api.post("/api/admin/reload", headers=root)
    assert refused.status_code == 422 and refused.json["status"] == "refused"
    (tree / "forms" / "broken.yaml").unlink()
    relabel(tree, "Client")
    done = api.post("/api/admin/reload", headers=root)
    assert done.status_code == 200 and done.json["status"] == "reloaded"

    page = app.test_client()
    assert page.post("/login", data={"username": "root", "password": "root-pass-123"}).status_code == 302
    relabel(tree, "Clientele")
    answer = page.post("/admin/reload", follow_redirects=True)
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert "Definitions reloaded; every process switches on its next look." in html
    assert live.definitions_version in html
    assert live.defs.form("customer").title.get("en") == "Clientele"


def test_reload_under_traffic_fails_no_request(live, tree):
    token = live.create_token("root")
    errors: list = []
    done = threading.Event()
    counts = [0]

    def hammer(url):
        while not done.is_set():
            for path in ("/api/definitions", "/api/forms/customer/records"):
                req = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {token}"})
                try:
                    with urllib.request.urlopen(req, timeout=30) as resp:
                        if resp.status != 200:
                            errors.append(resp.status)
                        resp.read()
                        counts[0] += 1
                except Exception as exc:  # noqa: BLE001 - every failure is the test's failure
                    errors.append(repr(exc))

    with serving(live, "reload-test", threads=4) as url:
        threads = [threading.Thread(target=hammer, args=(url,)) for _ in range(3)]
        for th in threads:
            th.start()
        watcher = live.watch_definitions(interval=0.05)
        try:
            for i in range(6):
                relabel(tree, f"Client{i}") if i % 2 == 0 else relabel(tree, "Customer")
                if i == 3:
                    break_it(tree)
                if i == 4:
                    (tree / "forms" / "broken.yaml").unlink()
                before = live.definitions_version
                watcher.tick()
                assert live.definitions_version != before or i == 3
        finally:
            watcher.stop()
            done.set()
            for th in threads:
                th.join()
    assert errors == []
    assert counts[0] > 0


def test_processes_publishing_at_once_all_succeed_and_agree(tree, database_url, clock):
    # several processes reloading the same change at the same moment (each its own engine)
    engines = [Engine(str(tree), database_url, clock=clock) for _ in range(4)]
    try:
        relabel(tree, "Client")
        for _ in range(3):  # the race is widest when no row exists yet: start each round bare
            with engines[0].db.write() as conn:
                conn.exec_driver_sql("DELETE FROM definitions_state")
            for eng in engines:
                eng.definitions_version = None
            barrier = threading.Barrier(len(engines))
            results, errors = [], []

            def reload(eng):
                barrier.wait()
                try:
                    results.append(eng.reload_definitions())
                except Exception as exc:  # noqa: BLE001 - any failure is the test's failure
                    errors.append(repr(exc))

            threads = [threading.Thread(target=reload, args=(e,)) for e in engines]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert errors == []
            assert {r.status for r in results} == {"reloaded"}
            assert engines[0].published_definitions_version() == tree_version(str(tree))
    finally:
        for eng in engines:
            eng.close()
