"""Schema checks against fixture files: each invalid file has one mistake and its
expected `line:col: message [code]` in a `# expect:` comment at the top."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions.schema_check import check_document
from engine.definitions.yaml_source import load_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INVALID = sorted((FIXTURES / "invalid" / "schema").glob("*/*.yaml"))
VALID = sorted((FIXTURES / "schema" / "valid").glob("*.yaml"))


def expectations(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# expect: "):
            out.append(line[len("# expect: "):])
    return out


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def test_there_are_enough_invalid_fixtures_for_every_kind():
    kinds = {p.parent.name for p in INVALID}
    assert kinds == {"app", "form", "workflow", "alert", "report"}
    assert len(INVALID) >= 30


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_fixture__reports_exactly_the_expected_problem(path: Path):
    expected = expectations(path)
    assert expected, f"{path} has no '# expect:' line"
    kind, problems = check_document(load_file(str(path)))
    got = [f"{p.line}:{p.col}: {p.message} [{p.code}]" for p in problems]
    assert got == expected
    assert all(p.file == str(path) for p in problems)


@pytest.mark.parametrize("path", INVALID, ids=_id)
def test_invalid_fixture__sits_in_the_folder_of_its_kind_or_names_no_kind(path: Path):
    kind, problems = check_document(load_file(str(path)))
    if kind is not None:
        assert kind == path.parent.name
    else:
        assert [p.code for p in problems] == ["LOOM-E009"]


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_fixture__has_no_schema_problems(path: Path):
    kind, problems = check_document(load_file(str(path)))
    assert kind is not None
    assert [str(p) for p in problems] == []
