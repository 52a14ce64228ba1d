"""`Engine.list(as_json=True)`: the page's records in their API shape, their values never parsed,
exactly what each record's `to_json()` gives, fields a reader may not see left out the same."""
from __future__ import annotations

import pytest

from tests.scenarios.test_order_to_cash import World, erp  # noqa: F401  (fixture)

pytestmark = pytest.mark.outbox_ok  # the app's alerts email users who have no address


@pytest.mark.parametrize("who, form", [("alice", "product"), ("pat", "product"), ("pat", "supplier"),
                                       ("walt", "stock"), ("walt", "stock_count")])
def test_a_json_page__is_each_records_to_json(erp, who, form):  # noqa: F811
    World(erp)
    user = erp.user(who)
    page = erp.list(user, form, limit=10)
    shaped = erp.list(user, form, limit=10, as_json=True)
    assert page.items and shaped.items == [r.to_json() for r in page.items]
    assert (shaped.total, shaped.total_capped) == (page.total, page.total_capped)


def test_a_json_page__leaves_out_what_the_reader_may_not_see(erp):  # noqa: F811
    world = World(erp)
    alice, pat = erp.user("alice"), erp.user("pat")
    mine = {i["id"]: i for i in erp.list(pat, "product", as_json=True).items}
    theirs = {i["id"]: i for i in erp.list(alice, "product", as_json=True).items}
    assert mine[world.chair.id]["data"]["cost"] == "400.00"
    assert "cost" not in theirs[world.chair.id]["data"]


@pytest.mark.parametrize("text", ['{"a": 1, "b": [1.5, "x\\u00e9", null, true]}', ' {"a": 1} ',
                                  '{"a": 1}\n', '\ufeff{"a": 1}', '{"a": 1} x', '{"a": ', '',
                                  '"text"', '[NaN, -Infinity]', '{"a": 1}{"b": 2}'])
def test_a_stored_value__reads_as_json_loads_reads_it(text):
    """The page's reader of stored JSON text (its C scanner called directly) gives what
    `json.loads` gives, and raises what it raises."""
    import json

    from engine.records.listing import _loads
    try:
        expected = json.loads(text)
    except ValueError as exc:
        with pytest.raises(type(exc)):
            _loads(text)
    else:
        got = _loads(text)
        assert repr(got) == repr(expected) and type(got) is type(expected)
