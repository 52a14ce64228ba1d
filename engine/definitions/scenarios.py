"""Scenario tests written by business admins: `scenario:` files, typically under `tests/`.

    scenario: big_claim_goes_to_the_director
    date: 2026-03-02
    users:
      ann: {roles: [staff], manager: max}
      max: {roles: [manager]}
      dora: {roles: [director]}
    records:
      - {form: project, values: {name: Apollo}}
    steps:
      - ann creates expense_claim EC-1: {project: Apollo, amount: 2400, items: [{what: Hotel, cost: 2400}]}
      - ann submits EC-1
      - as max approve
      - advance 3 days
      - run alerts
      - expect EC-1: {state: director_review, tasks: [dora]}

A step is a sentence, or a one-key mapping from a sentence to its data. This
module turns each into a frozen `Step` at load time (the sentence grammar lives
here, once); `checks_scenario` checks names against the definitions and
`engine/scenarios` runs them. Every step keeps the line it came from, so a
failing expectation is reported at its own file:line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping

from . import model as m

E_SENTENCE = "LOOM-E180"  # a step sentence the grammar does not know

ADVANCE_UNITS = {"minute": "minutes", "hour": "hours", "day": "days", "week": "weeks"}
RUNNABLE = ("alerts", "sla")
EXPECT_KEYS = ("state", "values", "tasks", "notified", "created", "lines")

_WORD = r"[A-Za-z0-9_.@\-]+"
_ADVANCE = re.compile(r"^advance\s+(\d+)\s*(minute|hour|day|week)s?$")
_RUN = re.compile(r"^run\s+(alerts|sla)$")
_EXPECT = re.compile(rf"^expect(?:\s+({_WORD}))?$")
_AS = re.compile(rf"^as\s+({_WORD})\s+({_WORD})(?:\s+({_WORD}))?$")
_CREATES = re.compile(rf"^({_WORD})\s+creates\s+({_WORD})(?:\s+as)?(?:\s+(?!from\b)({_WORD}))?"
                      rf"(?:\s+from\s+({_WORD}))?$")
_EDITS = re.compile(rf"^({_WORD})\s+edits(?:\s+({_WORD}))?$")
_ACTS = re.compile(rf"^({_WORD})\s+({_WORD})(?:\s+({_WORD}))?$")

GRAMMAR = ("'<user> creates <form> <ref>: {values}', '<user> creates <form> <ref> from <ref>', "
           "'<user> edits <ref>: {values}', "
           "'<user> submits <ref>', 'as <user> <action> [<ref>]', 'advance 3 days', "
           "'run alerts', 'run sla', 'expect [<ref>]: {...}'")


@dataclass(frozen=True)
class ScenarioUser:
    name: str
    roles: tuple[str, ...] = ()
    manager: str | None = None
    language: str = "en"
    email: str | None = None
    away_until: str | None = None  # ISO date; away from the scenario's date until then
    delegate: str | None = None
    source: m.Source | None = None


@dataclass(frozen=True)
class GivenRecord:
    form: str
    values: Mapping[str, Any]
    ref: str | None = None
    as_user: str | None = None  # None: created as the system
    source: m.Source | None = None


@dataclass(frozen=True)
class Step:
    """One `when` or `then` of a scenario, parsed from its sentence."""

    kind: str  # create | edit | act | advance | run | expect
    text: str  # the sentence as written
    user: str | None = None
    form: str | None = None
    ref: str | None = None  # a record named in the scenario; None: the last one touched
    from_ref: str | None = None  # create ... from <ref>: made from that record (`make_from`)
    verb: str | None = None  # act: as written (`approves`); the action is found at run time
    data: Mapping[str, Any] = field(default_factory=dict)  # values, or act/expect arguments
    error: str | None = None  # the step must fail with a message containing this
    delta: timedelta | None = None  # advance
    source: m.Source | None = None
    marks: Mapping[str, m.Source] = field(default_factory=dict)  # expect key -> where written


@dataclass(frozen=True)
class ScenarioSpec:
    id: str
    title: m.Label
    at: datetime
    users: tuple[ScenarioUser, ...]
    records: tuple[GivenRecord, ...]
    steps: tuple[Step, ...]
    source: m.Source | None = None


# actions every record offers besides its workflow's own (engine/workflow/builtins.py)
BUILTIN_ACTIONS = ("transfer", "add_signer", "cc", "withdraw", "comment", "reassign")


def action_names(wf) -> set[str]:
    """Every action a record of workflow `wf` (None: no workflow) can be asked to take."""
    return set(BUILTIN_ACTIONS) | {a for s in (wf.steps.values() if wf else ()) for a in s.actions}


def action_for(verb: str, wf) -> str | None:
    """The action a step's verb stands for (`approves` → approve), or None."""
    names = action_names(wf)
    return next((n for n in action_candidates(verb) if n in names), None)


