"""Subject and body templates: Jinja2 in an immutable sandbox.

Admins write templates, so they run sandboxed (no attribute access to
internals, no mutation of what they are given). Text parts render without
escaping; the HTML part of an email renders the same template with
autoescape on, so a record value like `<script>` arrives as text (the template's
own literal text is escaped too: templates are text, not markup). Link fields
render as the linked record's title and follow one hop: `{{project.name}}`.
Choice values print as their option label in the language being rendered
and still compare equal to the stored option: `{% if channel == 'phone' %}`.
"""
from __future__ import annotations

import html
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Callable

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_TEXT = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
_HTML = ImmutableSandboxedEnvironment(autoescape=True, keep_trailing_newline=False)
MAX_TEMPLATE = 20_000
_cache: dict[tuple[bool, str], Any] = {}


class LinkValue(Mapping):
    """A link field's value in a template: prints as the linked title, subscripts to fields."""

    def __init__(self, record_id, load: Callable[[], Mapping | None], title_field: str | None):
        self._id, self._load, self._title, self._values = record_id, load, title_field, None

    def _data(self) -> Mapping:
        if self._values is None:
            self._values = self._load() or {}
        return self._values

    def __getitem__(self, key):
        return _display(self._data()[key])

    def __iter__(self):
        return iter(self._data())

    def __len__(self):
        return len(self._data())

    def __str__(self):
        if self._title and self._data().get(self._title) is not None:
            return str(self._data()[self._title])
        return str(self._id)

    __html__ = None  # not markup: escaped like any text


class ChoiceValue(str):
    """A choice field's stored option that prints as its label in one language."""

    def __new__(cls, option: str, label: str):
        obj = super().__new__(cls, option)
        obj.label = label
        return obj

    def __str__(self) -> str:
        return self.label

    def __html__(self) -> str:
        return html.escape(self.label, quote=True)


class ChoiceList(list):
    """A multichoice value: prints as its labels joined by ', '."""

    def __str__(self) -> str:
        return ", ".join(str(v) for v in self)

    def __html__(self) -> str:
        return html.escape(str(self), quote=True)


def _choice(value: Any, labels: Mapping, language: str | None, default_language: str) -> Any:
    def one(option):
        label = labels.get(str(option))
        return ChoiceValue(str(option), label.get(language, default_language) if label else str(option))

    if isinstance(value, (list, tuple)):
        return ChoiceList(one(v) for v in value)
    return one(value)


def _display(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _template(source: str, as_html: bool):
    key = (as_html, source)
    tpl = _cache.get(key)
    if tpl is None:
        if len(source) > MAX_TEMPLATE:
            raise TemplateError(f"a template is at most {MAX_TEMPLATE} characters")
        if as_html:
            # Subjects and bodies are text: the template's own characters are escaped
            # too, not only the values autoescape handles, so `<{{code}}>` shows as typed.
            source = "".join(html.escape(v, quote=False) if kind == "data" else v
                             for _, kind, v in _HTML.lex(source))
        tpl = (_HTML if as_html else _TEXT).from_string(source)
        if len(_cache) > 512:
            _cache.clear()
        _cache[key] = tpl
    return tpl


def context(values: Mapping, links: Mapping[str, tuple[str, str | None]],
            loader: Callable[[str, Any], Mapping | None], *, choices: Mapping | None = None,
            language: str | None = None, default_language: str = "en") -> dict:
    """Template variables: the record's fields, link fields as LinkValue, choice fields
    (`choices`: field -> {option: Label}) as ChoiceValue labelled in `language`."""
    out = {}
    choices = choices or {}
    for name, value in values.items():
        if name in links and value is not None:
            form, title = links[name]
            out[name] = LinkValue(value, lambda f=form, v=value: loader(f, v), title)
        elif name in choices and value is not None:
            out[name] = _choice(value, choices[name], language, default_language)
        else:
            out[name] = _display(value)
    out["record"] = dict(out)
    return out


def render_text(source: str, ctx: Mapping) -> str:
    if not source:
        return ""
    return _template(source, False).render(ctx)


def render_html(source: str, ctx: Mapping) -> str:
    """Autoescaped HTML; line breaks of the body become <br>."""
    if not source:
        return ""
    out = _template(source, True).render(ctx)
    return out.replace("\r\n", "\n").replace("\n", "<br>\n")


def render_subject(source: str, ctx: Mapping) -> str:
    """One line: a subject never carries a line break (header injection)."""
    return " ".join(render_text(source, ctx).split())


def html_page(subject_text: str, body_html: str) -> str:
    return (f"<!doctype html><html><body><h3>{html.escape(subject_text)}</h3>"
            f"<div>{body_html}</div></body></html>")
