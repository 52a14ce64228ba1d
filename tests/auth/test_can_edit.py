"""`Engine.can_edit(user, record)`: the one edit rule, which `update` enforces and the web's
Edit link asks — the form's `update` roles (`owner` included) or, under a workflow, the
step's `edit` list; admins always."""
from __future__ import annotations

import re

import pytest

from engine.engine import Engine
from engine.errors import PermissionDenied
from web import create_app

APP = "app: t\ntitle: T\nroles: [staff, lead]\n"
MEMO = """form: memo
title: Memo
fields:
  - {name: text, type: text, required: true}
permissions: {create: [staff], read: [staff, lead], update: [owner, lead]}
"""
NOTE = """form: note
title: Note
fields:
  - {name: text, type: text, required: true}
permissions: {create: [staff], read: [staff, lead], update: [staff]}
"""
NOTE_FLOW = """workflow: note
form: note
start: draft
steps:
  draft:
    edit: [owner]
    actions:
      submit: {to: filed, by: [owner]}
  filed:
    edit: [lead]
    actions:
      reopen: {to: draft, by: [lead]}
      close: {to: closed, by: [lead]}
  closed: {final: true}
"""
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def eng(tmp_path, database_url, clock):
    tree = tmp_path / "defs"
    (tree / "forms").mkdir(parents=True)
    (tree / "workflows").mkdir()
    (tree / "app.yaml").write_text(APP)
    (tree / "forms" / "memo.yaml").write_text(MEMO)
    (tree / "forms" / "note.yaml").write_text(NOTE)
    (tree / "workflows" / "note.yaml").write_text(NOTE_FLOW)
    e = Engine(str(tree), database_url, clock=clock)
    for name, roles in {"ann": ["staff"], "ben": ["staff"], "lea": ["lead"]}.items():
        e.add_user(name, roles, password=f"{name}-pass-123")
    e.add_user("root", ["admin"], password="root-pass-123", is_admin=True)
    yield e
    e.close()


def test_owner_in_update_roles__the_owner_may_edit_other_staff_may_not(eng):
    ann, ben, lea, root = (eng.user(n) for n in ("ann", "ben", "lea", "root"))
    memo = eng.create(ann, "memo", {"text": "hello"})
    assert [u.name for u in (ann, ben, lea, root) if eng.can_edit(u, memo)] == ["ann", "lea", "root"]
    eng.update(ann, "memo", memo.id, {"text": "hello again"}, memo.version)  # the rule update keeps
    with pytest.raises(PermissionDenied):
        eng.update(ben, "memo", memo.id, {"text": "mine now"}, memo.version + 1)


def test_under_a_workflow__the_steps_edit_list_decides(eng):
    ann, ben, lea = (eng.user(n) for n in ("ann", "ben", "lea"))
    note = eng.create(ann, "note", {"text": "draft"})
    assert (eng.can_edit(ann, note), eng.can_edit(ben, note), eng.can_edit(lea, note)) == \
        (True, False, False)  # draft: edit [owner], though the form's update says staff
    filed = eng.act(ann, "note", note.id, "submit")
    assert (eng.can_edit(ann, filed), eng.can_edit(lea, filed)) == (False, True)


def test_the_record_page_offers_edit_exactly_when_can_edit_says_so(eng):
    app = create_app(eng, secret_key="test-secret")
    app.config["TESTING"] = True
    memo = eng.create(eng.user("ann"), "memo", {"text": "hello"})

    def edit_link_for(name: str) -> bool:
        c = app.test_client()
        page = c.get("/login").get_data(as_text=True)
        r = c.post("/login", data={"username": name, "password": f"{name}-pass-123",
                                   "csrf_token": TOKEN_RE.search(page).group(1)})
        assert r.status_code == 302
        html = c.get(f"/f/memo/{memo.id}").get_data(as_text=True)
        return 'id="edit"' in html

    # the owner rule counts: ann owns the memo though `staff` is not in its update roles
    assert {n: edit_link_for(n) for n in ("ann", "ben", "lea")} == \
        {"ann": True, "ben": False, "lea": True}
