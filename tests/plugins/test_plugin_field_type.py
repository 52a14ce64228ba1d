"""A field type from a plugin gets every surface the built-ins have, with no engine or web
change: the form pages (new, edit, record, list filter), the OpenAPI document, import and
export, and spreadsheet cells."""
from __future__ import annotations

import io
import re

import pytest

from engine.definitions.catalog import load_definitions
from engine.engine import Engine
from engine.bootstrap import default_registries
from tests.conftest import FIXTURES
from tests.fixtures.plugin_types import colours
from web import create_app

TREE = FIXTURES / "plugin_types"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def colour_registries():
    regs = default_registries()
    colours.register(regs)  # what the `loom.plugins` entry point would call
    regs.plugins.append("colours")
    return regs


@pytest.fixture
def studio(database_url, clock):
    eng = Engine(str(TREE), database_url, clock=clock, registries=colour_registries())
    eng.add_user("pia", ["painter"], password="pia-pass-123")
    yield eng
    eng.close()


@pytest.fixture
def pia(studio):
    app = create_app(studio, secret_key="test-secret")
    app.config["TESTING"] = True
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    r = c.post("/login", data={"username": "pia", "password": "pia-pass-123",
                               "csrf_token": TOKEN_RE.search(page).group(1)})
    assert r.status_code == 302
    c.token = TOKEN_RE.search(c.get("/account").get_data(as_text=True)).group(1)
    c.send = lambda url, data: c.post(url, data={"csrf_token": c.token, **data})
    return c


def test_plugin_type__new_page_renders_an_input_and_a_post_saves_the_parsed_value(studio, pia):
    page = pia.get("/f/swatch/new").get_data(as_text=True)
    assert re.search(r'<input id="f-colour" name="f.colour" type="text" value=""[^>]*data-type="colour"', page)
    assert 'name="f.shades.0.shade"' in page  # a cell of the plugin type in line items too
    assert 'data-preview="{&#34;kind&#34;: &#34;text&#34;, &#34;text&#34;: &#34;&#34;}"' in page

    r = pia.send("/f/swatch/new", {"f.name": "Poppy", "f.colour": "Red", "f.shades.0.shade": "#00FF00",
                                   "f.shades.0.note": "leaf"})
    assert r.status_code == 302, r.get_data(as_text=True)
    rec = studio.list(studio.user("pia"), "swatch").items[0]
    assert rec.data["colour"] == "#ff0000"
    assert [{k: v for k, v in r.items() if k != "_id"} for r in rec.data["shades"]] == [
        {"shade": "#00ff00", "note": "leaf"}]

    shown = pia.get(f"/f/swatch/{rec.id}").get_data(as_text=True)
    assert "#FF0000" in shown and "#00FF00" in shown  # the plugin's own display
    edit = pia.get(f"/f/swatch/{rec.id}/edit").get_data(as_text=True)
    assert 'name="f.colour" type="text" value="#ff0000"' in edit


def test_plugin_type__a_bad_value_is_refused_beside_the_field_and_shown_again(studio, pia):
    r = pia.send("/f/swatch/new", {"f.name": "Mud", "f.colour": "brownish"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "expected a colour like #ff8800 or a name (red, green, blue)" in html
    assert 'name="f.colour" type="text" value="brownish"' in html
    assert studio.list(studio.user("pia"), "swatch").total == 0


def test_plugin_type__edit_page_post_changes_the_value(studio, pia):
    rec = studio.create(studio.user("pia"), "swatch", {"name": "Sky", "colour": "blue"})
    r = pia.send(f"/f/swatch/{rec.id}/edit", {"f.name": "Sky", "f.colour": "#123456",
                                              "version": str(rec.version)})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert studio.get(studio.user("pia"), "swatch", rec.id).data["colour"] == "#123456"


def test_plugin_type__list_page_filters_by_it(studio, pia):
    pia_user = studio.user("pia")
    studio.create(pia_user, "swatch", {"name": "Poppy", "colour": "red"})
    studio.create(pia_user, "swatch", {"name": "Sky", "colour": "blue"})
    page = pia.get("/f/swatch").get_data(as_text=True)
    assert 'name="x.colour"' in page  # the filter input plain text gets
    found = pia.get("/f/swatch?x.colour=0000ff").get_data(as_text=True)
    assert "Sky" in found and "Poppy" not in found
    assert "#0000FF" in found  # the indexed column shows the plugin's display


def test_plugin_type__openapi_has_its_schema(studio, pia):
    doc = pia.get("/api/openapi.json").get_json()
    data = doc["components"]["schemas"]["swatch.data"]["properties"]
    pattern = r"^(#[0-9a-fA-F]{6}|red|green|blue)$"
    assert data["colour"] == {"type": ["string", "null"], "pattern": pattern, "title": "Colour"}
    assert data["shades"]["items"]["properties"]["shade"] == {"type": ["string", "null"], "pattern": pattern,
                                                        "title": "Shade"}


def test_plugin_type__import_reads_its_cells_and_export_writes_them(studio):
    pia_user = studio.user("pia")
    result = studio.import_file(pia_user, "swatch",
                                io.BytesIO("name,颜色\nPoppy,红\nSky,#0000FF\n".encode()), format="csv")
    assert result.ok, result.errors
    assert [studio.get(pia_user, "swatch", i).data["colour"] for i in result.created] == ["#ff0000", "#0000ff"]
    bad = studio.import_file(pia_user, "swatch", io.BytesIO(b"name,colour\nMud,brownish\n"), format="csv")
    assert [str(e) for e in bad.errors] == [
        "swatch row 2: colour: expected a colour like #ff8800 or a name (red, green, blue)"]

    out = io.BytesIO()
    studio.export(pia_user, "swatch", "csv", out)
    text = out.getvalue().decode("utf-8-sig")  # the type's own to_cell: what a person reads
    assert "Poppy,red" in text and "Sky,blue" in text
    back = studio.import_file(pia_user, "swatch", io.BytesIO(text.replace("Poppy", "Poppy 2").encode()),
                              format="csv", dry_run=True)
    assert back.ok, back.errors


def test_plugin_type__spreadsheet_cells_use_its_own_to_cell_and_read_back():
    regs = colour_registries()
    ft = regs.field_types["colour"]
    f = next(x for x in _swatch(regs).fields if x.name == "colour")
    assert ft.to_cell(f, "#ff0000") == "red"
    assert ft.to_cell(f, "#123456") == "#123456"
    for value in ("#ff0000", "#123456"):
        assert ft.parse(f, ft.from_cell(f, ft.to_cell(f, value))) == value


def _swatch(regs):
    return load_definitions(str(TREE), regs).forms["swatch"]


def test_plugin_type__a_report_parameter_of_it_is_parsed_rendered_and_documented(studio, pia):
    pia_user = studio.user("pia")
    studio.create(pia_user, "swatch", {"name": "Poppy", "colour": "red"})
    studio.create(pia_user, "swatch", {"name": "Sky", "colour": "blue"})
    page = pia.get("/reports/by_colour?shade=red").get_data(as_text=True)
    assert 'name="shade" type="text"' in page and 'name="top" type="number"' in page
    assert "Poppy" in page and "Sky" not in page  # "red" parsed by the plugin to #ff0000
    params = pia.get("/api/openapi.json").get_json()["paths"]["/api/reports/by_colour"]["get"]["parameters"]
    assert [(p["name"], p["schema"]) for p in params][:2] == [("shade", {"type": "string"}),
                                                              ("top", {"type": "integer"})]
