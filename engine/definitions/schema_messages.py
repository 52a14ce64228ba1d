"""Schema errors in words a business admin can act on.

`Translator` turns each jsonschema `ValidationError` into one located
`Problem` with a stable code and, where a close alternative exists, a "did you
mean". The schemas carry a few `x-` annotations only this module reads
(validators and editors ignore them): `x-noun` (what an object is called),
`x-expected` (plain words for type errors), `x-pattern` and `x-suggest`
(pattern errors), `x-messages` (a message per keyword) and `x-at-key` (point
at the key).
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from jsonschema.exceptions import ValidationError

from ..errors import Problem
from .suggest import did_you_mean, suggestion_suffix
from .yaml_source import SourceDoc

E_NOT_A_KIND = "LOOM-E009"
E_UNKNOWN_KEY = "LOOM-E010"
E_MISSING_KEY = "LOOM-E011"
E_WRONG_TYPE = "LOOM-E012"
E_NOT_ALLOWED = "LOOM-E013"
E_BAD_FORMAT = "LOOM-E014"
E_OTHER = "LOOM-E015"

_CODES = {
    "additionalProperties": E_UNKNOWN_KEY, "unevaluatedProperties": E_UNKNOWN_KEY,
    "required": E_MISSING_KEY, "dependentRequired": E_MISSING_KEY,
    "type": E_WRONG_TYPE,
    "enum": E_NOT_ALLOWED, "const": E_NOT_ALLOWED,
    "pattern": E_BAD_FORMAT, "format": E_BAD_FORMAT,
}

_TYPE_WORDS = {
    "string": "text", "integer": "a whole number", "number": "a number",
    "boolean": "true or false", "array": "a list", "object": "a mapping", "null": "nothing",
}

_DURATION_UNITS = {
    "m": "m", "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "h": "h", "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "d": "d", "day": "d", "days": "d",
    "w": "w", "wk": "w", "wks": "w", "week": "w", "weeks": "w",
    "s": "s", "sec": "s", "secs": "s", "second": "s", "seconds": "s",
}


def fill(template: str, value: str) -> str:
    """An `x-messages` text with its `{value}` filled in; any other brace stays as written
    (a message may show YAML like `{en: ...}`), so no message can fail to format."""
    return template.replace("{value}", value)


class Translator:
    """Turns one jsonschema ValidationError into located Problems."""

    def __init__(self, doc: SourceDoc, kind: str):
        self.doc = doc
        self.kind = kind

    def translate(self, error: ValidationError) -> list[Problem]:
        schema = error.schema if isinstance(error.schema, dict) else {}
        keyword = error.validator
        path = tuple(error.absolute_path)
        custom = schema.get("x-messages", {}).get(keyword)
        if keyword in ("anyOf", "oneOf") and not custom:
            return self.branches(error, schema, path)
        code = _CODES.get(keyword, E_OTHER)
        at_key = bool(schema.get("x-at-key"))
        if "propertyNames" in error.absolute_schema_path:
            # the instance is a mapping key; the error's path is the mapping's
            path, at_key = path + (error.instance,), True
        if custom:
            return [self.problem(path, fill(custom, _show(error.instance)), code, at_key)]
        handler = getattr(self, "on_" + str(keyword), None)
        if handler is not None:
            return handler(error, schema, path, code, at_key)
        return [self.problem(path, error.message, code, at_key)]

    def problem(self, path: tuple, message: str, code: str, key: bool = False) -> Problem:
        if key and path in self.doc.key_marks:
            return self.doc.problem(path, message, code, key=True)
        return self.doc.problem(path, message, code)

    def noun(self, schema: dict, path: tuple) -> str:
        if schema.get("x-noun"):
            return schema["x-noun"]
        for part in reversed(path):
            if isinstance(part, str):
                return f"'{part}'"
        return self.kind

    # -- one method per keyword ------------------------------------------------

    def on_additionalProperties(self, error, schema, path, code, at_key):
        allowed = list(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        noun = self.noun(schema, path)
        out = []
        for key in error.instance:
            if key in allowed or any(re.search(p, key) for p in patterns):
                continue
            hint = suggestion_suffix(key, allowed)
            if not hint and allowed:
                hint = "; the keys allowed here are " + ", ".join(allowed)
            out.append(self.problem(path + (key,), f"unknown key '{key}' in {noun}{hint}",
                                    code, key=True))
        return out

    def on_required(self, error, schema, path, code, at_key):
        noun = self.noun(schema, path)
        missing = [k for k in error.validator_value if k not in error.instance]
        # a misspelt required key is reported once, as an unknown key with its fix
        allowed = list(schema.get("properties", {}))
        meant = {did_you_mean(k, allowed) for k in error.instance if k not in allowed}
        missing = [k for k in missing if k not in meant]
        return [self.problem(path, f"{noun} is missing the required key '{k}'", code)
                for k in missing]

    def on_type(self, error, schema, path, code, at_key):
        expected = schema.get("x-expected") or _type_words(error.validator_value)
        got = _got(error.instance)
        message = f"expected {expected}, got {got}"
        types = error.validator_value if isinstance(error.validator_value, list) else [
            error.validator_value]
        value = error.instance
        if "string" in types and "pattern" not in schema \
                and isinstance(value, (bool, int, float, dict)):  # quoting it would do
            message += "; put the value in quotes"
        elif types == ["boolean"] and isinstance(value, str):
            message += f"; write true or false, not '{value}'"
        elif types == ["array"] and isinstance(value, (str, int, float)) \
                and not isinstance(value, bool):
            message += f"; write a list: [{value}]"
        return [self.problem(path, message, code, at_key)]

    def on_enum(self, error, schema, path, code, at_key):
        options = [_show_plain(v) for v in error.validator_value]
        message = f"{_show(error.instance)} is not one of {', '.join(options)}"
        if isinstance(error.instance, str):
            message += suggestion_suffix(error.instance, options)
        return [self.problem(path, message, code, at_key)]

    def on_pattern(self, error, schema, path, code, at_key):
        value = error.instance
        tail = schema.get("x-pattern") or f"does not have the expected form ({error.validator_value})"
        message = f"{_show(value)} {tail}"
        fix = _fix(value, schema.get("x-suggest"), error.validator_value)
        if fix:
            message += f"; did you mean '{fix}'?"
        return [self.problem(path, message, code, at_key)]

    def on_minItems(self, error, schema, path, code, at_key):
        n = error.validator_value
        what = "at least one entry" if n == 1 else f"at least {n} entries"
        return [self.problem(path, f"{self.noun({}, path)} needs {what}", code, at_key)]

    def on_maxItems(self, error, schema, path, code, at_key):
        n = error.validator_value
        return [self.problem(path, f"{self.noun({}, path)} allows at most {n} "
                             f"entr{'y' if n == 1 else 'ies'}", code, at_key)]

    # a mapping's entries are counted and worded as a list's
    on_minProperties = on_minItems
    on_maxProperties = on_maxItems

    def on_minimum(self, error, schema, path, code, at_key):
        return [self.problem(path, f"{_show(error.instance)} is too small; "
                             f"{self.noun({}, path)} must be at least {error.validator_value}",
                             code, at_key)]

    def on_maximum(self, error, schema, path, code, at_key):
        return [self.problem(path, f"{_show(error.instance)} is too large; "
                             f"{self.noun({}, path)} must be at most {error.validator_value}",
                             code, at_key)]

    def on_uniqueItems(self, error, schema, path, code, at_key):
        seen: list = []
        for i, item in enumerate(error.instance):
            if item in seen:
                return [self.problem(path + (i,), f"{_show(item)} is listed twice in "
                                     f"{self.noun({}, path)}; remove one", code)]
            seen.append(item)
        return [self.problem(path, error.message, code, at_key)]  # pragma: no cover

    # -- anyOf / oneOf -----------------------------------------------------------

    def branches(self, error, schema, path) -> list[Problem]:
        """Report the branch the author most likely meant, not every branch's complaints."""
        if not error.context:  # oneOf matched more than one branch
            return [self.problem(path, f"{self.noun(schema, path)} matches more than one "
                                 "shape; make it unambiguous", E_OTHER)]
        groups: dict = defaultdict(list)
        for sub in error.context:
            groups[sub.relative_schema_path[0]].append(sub)

        def wrong_type(errors: list) -> bool:
            return any(e.validator == "type" and not e.relative_path for e in errors)

        def score(errors: list) -> tuple:
            return (wrong_type(errors), -max(len(e.relative_path) for e in errors), len(errors))

        best = min(groups.values(), key=score)
        if wrong_type(best):  # the value fits no branch's type at all
            expected = schema.get("x-expected") or " or ".join(
                _type_words(e.validator_value) for errors in groups.values() for e in errors
                if e.validator == "type" and not e.relative_path)
            return [self.problem(path, f"expected {expected}, got {_got(error.instance)}",
                                 E_WRONG_TYPE)]
        return [p for sub in best for p in self.translate(sub)]


