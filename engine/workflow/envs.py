"""Name environments of workflow expressions, built once per (form, line, target) and cached.

One `ExprEnvs` belongs to one runtime snapshot: its cache dies with the
definitions it was built from.
"""
from __future__ import annotations

from ..definitions.environment import form_env, target_line
from ..expr import types as T


class ExprEnvs:
    def __init__(self, defs, registries, form_types):
        self.defs, self.registries, self.form_types = defs, registries, form_types
        self._envs: dict = {}
        # compiled `update.where` statements: (id(args), dialect) -> (args, paths, {shape: stmt})
        self.where_sql: dict = {}

    def env(self, form: str, table: str | None = None, target: str | None = None,
            target_table: str | None = None):
        """The acting record's names, plus `line` (a row of `table`) and `target` (a link, or
        with `target_table` a line of that table of `target`, see `target_line`)."""
        key = (form, table, target, target_table)
        env = self._envs.get(key)
        if env is None:
            extra = {}
            if table is not None:
                extra["line"] = self.form_types[form][table].item
            if target is not None:
                extra["target"] = (T.link(target) if target_table is None
                                   else target_line(self.form_types, target, target_table))
            env = form_env(self.defs, self.registries.field_types, form, extra=extra or None,
                           forms=self.form_types)
            self._envs[key] = env
        return env

    def compile(self, expr, form: str, table: str | None = None, target: str | None = None,
                target_table: str | None = None):
        return expr.compile_python(self.env(form, table, target, target_table),
                                   self.registries.functions)

    def lines(self, form: str, args):
        """The names of `create.lines` values: the acting record's fields, `line` (a source
        row) and, with `each`, `outer` (the acting record's line)."""
        key = ("create.lines", form, args.each, args.lines.from_)
        env = self._envs.get(key)
        if env is None:
            types = self.form_types[form]
            extra = {"line": T.t(T.ANY)}
            if args.each is not None:
                extra["outer"] = types[args.each].item
            if not args.lines.through_links:
                extra["line"] = types[args.lines.from_].item
            elif args.lines.source is not None:
                each_env = self.env(form, args.each)
                extra["line"] = args.lines.source.check(each_env, self.registries.functions).item
            env = form_env(self.defs, self.registries.field_types, form, extra=extra,
                           forms=self.form_types)
            self._envs[key] = env
        return env


    def line_table(self, form: str, args) -> str | None:
        """The table an `update`'s `line:` names by its type (a link to FORM.TABLE of the
        updated form) when `table:` is left out; None when it names none."""
        key = ("line_table", form, args.each, args.form, args.line)
        if key not in self._envs:
            t = args.line.check(self.env(form, args.each), self.registries.functions)
            owner, _, table = (t.form or "").partition(".") if t.kind == T.LINK else ("", "", "")
            self._envs[key] = table if owner == args.form and table else None
        return self._envs[key]
