"""Runs scenario tests: each on a throw-away in-memory database, on a frozen clock.

Every scenario gets a fresh Engine over `sqlite://` with the tree's (already
checked) definitions: its users are added, its given records created, then its
steps run in order through the Engine facade — the same checks a person meets
in the browser. Nothing leaves the process: the outbox is never delivered, so
no email or webhook is sent; `notified` expectations read what would have been.

A step's outcome is one of: passed; failed (an expectation did not hold, or a
step that should have failed did not), reported at the expectation's own
file:line; error (a step failed that was not expected to), reported at the
step's line with the engine's message.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

import sqlalchemy as sa

from ..auth.users import SYSTEM
from ..clock import FrozenClock
from ..definitions.scenarios import ScenarioSpec, Step, action_for
from ..engine import Engine
from ..errors import LoomError
from ..io.links import LinkResolver, Titles
from ..store import tables as t

LINE_REF = re.compile(r"^(\S+)\.([a-z][a-z0-9_]*)\[(\d+)\]$")  # SO-1.lines[2]


class Failed(Exception):
    """An expectation that did not hold; `where` is the file:line it was written at."""

    def __init__(self, message: str, where):
        super().__init__(message)
        self.message, self.where = message, where


@dataclass
class Outcome:
    scenario: str
    file: str
    line: int
    status: str  # passed | failed | error
    message: str = ""
    seconds: float = 0.0
    steps: int = 0  # steps run before the end (all of them when passed)

    def as_json(self) -> dict:
        return {"scenario": self.scenario, "file": self.file, "line": self.line,
                "status": self.status, "message": self.message,
                "seconds": round(self.seconds, 3), "steps": self.steps}


@dataclass
class Trail:
    """What the workflows did across scenarios: (form, from, action, to) moves, for coverage."""

    moves: set = field(default_factory=set)
    entered: set = field(default_factory=set)  # (form, step)

    def take(self, engine: Engine) -> None:
        with engine.db.read() as conn:
            rows = conn.execute(sa.select(t.events.c.form, t.events.c.from_state,
                                          t.events.c.action, t.events.c.to_state)).all()
        for form, before, action, after in rows:
            if after is not None:
                self.entered.add((form, after))
            if before is not None and after is not None:
                self.moves.add((form, before, action, after))


def run_scenarios(defs, scenarios: Iterable[ScenarioSpec], registries=None,
                  progress: Callable[[Outcome], None] | None = None) -> tuple[list[Outcome], Trail]:
    """Run each scenario; the outcomes in order and the trail coverage is computed from."""
    trail = Trail()
    outcomes = []
    for spec in scenarios:
        outcome = ScenarioRun(defs, spec, registries, trail).run()
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return outcomes, trail


class ScenarioRun:
    """One scenario on its own database."""

    def __init__(self, defs, spec: ScenarioSpec, registries, trail: Trail):
        self.defs, self.spec, self.registries, self.trail = defs, spec, registries, trail
        self.refs: dict[str, tuple[str, int]] = {}  # name -> (form, id)
        self.last: tuple[str, int] | None = None
        self.given: dict[str, int] = {}  # form -> records before the first step
        self.at = None  # the given user or record being made, for an error's line

    def run(self) -> Outcome:
        src = self.spec.source
        started = time.perf_counter()
        outcome = Outcome(self.spec.id, src.file, src.line, "passed")
        self.clock = FrozenClock(self.spec.at)
        engine = Engine(definitions=self.defs, database_url="sqlite://",
                        registries=self.registries, clock=self.clock)
        self.engine = engine
        try:
            self._given()
            for step in self.spec.steps:
                try:
                    self._step(step)
                except Failed as exc:
                    outcome.status, outcome.message = "failed", exc.message
                    outcome.line = exc.where.line if exc.where else step.source.line
                    break
                except LoomError as exc:
                    outcome.status, outcome.message = "error", f"{step.text}: {str(exc)}"
                    outcome.line = step.source.line
                    break
                outcome.steps += 1
        except LoomError as exc:  # a given user or record the definitions refuse
            outcome.status, outcome.message = "error", f"given: {str(exc)}"
            outcome.line = self.at.line if self.at is not None else outcome.line
        finally:
            self.trail.take(engine)
            engine.close()
        outcome.seconds = time.perf_counter() - started
        return outcome

    # --- given ------------------------------------------------------------------

    def _given(self) -> None:
        pending = list(self.spec.users)
        while pending:  # managers and delegates first
            known = {u.name for u in self.spec.users} - {u.name for u in pending}
            ready = [u for u in pending if (u.manager in (None, *known) and u.manager != u.name)]
            if not ready:
                raise LoomError("the users' managers form a circle: " +
                                ", ".join(u.name for u in pending))
            for u in ready:
                self.at = u.source
                self.engine.add_user(u.name, u.roles, manager=u.manager, language=u.language,
                                     email=u.email or f"{u.name}@scenario.test")
                pending.remove(u)
        for u in self.spec.users:
            if u.away_until:
                self.engine.set_out_of_office(self.engine.user(u.name), self.clock.today(),
                                              datetime.fromisoformat(u.away_until).date(), u.delegate)
        for given in self.spec.records:
            self.at = given.source
            user = self.engine.user(given.as_user) if given.as_user else SYSTEM
            rec = self.engine.create(user, given.form, self._values(given.form, given.values))
            if given.ref:
                self.refs[given.ref] = (given.form, rec.id)
        with self.engine.db.read() as conn:
            self.given = dict(conn.execute(sa.select(t.records.c.form, sa.func.count())
                                           .group_by(t.records.c.form)).all())

    def _values(self, form_id: str, values) -> dict:
        """Links named by a scenario's record name or by title become ids; lines likewise."""
        form = self.defs.form(form_id)
        types = self.engine.registries.field_types
        out = {}
        for name, value in values.items():
            f = form.field(name)
            if f is not None and f.is_table and isinstance(value, list):
                out[name] = [self._row(f, row) for row in value]
            elif f is not None and types[f.type].link_form(f) and isinstance(value, str):
                out[name] = self._link(types[f.type].link_form(f), value)
            else:
                out[name] = value
        return out

    def _row(self, table, row) -> Any:
        if not isinstance(row, dict):
            return row
        types = self.engine.registries.field_types
        out = dict(row)
        for f in table.fields:
            value = row.get(f.name)
            if not isinstance(value, str):
                continue
            if types[f.type].line_target(f):
                out[f.name] = self._line(types[f.type].line_target(f), value)
            elif types[f.type].link_form(f):
                out[f.name] = self._link(types[f.type].link_form(f), value)
        return out

    def _line(self, target: str, value: str) -> str:
        """`SO-1.lines[2]`: the `_id` of the second line of the record named SO-1."""
        match = LINE_REF.match(value)
        if match is None:
            return value  # a line id as it is
        ref, table, n = match[1], match[2], int(match[3])
        if ref not in self.refs:
            raise LoomError(f"no record is called {ref!r} yet (in {value!r})")
        form, rid = self.refs[ref]
        if f"{form}.{table}" != target:
            raise LoomError(f"{value!r} is a line of {form}.{table}, not of {target}")
        lines = self.engine.get(SYSTEM, form, rid).data.get(table) or []
        if not 1 <= n <= len(lines):
            raise LoomError(f"{ref} has {len(lines)} line(s) in {table}, not a line {n}")
        return lines[n - 1]["_id"]

    def _link(self, form_id: str, value: str) -> int:
        if value in self.refs and self.refs[value][0] == form_id:
            return self.refs[value][1]
        found = LinkResolver(self.engine, SYSTEM)(form_id, value)
        if found is None:
            raise LoomError(f"no {form_id} is called {value!r}")
        if found == -1:
            raise LoomError(f"more than one {form_id} is called {value!r}")
        return found

    # --- steps ------------------------------------------------------------------

    def _step(self, step: Step) -> None:
        if step.kind == "advance":
            self.clock.advance(seconds=step.delta.total_seconds())
        elif step.kind == "run":
            if step.verb == "sla":
                self.engine.run_sla()
            else:
                self.engine.run_schedules(owner="scenario")
        elif step.kind == "expect":
            self._expect(step)
        else:
            self._expecting_error(step, lambda: self._act(step))

    def _expecting_error(self, step: Step, do: Callable[[], None]) -> None:
        if step.error is None:
            do()
            return
        try:
            do()
        except LoomError as exc:
            text = str(exc)
            if step.error.lower() not in text.lower():
                raise Failed(f"{step.text}: expected an error containing {step.error!r}, "
                             f"got {text!r}", step.source) from None
            return
        raise Failed(f"{step.text}: expected an error containing {step.error!r}, but it "
                     "succeeded", step.source)

    def _act(self, step: Step) -> None:
        user = self.engine.user(step.user)
        if step.kind == "create":
            values = self._values(step.form, step.data)
            if step.from_ref is not None:  # made from another record: its make_from prefills
                if step.from_ref not in self.refs:
                    raise LoomError(f"no record is called {step.from_ref!r} yet")
                source_form, source_id = self.refs[step.from_ref]
                rec = self.engine.create(user, step.form, values,
                                         source=f"{source_form}:{source_id}")
            else:
                rec = self.engine.create(user, step.form, values)
            self.last = (step.form, rec.id)
            if step.ref:
                self.refs[step.ref] = self.last
            return
        form, rid = self._record(step)
        if step.kind == "edit":
            version = self.engine.get(SYSTEM, form, rid).version  # edits the record as it is now
            self.engine.update(user, form, rid, self._values(form, step.data), version)
            return
        action = self._action(form, rid, step.verb)
        to = step.data.get("to")
        self.engine.act(user, form, rid, action, step.data.get("comment"), to)

    def _record(self, step: Step) -> tuple[str, int]:
        if step.ref is not None:
            if step.ref not in self.refs:
                raise LoomError(f"no record is called {step.ref!r} yet")
            self.last = self.refs[step.ref]
        if self.last is None:
            raise LoomError("no record to act on yet")
        return self.last

    def _action(self, form: str, rid: int, verb: str) -> str:
        return action_for(verb, self.defs.workflow_for(form)) or verb

    # --- expectations -------------------------------------------------------------

    def _expect(self, step: Step) -> None:
        form, rid = self._record(step)
        rec = self.engine.get(SYSTEM, form, rid)
        name = step.ref or rec.number or f"#{rid}"
        for key, want in step.data.items():
            where = step.marks.get(key, step.source)
            getattr(self, f"_expect_{key}")(form, rec, name, want, where)

    def _expect_state(self, form, rec, name, want, where) -> None:
        if rec.state != want:
            raise Failed(f"{name} state: expected {want}, got {rec.state}", where)

    def _expect_values(self, form, rec, name, want: dict, where) -> None:
        titles = Titles(self.engine, SYSTEM, None)
        spec = self.defs.form(form)
        types = self.engine.registries.field_types
        for field_name, expected in want.items():
            f = spec.field(field_name)
            actual = rec.data.get(field_name)
            target = types[f.type].link_form(f) if f is not None else None
            if target and actual is not None and isinstance(expected, str):
                ok = (self.refs.get(expected) == (target, actual)
                      or titles(target, actual) == expected)
                shown = titles(target, actual)
            else:
                ok, shown = _same(actual, expected), actual
            if not ok:
                raise Failed(f"{name} {field_name}: expected {expected!r}, got {_show(shown)}", where)

    def _expect_lines(self, form, rec, name, want: dict, where) -> None:
        """`lines: {lines: [{qty: 3}, ...]}`: each table's rows, field by field, in order."""
        for table, rows in want.items():
            actual = rec.data.get(table) or []
            if len(actual) != len(rows):
                raise Failed(f"{name} {table}: expected {len(rows)} lines, got {len(actual)}", where)
            for i, (got, expected) in enumerate(zip(actual, rows), start=1):
                for key, value in expected.items():
                    if not _same(got.get(key), value):
                        raise Failed(f"{name} {table} line {i} {key}: expected {value!r}, got "
                                     f"{_show(got.get(key))}", where)

    def _expect_tasks(self, form, rec, name, want, where) -> None:
        with self.engine.db.read() as conn:
            holders = sorted(conn.execute(sa.select(t.tasks.c.assignee).where(
                t.tasks.c.record_id == rec.id, t.tasks.c.status == "open",
                t.tasks.c.kind != "cc")).scalars())
        want = sorted(want if isinstance(want, list) else [want])
        if holders != want:
            raise Failed(f"{name} open tasks: expected {', '.join(want) or 'none'}, got "
                         f"{', '.join(holders) or 'none'}", where)

    def _expect_created(self, form, rec, name, want: dict, where) -> None:
        with self.engine.db.read() as conn:
            counts = dict(conn.execute(sa.select(t.records.c.form, sa.func.count())
                                       .group_by(t.records.c.form)).all())
        for fid, n in want.items():
            got = counts.get(fid, 0) - self.given.get(fid, 0)
            if got != n:
                raise Failed(f"{fid} records created: expected {n}, got {got}", where)

    def _expect_notified(self, form, rec, name, want, where) -> None:
        sent = self._sent()
        for note in want if isinstance(want, list) else [want]:
            note = note if isinstance(note, dict) else {"to": note}
            channel = note.get("channel", "inbox")
            subject = str(note.get("subject", "")).lower()
            if not any(to == note["to"] and ch == channel and subject in text.lower()
                       for to, ch, text in sent):
                told = sorted({f"{to} by {ch}" for to, ch, _ in sent}) or ["nobody"]
                raise Failed(f"expected {note['to']} to be notified by {channel}"
                             f"{' of ' + repr(note['subject']) if subject else ''}; notified: "
                             f"{', '.join(told)}", where)

    def _sent(self) -> list[tuple[str, str, str]]:
        with self.engine.db.read() as conn:
            inbox = conn.execute(sa.select(t.notifications.c.user_name, t.notifications.c.subject)).all()
            queued = conn.execute(sa.select(t.outbox.c.channel, t.outbox.c.payload)).all()
        sent = [(user, "inbox", subject or "") for user, subject in inbox]
        for channel, payload in queued:
            body = payload.get("body") or {}  # a webhook's one POST names every recipient
            names = body.get("recipients") or ([payload["user"]] if payload.get("user") else [])
            subject = payload.get("subject") or body.get("subject") or ""
            sent += [(n, channel, subject) for n in names]
        return sent


def _same(actual, expected) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected or actual == expected
    if isinstance(expected, (int, float, Decimal)) or isinstance(actual, (int, float, Decimal)):
        try:
            return Decimal(str(actual)) == Decimal(str(expected))
        except (InvalidOperation, ValueError):
            return False
    if expected is None:
        return actual in (None, "", [])
    if hasattr(actual, "isoformat"):
        return actual.isoformat() == str(expected)
    return str(actual) == str(expected)


def _show(value) -> str:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return "nothing" if value in (None, "") else repr(value if not isinstance(value, Decimal) else str(value))


__all__ = ["run_scenarios", "Outcome", "Trail", "Failed"]
