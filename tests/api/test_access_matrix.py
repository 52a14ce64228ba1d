"""The permission matrix of the bundled ERP app, checked against the HTTP API.

Expectations come from `loom access --format json` (never listed by hand): for
every form × role × operation (create, read, update, actions) × field, the API
answers as the matrix says — on one seeded app per backend, with one sample
record per form and workflow step. Each role is a fresh user holding only that
role, owning nothing and holding no task; `owner` is checked with the sampled
record's owner where their own roles grant nothing more than ownership does.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from engine.auth.users import SYSTEM
from engine.cli import main
from tests.app.test_demo import demo
from tests.conftest import BACKENDS, ERP, erp_engine
from web import create_app

REFUSED_STEP = {"step_locked", "not_permitted"}
pytestmark = pytest.mark.outbox_ok  # saved records make the app's alerts email address-less users


def matrix() -> list[dict]:
    result = CliRunner().invoke(main, ["access", "--format", "json", "--definitions", str(ERP)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(request, tmp_path_factory):
    with erp_engine(request.param, tmp_path_factory.mktemp("matrix") / "erp.db") as (eng, clock):
        demo.seed(eng, clock, orders=40, customers=8)
        app = create_app(eng, secret_key="test-secret")
        app.config["TESTING"] = True
        yield eng, app


class Client:
    def __init__(self, app, token):
        self.c, self.h = app.test_client(), {"Authorization": f"Bearer {token}"}

    def __getattr__(self, method):
        return lambda path, json=None: getattr(self.c, method)(path, json=json, headers=self.h)


def role_client(eng, app, role: str) -> Client:
    name = f"m_{role}"
    if not eng.users.exists(name):
        eng.add_user(name, [role])
    return Client(app, eng.create_token(name))


def samples(eng, form: str) -> list:
    """One record per workflow step (or one record) of the form."""
    wf = eng.defs.workflow_for(form)
    if wf is None:
        return eng.list(SYSTEM, form, limit=1).items
    out = []
    for step in wf.steps:
        out += eng.list(SYSTEM, form, filter=f"state == '{step}'", limit=1).items
    return out


def other_value(eng, f, current):
    """A value of field `f` that differs from `current` (None: no such value to try)."""
    t = f.type
    if f.is_table:
        return [] if current else None
    if f.to:
        ids = [r.id for r in eng.list(SYSTEM, f.to, limit=2).items if r.id != current]
        return ids[0] if ids else None
    if t == "choice":
        return next((o for o in f.options if o != current), None)
    if t == "multichoice":
        return [] if current else list(f.options[:1])
    if t == "boolean":
        return not bool(current)
    if t == "integer":
        return int(current or 0) + 1
    if t in ("money", "decimal", "percent"):
        return str(Decimal(str(current or 0)) + 1)
    if t == "date":
        return (current + timedelta(days=1) if isinstance(current, date) else date(2026, 1, 5)).isoformat()
    if t == "datetime":
        return "2026-01-05T10:00:00Z"
    if t == "email":
        return "changed@example.com" if current != "changed@example.com" else "other@example.com"
    if t == "phone":
        return "+86 21 5555 0199" if current != "+86 21 5555 0199" else "+86 21 5555 0198"
    if t == "user":
        return "m_admin" if current != "m_admin" else "admin"
    if t == "file":
        return None
    return f"changed {current}"


def changes(eng, form: str, values: dict) -> dict:
    """Every input field (not computed, not read-only) set to a different value."""
    out = {}
    for f in eng.defs.form(form).fields:
        if f.readonly:
            continue
        v = other_value(eng, f, values.get(f.name))
        if v is not None:
            out[f.name] = v
    return out


def expect_write(r, editable: set, sent: set, what: str) -> None:
    """The answer to a write of `sent` fields by someone who may change `editable`."""
    refused = sent - editable
    err = r.json.get("error", {}) if r.is_json else {}
    if refused:
        if len(refused) == 1:
            assert r.status_code == 403 and err.get("reason") == "field_not_editable", (what, r.json)
        else:
            assert r.status_code == 422 and err.get("reason") == "fields_not_editable", (what, r.json)
        assert set(err["fields"]) == refused, what
    else:  # nothing refused: saved, or a validation answer that is no permission refusal
        assert r.status_code in (200, 201, 422), (what, r.status_code, r.json)
        assert err.get("reason") not in ("field_not_editable", "fields_not_editable"), what


def test_every_form_role_operation_and_field_answers_as_loom_access_says(seeded):
    eng, app = seeded
    entries = matrix()
    forms = {e["form"] for e in entries}
    assert forms == set(eng.defs.forms)
    checked = {"create": 0, "read": 0, "update": 0, "delete": 0, "actions": 0}
    outcomes: Counter = Counter()
    by_key = {(e["form"], e["role"]): e for e in entries}
    for form in sorted(forms):
        recs = samples(eng, form)
        assert recs, f"the demo has no {form} record to sample"
        defaults = eng.new_values(SYSTEM, form)
        for (f_id, role), e in by_key.items():
            if f_id != form or role == "owner":
                continue
            client = role_client(eng, app, role)
            # --- create: refused without the role; else exactly the fields it may not set
            data = changes(eng, form, defaults)
            r = client.post(f"/api/forms/{form}/records", {"data": data})
            if not e["create"]:
                assert r.status_code == 403 and r.json["error"]["reason"] == "not_permitted", (form, role)
            else:
                expect_write(r, set(e["fields"]["create"]), set(data), (form, role, "create"))
            checked["create"] += 1
            for sample in recs:
                rec = eng.get(SYSTEM, form, sample.id)
                url = f"/api/forms/{form}/records/{rec.id}"
                what = (form, rec.state, role)
                # --- read: the record, with exactly the fields the role may see
                r = client.get(url)
                if not e["read"]:
                    assert r.status_code == 404, what
                elif e["rows"] is None:
                    assert r.status_code == 200, what
                if r.status_code == 200:
                    # every stored field the role may see, and no other
                    assert set(r.json["data"]) == set(rec.json_data) & set(e["fields"]["read"]), what
                    step = e["steps"].get(rec.state, {"actions": [], "delete": e["delete"]})
                    assert {a["name"] for a in r.json["actions"]} <= set(step["actions"]), what
                    checked["actions"] += 1
                    # --- delete: the record says whether the role may; a refusal deletes nothing
                    assert r.json["deletable"] is step["delete"], what
                    if not step["delete"]:
                        d = client.delete(url, {"version": rec.version})
                        assert d.status_code == 403, (what, d.json)
                    checked["delete"] += 1
                checked["read"] += 1
                # --- update: every field changed at once; the refusal names each refused one
                data = changes(eng, form, rec.data)
                r = client.patch(url, {"data": data, "version": rec.version})
                editable = set(e["steps"][rec.state]["edit"]) if rec.state in e["steps"] else \
                    (set(e["fields"]["edit"]) if e["update"] else set())
                if not e["read"] or (e["rows"] is not None and r.status_code == 404):
                    assert r.status_code == 404, what
                elif not editable:
                    assert r.status_code == 403 and r.json["error"]["reason"] in REFUSED_STEP \
                        | {"field_not_editable"}, (what, r.json)
                else:
                    expect_write(r, editable, set(data), what)
                    refused = sorted(set(data) - editable)
                    if refused:  # one such field alone: a 403 naming it
                        one = {refused[0]: data[refused[0]]}
                        r1 = client.patch(url, {"data": one, "version": rec.version})
                        expect_write(r1, editable, set(one), what)
                        outcomes[(r1.status_code, r1.json["error"].get("reason"))] += 1
                checked["update"] += 1
                outcomes[(r.status_code, (r.json or {}).get("error", {}).get("reason"))] += 1
    assert min(checked.values()) > 0, checked
    # the walk met every kind of answer: saved, refused by step, by one field, by several
    assert {(200, None), (403, "step_locked"), (403, "field_not_editable"),
            (422, "fields_not_editable"), (404, None)} <= set(outcomes), outcomes


def test_the_owner_column_holds_for_the_records_owner(seeded):
    eng, app = seeded
    entries = {(e["form"], e["role"]): e for e in matrix()}
    seen = 0
    for form in eng.defs.forms:
        for sample in samples(eng, form):
            rec = eng.get(SYSTEM, form, sample.id)
            if rec.state is None or not eng.users.exists(rec.owner):
                continue  # no workflow, or made by the system (an alert, an on-enter action)
            owner = eng.user(rec.owner)
            if owner.is_admin:
                continue
            own = entries[(form, "owner")]["steps"].get(rec.state, {"edit": []})
            extra = set().union(*[set(entries[(form, r)]["steps"].get(rec.state, {"edit": []})["edit"])
                                  for r in owner.roles if (form, r) in entries])
            if not extra <= set(own["edit"]):
                continue  # their roles grant more than owning does: not the owner column alone
            client = Client(app, eng.create_token(owner.name))
            data = changes(eng, form, rec.data)
            r = client.patch(f"/api/forms/{form}/records/{rec.id}", {"data": data, "version": rec.version})
            if not own["edit"]:
                assert r.status_code == 403, (form, rec.state, r.json)
            else:
                expect_write(r, set(own["edit"]), set(data), (form, rec.state, "owner"))
            seen += 1
    assert seen > 0
