"""JSON Schema checks of definition files, with errors a business admin can act on.

Each kind has a Draft 2020-12 schema in `schemas/`. A compiled fastjsonschema
check answers yes/no for the many valid files; jsonschema finds every
violation of the rest, and `schema_messages.Translator` turns each into one
located `Problem`.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator

from ..errors import Problem
from .schema_messages import E_NOT_A_KIND, Translator
from .suggest import suggestion_suffix
from .yaml_source import SourceDoc

KINDS = ("app", "form", "workflow", "alert", "report", "scenario")
SCHEMA_DIR = Path(__file__).with_name("schemas")


# --- schemas ----------------------------------------------------------------


@cache
def schema_for(kind: str) -> dict:
    """The JSON Schema of `kind`, loaded once; treat it as read-only."""
    if kind not in KINDS:
        raise ValueError(f"unknown definition kind {kind!r}; one of {', '.join(KINDS)}")
    with open(SCHEMA_DIR / f"{kind}.json", encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(schema_for(kind))


@cache
def _fast_validator(kind: str):
    """A compiled yes/no check (fastjsonschema), ~10x faster than jsonschema.

    Most files in a tree are valid; only those it rejects go through
    jsonschema, which finds every error and feeds the messages. Our schemas
    use only keywords with a draft-07 equivalent, translated here.
    """
    schema = _draft7(schema_for(kind))
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema)


def _draft7(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "dependentSchemas":
                out["dependencies"] = _draft7(value)
            elif not key.startswith("x-"):
                out[key] = _draft7(value)
        return out
    if isinstance(node, list):
        return [_draft7(v) for v in node]
    return node


def write_schemas(target_dir: str | Path) -> list[Path]:
    """Write every kind's schema as `<kind>.json` into `target_dir` (for `loom schema DIR`)."""
    target = Path(target_dir)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS:
        path = target / f"{kind}.json"
        path.write_text(json.dumps(schema_for(kind), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written


# --- kind -------------------------------------------------------------------


def kind_of(doc: SourceDoc) -> str | None:
    """The definition kind: the first top-level key, when it is one of KINDS."""
    if isinstance(doc.data, dict) and doc.data:
        first = next(iter(doc.data))
        if first in KINDS:
            return first
    return None


def kind_problem(doc: SourceDoc) -> Problem:
    """The problem for a document whose first key does not name a kind."""
    message = "the first key must name the kind: one of " + ", ".join(KINDS)
    if isinstance(doc.data, dict) and doc.data:
        first = next(iter(doc.data))
        present = [k for k in doc.data if k in KINDS]
        if present:
            message += f"; move '{present[0]}: ...' to the top of the file"
        else:
            message += suggestion_suffix(first, KINDS)
    return Problem(doc.file, 1, 1, message, E_NOT_A_KIND)


def check_document(doc: SourceDoc) -> tuple[str | None, list[Problem]]:
    """Find the kind and check the schema: `(kind, problems)`; kind is None if unknown."""
    kind = kind_of(doc)
    if kind is None:
        return None, [kind_problem(doc)]
    return kind, check_schema(kind, doc)


# --- checking ---------------------------------------------------------------


def check_schema(kind: str | None, doc: SourceDoc) -> list[Problem]:
    """Every schema problem in `doc`, in file order, each located at the offending node.

    With no kind (or one that is not in KINDS) the one problem is that the first
    key does not name a kind (LOOM-E009).
    """
    if kind not in KINDS:
        return [kind_problem(doc)]
    try:
        _fast_validator(kind)(doc.data)
        return []
    except Exception:  # any doubt: let jsonschema give the full answer
        pass
    found: set[Problem] = set()
    for error in _validator(kind).iter_errors(doc.data):
        found.update(Translator(doc, kind).translate(error))
    return sorted(found)
