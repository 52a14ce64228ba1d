"""Unit tests of schema_check and suggest: the API, the schemas, and message shapes."""
from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from engine.definitions import schema_messages
from engine.definitions.schema_check import (KINDS, check_document, check_schema, kind_of,
                                             schema_for, write_schemas)
from engine.definitions.suggest import did_you_mean, suggestion_suffix
from engine.definitions.yaml_source import load_text


def lines(kind: str, text: str) -> list[str]:
    return [f"{p.line}:{p.col}: {p.message} [{p.code}]"
            for p in check_schema(kind, load_text(text, "x.yaml"))]


# --- schemas -------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_schema__is_valid_draft_2020_12(kind):
    schema = schema_for(kind)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("kind", KINDS)
def test_schema__closes_every_object_and_describes_every_property(kind):
    def walk(node, where):
        if isinstance(node, dict):
            if "properties" in node and "x-noun" in node:  # a shape, not an if/then part
                closed = node.get("additionalProperties")
                # on_enter actions fall back to a plugin's action, named by its one key
                assert closed is False or closed == {"$ref": "#/$defs/plugin_action"}, where
                for name, prop in node["properties"].items():
                    assert prop is False or "description" in prop or "$ref" in prop, \
                        f"{where}.{name} has no description"
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(schema_for(kind), kind)


@pytest.mark.parametrize("kind", KINDS)
def test_schema__every_ref_resolves(kind):
    schema = schema_for(kind)
    refs = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    for ref in refs:
        assert ref.startswith("#/$defs/") and ref[len("#/$defs/"):] in schema["$defs"], ref


def test_schema_for__is_loaded_once():
    assert schema_for("form") is schema_for("form")


def test_schema_for__refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="one of app, form, workflow, alert, report"):
        schema_for("page")


def test_field_type_is_not_an_enum_so_plugins_can_add_types():
    field = schema_for("form")["$defs"]["field"]["properties"]["type"]
    assert "enum" not in field and field["type"] == "string"
    assert lines("form", "form: f\nfields:\n  - {name: code, type: barcode}\n") == []