def action_candidates(verb: str) -> tuple[str, ...]:
    """`approves` → approve; `finishes` → finish; `approve` stays: the names to try, in order."""
    out = [verb]
    if verb.endswith("es"):
        out += [verb[:-1], verb[:-2]]
    elif verb.endswith("s"):
        out.append(verb[:-1])
    return tuple(dict.fromkeys(out))


def build_scenario(b) -> ScenarioSpec:
    """The frozen scenario of one schema-checked `scenario:` document."""
    data = b.doc.data
    at = _moment(b, ("date",), data.get("date"))
    users = tuple(
        ScenarioUser(name=name, roles=tuple(u.get("roles") or ()), manager=u.get("manager"),
                     language=u.get("language") or "en", email=u.get("email"),
                     away_until=_text((u.get("away") or {}).get("until")),
                     delegate=(u.get("away") or {}).get("delegate"),
                     source=b.source(("users", name)))
        for name, u in (data.get("users") or {}).items())
    records = tuple(
        GivenRecord(form=r["form"], values=dict(r.get("values") or {}), ref=r.get("ref"),
                    as_user=r.get("as"), source=b.source(("records", i)))
        for i, r in enumerate(data.get("records") or ()))
    steps = []
    for i, raw in enumerate(data.get("steps") or ()):
        step = _step(b, ("steps", i), raw)
        if step is not None:
            steps.append(step)
    return ScenarioSpec(id=data["scenario"], title=m.Label.of(data.get("title") or data["scenario"]),
                        at=at, users=users, records=records, steps=tuple(steps),
                        source=b.source(("scenario",)))


def _text(value) -> str | None:
    return None if value is None else str(value)


def _moment(b, path: tuple, raw) -> datetime:
    text = str(raw or "").strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            moment = datetime.strptime(text, fmt)
            return moment.replace(hour=9) if fmt == "%Y-%m-%d" else moment
        except ValueError:
            continue
    b.problems.append(b.doc.problem(path, f"{text!r} is not a date; write 2026-03-02 or "
                                    "2026-03-02 09:30", E_SENTENCE))
    return datetime(2026, 1, 1, 9)


def _step(b, path: tuple, raw) -> Step | None:
    if isinstance(raw, str):
        sentence, arg, arg_path = raw, None, path
    else:  # the schema admits one-key mappings only
        sentence, arg = next(iter(raw.items()))
        arg_path = path + (sentence,)
    text = " ".join(str(sentence).split())
    src = b.source(path if isinstance(raw, str) else path + (sentence,))
    arg = dict(arg) if isinstance(arg, Mapping) else ({} if arg is None else arg)
    if not isinstance(arg, dict):
        b.problems.append(b.doc.problem(arg_path, f"the data of {text!r} must be a mapping",
                                        E_SENTENCE))
        return None
    error = arg.pop("error", None)
    error = None if error is None else str(error)
    if match := _ADVANCE.match(text):
        return Step("advance", text, delta=timedelta(**{ADVANCE_UNITS[match[2]]: int(match[1])}),
                    source=src)
    if match := _RUN.match(text):
        return Step("run", text, verb=match[1], source=src)
    if match := _EXPECT.match(text):
        marks = {k: b.source(arg_path + (k,)) for k in arg}
        return Step("expect", text, ref=match[1], data=arg, source=src, marks=marks)
    if match := _CREATES.match(text):
        return Step("create", text, user=match[1], form=match[2], ref=match[3], from_ref=match[4],
                    data=arg, error=error, source=src)
    if match := _EDITS.match(text):
        return Step("edit", text, user=match[1], ref=match[2], data=arg, error=error, source=src)
    if match := _AS.match(text):
        return Step("act", text, user=match[1], verb=match[2], ref=match[3], data=arg,
                    error=error, source=src)
    if match := _ACTS.match(text):
        return Step("act", text, user=match[1], verb=match[2], ref=match[3], data=arg,
                    error=error, source=src)
    b.problems.append(b.doc.problem(path if isinstance(raw, str) else arg_path, (
        f"cannot read the step {text!r}; write one of {GRAMMAR}"), E_SENTENCE, key=not isinstance(raw, str)))
    return None
