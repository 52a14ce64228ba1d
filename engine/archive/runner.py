"""Apply the forms' `archive:` rules: select in SQL, move in batches, one transaction each.

A record qualifies when its workflow (if the form has one) has ended — its
state is a final step or a step with no actions —, its last change
(`updated_at`) is older than the rule's `after`, the rule's `if` holds
(compiled to SQL over the typed table, like a list filter), and no live record
links to it (a project stays while a claim names it). Each batch
selects at most `batch` ids, locks their `records` rows on PostgreSQL (SKIP
LOCKED, so two workers never move one record and a record being edited is
left for the next run), re-checks the rule under the lock, and moves them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import sqlalchemy as sa

from ..errors import ExpressionError, LoomError
from ..expr.sql import where_form
from ..store import archive as store
from ..store.sqlscope import RecordScope

BATCH = 500


@dataclass
class ArchiveResult:
    """Records moved (or, in a dry run, that would move), per form; batches run."""

    dry_run: bool = False
    forms: dict = field(default_factory=dict)
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.forms.values())


class Archiver:
    """The archive rules of one set of definitions over one database."""

    def __init__(self, db, defs, typed, field_types, functions, clock, *, batch: int = BATCH):
        self.db, self.defs, self.typed = db, defs, typed
        self.field_types, self.functions, self.clock = field_types, functions, clock
        self.batch = batch

    def rules(self) -> list[tuple[str, object]]:
        return [(fid, f.archive) for fid, f in self.defs.forms.items() if f.archive is not None]

    def candidates(self, form_id: str, rule) -> tuple[sa.Select, sa.FromClause]:
        """SELECT of the ids the rule selects now (unordered, unlimited) and its base table."""
        scope = RecordScope(self.typed, self.field_types, form_id, dialect=self.db.dialect,
                            clock=self.clock)
        base = scope.base
        conds = [base.c._updated_at < self.clock.now() - rule.after]
        wf = self.defs.workflow_for(form_id)
        if wf is not None:
            ends = sorted(n for n, s in wf.steps.items() if s.final or not s.actions)
            conds.append(base.c._state.in_(ends))
        if rule.if_ is not None:
            try:
                conds.append(where_form(rule.if_.compile_sql(scope, self.functions).expr))
            except ExpressionError as exc:
                where = rule.source
                at = f"{where.file}:{where.line}:{where.col}: " if where else ""
                raise LoomError(f"{at}form {form_id}: archive.if cannot run in SQL: "
                                f"{exc.message}") from None
        conds += self._not_linked(form_id, base)
        return sa.select(base.c._id).select_from(scope.from_clause()).where(*conds), base

    def _not_linked(self, form_id: str, base) -> list:
        """No live record (or line) links to the candidate."""
        out = []
        for fid, tf in self.typed.forms.items():
            tables = [(tf.table, tf.fields)] + [(lt, lf) for lt, lf in tf.lines.values()]
            for table, fields in tables:
                for f in fields:
                    if f.to == form_id and f.name in table.c:
                        other = table.alias()
                        out.append(~sa.exists().where(other.c[f.name] == base.c._id))
        return out

    def run(self, *, dry_run: bool = False, stop: Callable[[], bool] | None = None) -> ArchiveResult:
        result = ArchiveResult(dry_run=dry_run)
        for form_id, rule in self.rules():
            if dry_run:
                query, _ = self.candidates(form_id, rule)
                with self.db.read() as conn:
                    result.forms[form_id] = conn.execute(
                        sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
                continue
            moved = 0
            while not (stop is not None and stop()):
                n = self._batch(form_id, rule)
                result.batches += 1
                moved += n
                if n < self.batch:  # the rest (if any) is locked by others: next run
                    break
            result.forms[form_id] = moved
        return result

    def _batch(self, form_id: str, rule) -> int:
        """One batch in one transaction; the number of records moved (0: none left to move)."""
        query, base = self.candidates(form_id, rule)
        with self.db.write() as conn:
            ids = conn.execute(query.order_by(base.c._id).limit(self.batch)).scalars().all()
            if ids and self.db.dialect == "postgresql":
                # SQLite's BEGIN IMMEDIATE already keeps every other writer out
                locked = store.lock_live(conn, ids)
                ids = conn.execute(query.where(base.c._id.in_(locked))).scalars().all() \
                    if locked else []
            return store.move(conn, self.typed[form_id], ids, self.clock.now(),
                              self.defs.alert_ids_for(form_id))
