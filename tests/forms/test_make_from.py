"""Links to lines, records made from records and roll-ups (issue 13 items 2, 5 and 7),
through the Engine facade on tests/fixtures/make_from.

A supply request (owner: a requester; read by its owner and keepers) has item lines;
a handover is made from an approved request, one line per item still open, each line
linking to the request line it hands over (`within: request`).
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import ActionRefused, NotFound, PermissionDenied, ValidationFailed
from tests.conftest import FIXTURES, make_engine

USERS = {"alice": ["requester"], "bob": ["requester"], "kim": ["keeper"], "val": ["viewer"]}


@pytest.fixture
def eng(database_url, clock):
    e = make_engine(FIXTURES / "make_from", database_url, clock)
    for name, roles in USERS.items():
        e.add_user(name, roles)
    yield e
    e.close()


@pytest.fixture
def u(eng):
    return {n: eng.user(n) for n in USERS}


def request(eng, user, supplier="Northwind", site="Dock 1", approve=True, items=None):
    items = items or [{"item": "Bolt", "qty": 10}, {"item": "Nut", "qty": 4}]
    rec = eng.create(user, "request", {"supplier": supplier, "site": site, "items": items})
    if approve:
        rec = eng.act(user, "request", rec.id, "approve")
    return eng.get(user, "request", rec.id)


def line_ids(rec, table="items"):
    return [row["_id"] for row in rec.data[table]]


# --- links to lines -----------------------------------------------------------------------


def test_line_link__stores_the_line_id_and_reaches_the_line_and_its_record(eng, u):
    req = request(eng, u["alice"])
    bolt = line_ids(req)[0]
    ho = eng.create(u["kim"], "handover", {"request": req.id,
                                           "items": [{"request_item": bolt, "qty": 3}]})
    row = eng.get(u["kim"], "handover", ho.id).data["items"][0]
    assert row["request_item"] == bolt
    assert row["item_name"] == "Bolt"  # request_item.item
    assert row["item_site"] == "Dock 1"  # request_item.record.site
    assert eng.line(u["kim"], "request.items", bolt) == {
        **req.data["items"][0], "id": bolt, "record": req.id}


def test_line_link__a_line_removed_from_its_record_is_no_line_even_after_it_was_reached(eng, u):
    req = request(eng, u["alice"], approve=False)
    bolt, nut = line_ids(req)
    assert eng.line(u["alice"], "request.items", bolt)["item"] == "Bolt"  # reached once
    eng.update(u["alice"], "request", req.id, {"items": [req.data["items"][1]]}, req.version)
    assert eng.line(u["alice"], "request.items", bolt) is None
    assert eng.line(u["alice"], "request.items", nut)["item"] == "Nut"


def test_line_link__refuses_a_line_of_another_record_than_within_names(eng, u):
    first, second = request(eng, u["alice"]), request(eng, u["alice"])
    with pytest.raises(ValidationFailed) as exc:
        eng.create(u["kim"], "handover", {"request": first.id, "items": [
            {"request_item": line_ids(second)[0], "qty": 1}]})
    assert exc.value.fields["items[0].request_item"] == \
        f"line {line_ids(second)[0]} does not belong to the chosen request"


def test_line_link__refuses_an_id_that_is_no_line(eng, u):
    req = request(eng, u["alice"])
    with pytest.raises(ValidationFailed) as exc:
        eng.create(u["kim"], "handover", {"request": req.id, "items": [
            {"request_item": "nope", "qty": 1}]})
    assert exc.value.fields["items[0].request_item"] == "no line nope in request items"


def test_line_link__a_line_of_a_record_the_user_may_not_read_is_no_line(eng, u):
    theirs = request(eng, u["alice"])  # bob may not read alice's request (rows rule)
    with pytest.raises(ValidationFailed) as exc:
        eng.create(u["bob"], "handover", {"request": theirs.id, "items": [
            {"request_item": line_ids(theirs)[0], "qty": 1}]})
    assert exc.value.fields["request"] == f"no request record with id {theirs.id}"
    assert exc.value.fields["items[0].request_item"] == \
        f"no line {line_ids(theirs)[0]} in request items"
    assert eng.line(u["bob"], "request.items", line_ids(theirs)[0]) is None


def test_line_link__a_row_rule_reads_the_linked_line(eng, u):
    req = request(eng, u["alice"])
    with pytest.raises(ValidationFailed) as exc:
        eng.create(u["kim"], "handover", {"request": req.id, "items": [
            {"request_item": line_ids(req)[1], "qty": 5}]})  # Nut: 4 open
    assert exc.value.fields == {"items[0].qty": "more than is still open"}


def test_line_options__offer_only_readable_lines_and_only_those_within_the_record(eng, u):
    mine = request(eng, u["alice"], items=[{"item": "Bolt", "qty": 10}])
    other = request(eng, u["bob"], items=[{"item": "Washer", "qty": 2}, {"item": "Pin", "qty": 1}])
    everything = eng.line_options(u["kim"], "request.items")
    assert [lid for lid, _ in everything] == line_ids(other) + line_ids(mine)
    assert eng.line_options(u["kim"], "request.items", within=mine.id) == [
        (line_ids(mine)[0], f"{mine.number} · Bolt × 10")]
    assert [lid for lid, _ in eng.line_options(u["bob"], "request.items")] == line_ids(other)
    assert eng.line_options(u["bob"], "request.items", within=mine.id) == []
    assert eng.line_options(u["kim"], "request.items", q=mine.number) == [
        (line_ids(mine)[0], f"{mine.number} · Bolt × 10")]


# --- make_from ----------------------------------------------------------------------------


def test_new_from__prefills_values_and_one_line_per_open_source_line(eng, u):
    req = request(eng, u["alice"])
    bolt, nut = line_ids(req)
    data = dict(req.data)
    data["items"] = [dict(data["items"][0], handed_qty=10), dict(data["items"][1], handed_qty=1)]
    eng.update(u["kim"], "request", req.id, data, req.version)
    draft = eng.new_from(u["kim"], "handover", f"request:{req.id}")
    assert draft.errors == {}
    assert draft.data["request"] == req.id
    assert draft.data["supplier"] == "Northwind"
    assert [(r["request_item"], r["qty"], r["item_name"]) for r in draft.data["items"]] == [
        (nut, 3, "Nut")]  # the bolts are all handed over
    assert eng.list(u["kim"], "handover").total == 0  # a draft writes nothing


def test_create_from__makes_the_record_with_the_callers_values_over_the_draft(eng, u):
    req = request(eng, u["alice"])
    ho = eng.create(u["kim"], "handover", {"note": "morning run"}, source=f"request:{req.id}")
    assert ho.data["request"] == req.id  # links back to its source
    assert ho.data["note"] == "morning run"
    assert [(r["request_item"], r["qty"]) for r in ho.data["items"]] == [
        (line_ids(req)[0], 10), (line_ids(req)[1], 4)]
    fewer = eng.create(u["kim"], "handover", {"items": [{"request_item": line_ids(req)[1],
                                                          "qty": 2}]},
                       source=f"request:{req.id}")
    assert [(r["request_item"], r["qty"]) for r in fewer.data["items"]] == [(line_ids(req)[1], 2)]


def test_create_from__validates_the_lines_as_any_save(eng, u):
    req = request(eng, u["alice"])
    with pytest.raises(ValidationFailed) as exc:
        eng.create(u["kim"], "handover", {"items": [{"request_item": line_ids(req)[0],
                                                     "qty": 11}]}, source=f"request:{req.id}")
    assert exc.value.fields == {"items[0].qty": "more than is still open"}


def test_make_from__a_source_whose_if_does_not_hold_is_refused(eng, u):
    draft = request(eng, u["alice"], approve=False)
    for call in (lambda: eng.new_from(u["kim"], "handover", f"request:{draft.id}"),
                 lambda: eng.create(u["kim"], "handover", {}, source=f"request:{draft.id}")):
        with pytest.raises(ActionRefused) as exc:
            call()
        assert exc.value.message == f"{draft.number} does not allow making a Handover now"
    assert eng.make_targets(u["kim"], draft) == []
    assert eng.make_targets(u["kim"], request(eng, u["alice"])) == ["handover", "pickup"]
    assert eng.make_targets(u["bob"], request(eng, u["alice"])) == ["handover"]


def test_make_from__needs_create_on_the_target_and_read_on_the_source(eng, u):
    req = request(eng, u["alice"])
    with pytest.raises(PermissionDenied):
        eng.new_from(u["val"], "handover", f"request:{req.id}")
    with pytest.raises(PermissionDenied):
        eng.create(u["val"], "handover", {}, source=f"request:{req.id}")
    with pytest.raises(NotFound):  # bob may create handovers but not read alice's request
        eng.create(u["bob"], "handover", {}, source=f"request:{req.id}")
    assert eng.make_targets(u["val"], req) == []


def test_make_from__an_undeclared_source_or_a_bad_from_is_refused(eng, u):
    req = request(eng, u["alice"])
    with pytest.raises(NotFound):
        eng.new_from(u["alice"], "request", f"handover:{req.id}")
    for bad in ("request", "request:", "request:x", ":1"):
        with pytest.raises(ValidationFailed):
            eng.new_from(u["kim"], "handover", bad)


def test_make_from_several_sources__merges_their_lines_when_their_values_agree(eng, u):
    a = request(eng, u["alice"], items=[{"item": "Bolt", "qty": 2}])
    b = request(eng, u["alice"], items=[{"item": "Nut", "qty": 3}])
    c = request(eng, u["alice"], supplier="Contoso", items=[{"item": "Pin", "qty": 1}])
    pickup = eng.create(u["kim"], "pickup", {}, source=f"request:{a.id},{b.id}")
    assert pickup.data["supplier"] == "Northwind"
    assert [(r["request_item"], r["qty"]) for r in pickup.data["items"]] == [
        (line_ids(a)[0], 2), (line_ids(b)[0], 3)]
    with pytest.raises(ValidationFailed) as exc:
        eng.new_from(u["kim"], "pickup", f"request:{a.id},{c.id}")
    assert exc.value.fields == {"from": "the sources differ in supplier (Northwind and Contoso); "
                                        "make one record per supplier"}
    # a handover links to its one request: two requests cannot make one
    with pytest.raises(ValidationFailed) as exc:
        eng.create(u["kim"], "handover", {}, source=f"request:{a.id},{b.id}")
    assert exc.value.fields["from"].startswith("the sources differ in request")


# --- roll-ups -----------------------------------------------------------------------------


def hand_over(eng, user, req, qtys):
    data = dict(req.data)
    data["items"] = [dict(row, handed_qty=q) for row, q in zip(data["items"], qtys)]
    return eng.update(user, "request", req.id, data, req.version)


def test_roll_ups__follow_every_write_of_the_lines(eng, u):
    req = request(eng, u["alice"])
    assert (req.data["total_qty"], req.data["handed_total"], req.data["handed_share"],
            req.data["item_count"]) == (14, 0, Decimal(0), 2)
    req = hand_over(eng, u["kim"], req, [7, 0])
    assert (req.data["handed_total"], req.data["handed_share"]) == (7, Decimal("0.5"))


def test_ratio__of_nothing_is_no_value_not_an_error(eng, u):
    req = request(eng, u["alice"], approve=False, items=[{"item": "Bolt", "qty": 1}])
    data = dict(req.data, items=[])
    with pytest.raises(ValidationFailed):  # min_rows: 1, but the roll-up itself did not fail
        eng.update(u["alice"], "request", req.id, data, req.version)
    preview = eng.preview(u["alice"], "request", {"supplier": "X", "items": []})
    assert preview.values["handed_share"] is None
    assert preview.errors == {"items": "needs at least 1 row"}


def test_roll_ups__filter_sort_and_group_in_sql(eng, u):
    done = hand_over(eng, u["kim"], request(eng, u["alice"]), [10, 4])
    half = hand_over(eng, u["kim"], request(eng, u["alice"]), [7, 0])
    request(eng, u["alice"])
    page = eng.list(u["kim"], "request", filter="handed_share >= 0.5", order="-handed_share")
    assert [r.id for r in page.items] == [done.id, half.id]
    result = eng.report(u["kim"], "requests_by_share")
    assert [tuple(r) for r in result.rows] == [(False, 2, 7), (True, 1, 14)]


def test_line_link__sql_reaches_the_line_and_its_record(eng, u):
    req = request(eng, u["alice"])
    bolt, nut = line_ids(req)
    eng.create(u["kim"], "handover", {"request": req.id, "items": [
        {"request_item": bolt, "qty": 3}, {"request_item": nut, "qty": 1}]})
    eng.create(u["kim"], "handover", {"request": req.id, "items": [
        {"request_item": bolt, "qty": 2}]})
    result = eng.report(u["kim"], "handed_by_item")
    assert [tuple(r) for r in result.rows] == [("Bolt", "Dock 1", 5, 10), ("Nut", "Dock 1", 1, 4)]


def test_line_link__a_list_filter_follows_it_under_the_readers_rules(eng, u):
    req = request(eng, u["alice"])
    pickup = eng.create(u["kim"], "pickup", {"supplier": "Northwind",
                                             "main_item": line_ids(req)[0]})
    flt = "main_item.item == 'Bolt' and main_item.record.site == 'Dock 1'"
    assert [r.id for r in eng.list(u["kim"], "pickup", filter=flt).items] == [pickup.id]
    assert [r.id for r in eng.list(u["alice"], "pickup", filter=flt).items] == [pickup.id]
    # bob reads every pickup but not alice's request: through the link it is no line
    assert eng.list(u["bob"], "pickup", filter=flt).total == 0
    assert eng.list(u["bob"], "pickup").total == 1


def test_roll_ups__follow_a_line_update_by_another_records_on_enter_action(eng, u):
    req = request(eng, u["alice"])
    ho = eng.create(u["kim"], "handover", {}, source=f"request:{req.id}")  # 10 bolts, 4 nuts
    data = dict(ho.data, items=[dict(ho.data["items"][0], qty=5), ho.data["items"][1]])
    ho = eng.update(u["kim"], "handover", ho.id, data, ho.version)
    eng.act(u["kim"], "handover", ho.id, "hand")
    req = eng.get(u["kim"], "request", req.id)
    assert [r["handed_qty"] for r in req.data["items"]] == [5, 4]
    assert (req.data["handed_total"], req.data["handed_share"]) == (9, Decimal("0.6429"))  # percent: 4 places, 64.29%
    assert [r.id for r in eng.list(u["kim"], "request", filter="handed_share > 0.6").items] == [
        req.id]
    # the next handover from it offers only what is still open
    draft = eng.new_from(u["kim"], "handover", f"request:{req.id}")
    assert [(r["item_name"], r["qty"]) for r in draft.data["items"]] == [("Bolt", 5)]


def test_line_link__exports_as_the_line_id(eng, u, tmp_path):
    req = request(eng, u["alice"])
    eng.create(u["kim"], "pickup", {"supplier": "N", "main_item": line_ids(req)[0]})
    out = tmp_path / "pickup.csv"
    with open(out, "wb") as f:
        eng.export(u["kim"], "pickup", "csv", f)
    assert line_ids(req)[0] in out.read_text(encoding="utf-8-sig")
