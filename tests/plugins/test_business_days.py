"""The example plugin registers exactly as built-ins do: checked, evaluated, compiled to SQL."""
from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest

from engine.definitions.catalog import check_tree
from engine.errors import ValidationFailed
from engine.bootstrap import default_registries
from plugins.business_days import business_days
from tests.conftest import FIXTURES, make_engine

TREE = FIXTURES / "plugins"


def brute_force(a: date, b: date) -> int:
    lo, hi = sorted((a, b))
    count = sum(1 for k in range((hi - lo).days) if (lo + timedelta(k)).weekday() < 5)
    return count if a <= b else -count


def test_business_days_counts_weekdays_in_both_directions():
    start = date(2026, 3, 2)  # a Monday
    for offset in range(7):
        a = start + timedelta(offset)
        for n in range(-16, 17):
            assert business_days(a, a + timedelta(n)) == brute_force(a, a + timedelta(n))


def test_installed_plugins_are_loaded_through_the_entry_point():
    regs = default_registries()
    assert "business_days" in regs.plugins
    assert "business_days" in regs.functions and "rating" in regs.field_types


def test_a_tree_using_the_plugin_checks_clean():
    defs, problems = check_tree(str(TREE), default_registries())
    assert problems == []


def test_without_the_plugin_check_names_what_is_missing(tmp_path):
    shutil.copytree(TREE, tmp_path / "t")
    bare = default_registries(load_plugins=False)
    _, problems = check_tree(str(tmp_path / "t"), bare)
    messages = [f"{p.line}:{p.col}: {p.message} [{p.code}]" for p in problems]
    assert "5:11: plugin 'business_days' is not installed (installed: none); install the " \
           "package that provides it [LOOM-E080]" in messages
    assert any("unknown field type 'rating'" in m for m in messages)


@pytest.fixture
def helpdesk(database_url, clock):
    eng = make_engine(TREE, database_url, clock)
    eng.add_user("ann", ["agent"])
    yield eng
    eng.close()


def test_plugin_function_agrees_in_python_and_sql(helpdesk):
    ann = helpdesk.user("ann")
    start = date(2026, 3, 2)
    expected = {}
    for i in range(21):
        opened = start + timedelta(days=i % 7)
        due = opened + timedelta(days=(i * 5) % 23 - 6)
        rec = helpdesk.create(ann, "ticket", {"subject": f"t{i}", "opened": opened.isoformat(),
                                              "due": due.isoformat()})
        assert rec.data["lead_days"] == brute_force(opened, due)
        expected[rec.id] = rec.data["lead_days"]
    for threshold in (-3, 0, 2, 5, 9):
        page = helpdesk.list(ann, "ticket", filter=f"business_days(opened, due) >= {threshold}",
                             limit=100)
        assert {r.id for r in page.items} == {i for i, v in expected.items() if v >= threshold}


def test_rating_field_refuses_out_of_range_stars(helpdesk):
    ann = helpdesk.user("ann")
    base = {"subject": "s", "opened": "2026-03-02", "due": "2026-03-04"}
    assert helpdesk.create(ann, "ticket", {**base, "satisfaction": "4"}).data["satisfaction"] == 4
    with pytest.raises(ValidationFailed) as exc:
        helpdesk.create(ann, "ticket", {**base, "satisfaction": 6})
    assert exc.value.fields == {"satisfaction": "must be between 1 and 5 stars"}
