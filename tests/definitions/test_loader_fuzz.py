"""Fuzzing the loader and the whole check: broken YAML gives problems, never crashes.

Random mutations of the valid app's files (deleted, inserted and replaced
characters, swapped or duplicated lines, changed indentation, random bytes
and unicode) go to `load_text`, which may only raise `YamlProblem`, and into
a copy of the app given to `check_tree`, which may raise nothing at all.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.definitions.catalog import check_tree
from engine.definitions.yaml_source import YamlProblem, load_text
from engine.errors import Problem
from engine.bootstrap import default_registries

VALID = Path(__file__).resolve().parents[1] / "fixtures" / "valid"
FILES = sorted(str(p.relative_to(VALID)) for p in VALID.rglob("*.yaml"))
TEXTS = {rel: (VALID / rel).read_text(encoding="utf-8") for rel in FILES}

# Characters that matter to YAML, to expressions and to our checks, besides any unicode.
SPECIAL = st.sampled_from(list(":-{}[],'\"#&*!|>%@`\t\n ?.()=<+_\\") +
                          ["\ufeff", "\u2028", "\x85", "\x00", "~", "null", "true", "no",
                           "on", "{{", "}}", "enter:", "- ", ": ", "  "])
SNIPPET = st.one_of(SPECIAL, st.text(max_size=8),
                    st.sampled_from(["sales_order", "lines", "total", "owner", "table",
                                     "link", "to:", "if:", "agg: sum", "tiles:", "state",
                                     "line.qty", "target", "parent", "-revenue"]))


VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10 ** 6), SNIPPET, st.text(max_size=12),
    st.sampled_from(["sales_order", "product", "lines", "total", "qty", "owner", "draft",
                     "approved", "link", "table", "choice", "user", "sum", "count", "avg",
                     "sales_order.lines", "enter:draft", "enter:nowhere", "0 8 * * *",
                     "qty * price", "total > 0", "line.qty", "target.stock_qty", "x +",
                     "lines.amount", "-revenue", "{seq:05}", "{date:%Q}"]),
    st.lists(st.sampled_from(["sales", "owner", "total", "lines", "month", "x"]), max_size=3),
    st.fixed_dictionaries({"to": st.sampled_from(["draft", "nowhere", "approved"])}),
)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,)
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,)
            yield from _leaves(v, path + (i,))


@st.composite
def restructured(draw) -> tuple[str, str]:
    """A valid file with one value swapped for another: passes YAML, often the schema too."""
    rel = draw(st.sampled_from(FILES))
    data = yaml.safe_load(TEXTS[rel])
    for _ in range(draw(st.integers(1, 3))):
        leaves = list(_leaves(data))
        path = draw(st.sampled_from(leaves))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict) and len(parent) > 1:
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(VALUES)
    return rel, yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


@st.composite
def mutated(draw) -> tuple[str, str | bytes]:
    rel = draw(st.sampled_from(FILES))
    text = TEXTS[rel]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "swap", "duplicate",
                                     "indent", "truncate"]))
        n = len(text)
        if kind == "delete" and n:
            i = draw(st.integers(0, n - 1))
            text = text[:i] + text[i + draw(st.integers(1, 12)):]
        elif kind == "insert":
            i = draw(st.integers(0, n))
            text = text[:i] + draw(SNIPPET) + text[i:]
        elif kind == "replace" and n:
            i = draw(st.integers(0, n - 1))
            text = text[:i] + draw(SNIPPET) + text[i + 1:]
        elif kind in ("swap", "duplicate", "indent"):
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            elif kind == "duplicate":
                lines.insert(j, lines[i])
            else:
                lines[i] = " " * draw(st.integers(0, 3)) + lines[i].lstrip(" ")
            text = "\n".join(lines)
        elif kind == "truncate":
            text = text[:draw(st.integers(0, n))]
    if draw(st.integers(0, 9)) == 0:  # sometimes raw bytes, possibly not UTF-8
        raw = text.encode("utf-8", "surrogatepass")
        i = draw(st.integers(0, len(raw)))
        return rel, raw[:i] + draw(st.binary(max_size=6)) + raw[i:]
    return rel, text


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz") / "app"
    shutil.copytree(VALID, root)
    return root


@pytest.fixture(scope="module")
def registries():
    return default_registries()


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_load_text__raises_only_yaml_problems(case):
    rel, text = case
    try:
        load_text(text, rel)
    except YamlProblem as exc:
        assert isinstance(exc.problem, Problem)
        assert exc.problem.line >= 1 and exc.problem.col >= 1


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=st.one_of(mutated(), restructured(), restructured()))
def test_check_tree__never_raises_on_a_mutated_file(tree, registries, case):
    rel, text = case
    path = tree / rel
    try:
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_bytes(text.encode("utf-8", "surrogatepass"))
        defs, problems = check_tree(str(tree), registries)
        assert all(isinstance(p, Problem) for p in problems)
        for p in problems:
            str(p)
    finally:
        path.write_text(TEXTS[rel], encoding="utf-8")