# --- words ------------------------------------------------------------------


def _type_words(types: Any) -> str:
    if isinstance(types, list):
        return " or ".join(_TYPE_WORDS.get(t, t) for t in types)
    return _TYPE_WORDS.get(types, str(types))


def _got(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # pragma: no cover


def _show_plain(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show(value: Any) -> str:
    """A value as the author wrote it: text in quotes, a list or mapping by its kind."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (list, dict)):
        return _got(value)
    return _show_plain(value)


def _fix(value: Any, how: Any, regex: str) -> str | None:
    """A corrected value for a pattern error, when one is obvious."""
    if not isinstance(value, str) or not how:
        return None
    if isinstance(how, list):
        return did_you_mean(value, how)
    fixed = None
    if how == "snake_case":
        sign, body = ("-", value[1:]) if value.startswith("-") else ("", value)
        if regex.startswith("^-?"):  # order_by: 'revenue desc' means '-revenue'
            words = re.match(r"^(.*?)\s+(desc|asc)(ending)?$", body.strip(), re.IGNORECASE)
            if words:
                sign = "-" if words.group(2).lower() == "desc" else ""
                body = words.group(1)
        fixed = sign + re.sub(r"[^a-z0-9_]+", "_", body.strip().lower()).strip("_")
    elif how == "duration":
        words = re.fullmatch(r"\s*(\d+)\s*([a-z]+)\s*", value.lower())
        if words and words.group(2) in _DURATION_UNITS:
            fixed = words.group(1) + _DURATION_UNITS[words.group(2)]
    if fixed and fixed != value and re.search(regex, fixed):
        return fixed
    return None
