"""`loom check` on hostile trees: it answers, quickly, with located problems; it never
crashes and never hangs (pipes, devices, huge numbers, control characters, empty maps,
expressions built to be expensive)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.bootstrap import default_registries
from engine.definitions.catalog import check_tree
from engine.errors import Problem
from tests.definitions.test_loader_fuzz import _leaves

ROOT = Path(__file__).resolve().parents[2]
VALID = ROOT / "tests" / "fixtures" / "valid"
FILES = sorted(str(p.relative_to(VALID)) for p in VALID.rglob("*.yaml"))
TEXTS = {rel: (VALID / rel).read_text(encoding="utf-8") for rel in FILES}
REGISTRIES = default_registries(load_plugins=False)


def check_cli(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", "check", str(tree)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_fifo_and_symlink_to_a_device__reported_not_read(tmp_path):
    tree = tmp_path / "app"
    shutil.copytree(VALID, tree)
    os.mkfifo(tree / "forms" / "pipe.yaml")
    os.symlink("/dev/zero", tree / "forms" / "zero.yaml")
    os.symlink(tree / "forms" / "customer.yaml", tree / "forms" / "alias_of_customer.yml")
    start = time.monotonic()
    result = check_cli(tree)
    assert time.monotonic() - start < 30
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "[LOOM-E016]" in line]
    message = ("not a regular file (a pipe, a device, or a link to one); definitions are read "
               "from plain files only [LOOM-E016]")
    assert [line.rsplit("/", 1)[1] for line in lines] == [f"pipe.yaml:1:1: {message}",
                                                          f"zero.yaml:1:1: {message}"]
    # a link to a plain file is read like the file (here: the customer form twice)
    assert "customer' is already defined" in result.stdout


def test_empty_label_map__a_message_not_a_traceback(tmp_path):
    tree = tmp_path / "app"
    shutil.copytree(VALID, tree)
    path = tree / "forms" / "customer.yaml"
    path.write_text(path.read_text().replace("title: {en: Customer, zh: 客户}", "title: {}"))
    result = check_cli(tree)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.splitlines()[0].endswith(
        "customer.yaml:2:8: an empty map; give a text or {en: ...} [LOOM-E015]")


# --- fuzzing: mutated valid definitions and hostile YAML ------------------------------

HOSTILE = st.sampled_from([
    "{}", "[]", ".nan", "-.inf", ".inf", "9" * 4400, "-" + "9" * 4301, "0x" + "f" * 5000,
    "1e999999", "\x07", "\x1b[31m", "\u200b", "\ufeff", "\x85", "&a [1]", "*a",
    "!!python/object:os.system", "<<: {}", "[" * 300 + "]" * 300, "{a: " * 200 + "1" + "}" * 200,
    '"' + "x" * 3000 + '"', "'(total ** 100) ** 100 > 1'", "'(((9**100)**100)**100)**100'",
    "'" + "abs(" * 45 + "total" + ")" * 45 + "'", "\"('ab' * 100) * 100\"",
    "'" + " or ".join(["total > 1"] * 150) + "'", "'" + "-" * 80 + "1'", "{en: }",
    "{min: 10, max: 1}", "10", "min: .nan", "max: 1", "'" + "x." * 80 + "y'",
])
KEYS = st.sampled_from(["title", "min", "max", "compute", "if", "where", "default", "label",
                        "options", "expr", "rule", "name", "type", "fields", "steps", "to"])


@st.composite
def hostile_file(draw) -> tuple[str, str]:
    rel = draw(st.sampled_from(FILES))
    if draw(st.booleans()):
        # a value of the parsed file replaced by a hostile YAML snippet, written back out
        data = yaml.safe_load(TEXTS[rel])
        marker = "HOSTILE_VALUE_MARKER"
        path = draw(st.sampled_from(list(_leaves(data))))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            parent[draw(KEYS)] = marker
        else:
            parent[path[-1]] = marker
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
        return rel, text.replace(marker, draw(HOSTILE), 1)
    # a hostile snippet dropped into the text at a random spot
    text = TEXTS[rel]
    i = draw(st.integers(0, len(text)))
    return rel, text[:i] + draw(HOSTILE) + text[i:]


class _Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Hang("check_tree ran for more than 5 s")


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=hostile_file())
def test_fuzz__hostile_definitions_give_located_problems_within_5s(tmp_path_factory, case):
    rel, text = case
    tree = tmp_path_factory.mktemp("hostile") / "app"
    shutil.copytree(VALID, tree)
    (tree / rel).write_bytes(text.encode("utf-8", "surrogatepass"))
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 5.0)
    try:
        _defs, problems = check_tree(str(tree), REGISTRIES)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.file and p.line >= 1 and p.col >= 1, p
        assert str(p).startswith(f"{p.file}:{p.line}:{p.col}: ")