def test_write_schemas__writes_five_files_equal_to_the_packaged_ones(tmp_path):
    written = write_schemas(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(f"{k}.json" for k in KINDS)
    for kind in KINDS:
        assert json.loads((tmp_path / "out" / f"{kind}.json").read_text("utf-8")) == \
            schema_for(kind)


# --- kind ----------------------------------------------------------------------


def test_kind_of__is_the_first_key_when_it_names_a_kind():
    assert kind_of(load_text("workflow: w\nform: f\n")) == "workflow"
    assert kind_of(load_text("title: x\nform: f\n")) is None
    assert kind_of(load_text("- form\n")) is None
    assert kind_of(load_text("")) is None


def test_check_document__empty_file_names_the_kinds_at_1_1():
    kind, problems = check_document(load_text("", "empty.yaml"))
    assert kind is None
    assert [str(p) for p in problems] == [
        "empty.yaml:1:1: the first key must name the kind: one of app, form, workflow, "
        "alert, report [LOOM-E009]"]


def test_check_document__suggests_the_kind_for_a_misspelt_first_key():
    kind, problems = check_document(load_text("from: sales_order\n", "f.yaml"))
    assert problems[0].message.endswith("; did you mean 'form'?")


# --- messages ------------------------------------------------------------------


def test_every_problem_is_reported_in_file_order():
    text = ("workflow: Order\n"            # 1: bad id
            "form: order\n"
            "tittle: x\n"                  # 3: unknown key
            "steps:\n"
            "  draft:\n"
            "    mode: sometimes\n"        # 6: enum
            "    due: soon\n")             # 7: duration
    assert lines("workflow", text) == [
        "1:1: workflow is missing the required key 'start' [LOOM-E011]",
        "1:11: 'Order' is not a valid name; use lowercase letters, digits and _, starting "
        "with a letter (like expense_claim); did you mean 'order'? [LOOM-E014]",
        "3:1: unknown key 'tittle' in workflow; did you mean 'title'? [LOOM-E010]",
        "6:11: 'sometimes' is not one of any, all [LOOM-E013]",
        "7:10: 'soon' is not a duration; write a number and a unit: m (minutes), h (hours), "
        "d (days) or w (weeks), like 30m, 4h, 2d or 1w [LOOM-E014]",
    ]


def test_unknown_key_without_a_close_match__lists_the_allowed_keys():
    assert lines("form", "form: f\nfields: [{name: a, type: text}]\ncolour: red\n") == [
        "3:1: unknown key 'colour' in form; the keys allowed here are form, title, "
        "description, number, title_field, owner_field, fields, indexes, permissions, archive [LOOM-E010]"]


def test_enum__suggests_the_close_value():
    text = "workflow: w\nform: f\nstart: a\nsteps:\n  a: {mode: alll}\n"
    assert lines("workflow", text) == [
        "5:13: 'alll' is not one of any, all; did you mean 'all'? [LOOM-E013]"]


def test_type__a_number_where_text_is_expected_says_to_quote_it():
    assert lines("form", "form: f\nnumber: 12\nfields: [{name: a, type: text}]\n") == [
        "2:9: expected text, got a number; put the value in quotes [LOOM-E012]"]


def test_label__accepts_text_or_a_language_map_and_nothing_else():
    ok = "form: f\ntitle: {en: Order, zh: 订单}\nfields: [{name: a, type: text, label: A}]\n"
    assert lines("form", ok) == []
    assert lines("form", "form: f\ntitle: [Order]\nfields: [{name: a, type: text}]\n") == [
        "2:8: expected text or a map of language code to text (like {en: Claim, zh: 报销}), "
        "got a list [LOOM-E012]"]


def test_value_slots__accept_literals_and_expressions():
    text = ("workflow: w\nform: f\nstart: a\nsteps:\n  a:\n    on_enter:\n"
            "      - set: {n: 1, b: true, z: null, t: \"'text'\", f: 1.5}\n")
    assert lines("workflow", text) == []


def test_on_enter__accepts_a_plugins_action_whose_value_is_a_mapping():
    text = ("workflow: w\nform: f\nstart: a\nsteps:\n  a:\n    on_enter:\n"
            "      - print_label: {printer: dock}\n      - print_label: now\n")
    assert lines("workflow", text) == [
        "8:22: expected a mapping of the action's settings, got text [LOOM-E012]"]


def test_approvers__need_one_of_the_four_shapes():
    text = "workflow: w\nform: f\nstart: a\nsteps:\n  a: {approvers: {}}\n"
    assert lines("workflow", text) == [
        "5:18: give one of role, users, field or manager_of [LOOM-E015]"]


def test_trigger__accepts_enter_step_and_schedule_only():
    base = "alert: a\nform: f\non: {}\n"
    assert lines("alert", base.replace("{}", "enter:approved")) == []
    assert lines("alert", base.replace("{}", "{schedule: '@daily'}")) == []
    assert lines("alert", base.replace("{}", "{cron: '0 8 * * *'}")) == [
        "3:5: trigger is missing the required key 'schedule' [LOOM-E011]",
        "3:6: unknown key 'cron' in trigger; the keys allowed here are schedule [LOOM-E010]"]


def test_action__as_a_list_checks_every_branch():
    text = ("workflow: w\nform: f\nstart: a\nsteps:\n  a:\n    actions:\n"
            "      go: [{to: b, if: \"x > 1\"}, {too: c}]\n")
    assert lines("workflow", text) == [
        "7:35: unknown key 'too' in action; did you mean 'to'? [LOOM-E010]"]


def test_anyof_branch__picks_the_branch_the_author_meant():
    schema = {"anyOf": [{"type": "string"}, {"type": "object", "x-noun": "thing",
                                             "properties": {"name": {"type": "string"}},
                                             "additionalProperties": False}]}
    error = next(Draft202012Validator(schema).iter_errors({"nmae": "x"}))
    doc = load_text("nmae: x\n", "t.yaml")
    problems = schema_messages.Translator(doc, "form").translate(error)
    assert [str(p) for p in problems] == [
        "t.yaml:1:1: unknown key 'nmae' in thing; did you mean 'name'? [LOOM-E010]"]
    error = next(Draft202012Validator(schema).iter_errors(3))
    problems = schema_messages.Translator(load_text("3\n", "t.yaml"), "form").translate(error)
    assert [p.message for p in problems] == ["expected text or a mapping, got a number"]


# --- suggest -------------------------------------------------------------------


def test_did_you_mean__finds_close_words_and_ignores_far_ones():
    assert did_you_mean("tittle", ["title", "fields"]) == "title"
    assert did_you_mean("Title", ["title"]) == "title"
    assert did_you_mean("colour", ["title", "fields"]) is None
    assert did_you_mean("title", ["title"]) is None
    assert did_you_mean("", ["a"]) is None
    assert did_you_mean("x", []) is None


def test_suggestion_suffix__is_empty_without_a_match():
    assert suggestion_suffix("aprove", ["approve", "reject"]) == "; did you mean 'approve'?"
    assert suggestion_suffix("zzz", ["approve"]) == ""


def test_check_schema__without_a_kind_reports_the_kind_problem():
    problems = check_schema(None, load_text("title: x\n", "t.yaml"))
    assert [p.code for p in problems] == ["LOOM-E009"]
    assert (problems[0].line, problems[0].col) == (1, 1)


def test_type__quoting_is_suggested_only_where_any_text_would_do():
    assert lines("alert", "alert: a\nform: f\non: 5\n") == [
        "3:5: expected create, change, enter:<step> or {schedule: \"<cron>\"}, got a number "
        "[LOOM-E012]"]
    assert lines("form", "form: f\nfields:\n  - {name: a, type: choice, options: [1]}\n") == [
        "3:39: expected text or {value: v, label: ...}, got a number; put the value in quotes "
        "[LOOM-E012]"]


def test_misspelt_required_key__is_reported_once_as_an_unknown_key():
    assert lines("form", "form: f\nfields:\n  - {nmae: a, type: text}\n") == [
        "3:6: unknown key 'nmae' in field; did you mean 'name'? [LOOM-E010]"]
