"""Workflows compiled once into `transitions` machines, shared by every record.

A machine is built per workflow definition version with `model=None`: no
record is ever attached to it. Firing an action passes a short-lived
`Subject` (the record's step, its values and the acting user) to
`machine.events[action].trigger(subject)`; the machine evaluates the branch
conditions in order (first match wins) and writes the destination onto the
subject. Everything handed to `transitions` is a callable compiled here —
never a string, which `transitions` would resolve as a dotted import path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from transitions import Machine

from ..definitions.model import Branch, WorkflowSpec

RETURN = "return"
WITHDRAW = "withdraw"


class LoomMachine(Machine):
    """A Machine that refuses string callbacks (they would be imported by dotted name)."""

    @staticmethod
    def resolve_callable(func, event_data):
        if isinstance(func, str):
            raise TypeError(f"refusing to resolve {func!r}: Loom hands transitions callables only")
        return func


@dataclass
class Subject:
    """What one trigger sees: stands in for the record during one action."""

    state: str
    evaluate: Callable[[Callable], Any]  # runs a compiled expression on the record
    target: str | None = None  # the chosen step of `return`
    trace: list = field(default_factory=list)  # (branch, matched) in evaluation order


class Condition:
    """A branch's compiled `if`: callable by transitions, recording what it decided."""

    __slots__ = ("branch", "fn")

    def __init__(self, branch: Branch, fn: Callable):
        self.branch, self.fn = branch, fn

    def __call__(self, event) -> bool:
        subject: Subject = event.model
        ok = bool(subject.evaluate(self.fn))
        subject.trace.append((self.branch, ok))
        return ok


class Always:
    """The condition of an unconditional branch, recorded for `explain`."""

    __slots__ = ("branch",)

    def __init__(self, branch: Branch):
        self.branch = branch

    def __call__(self, event) -> bool:
        event.model.trace.append((self.branch, True))
        return True


class TargetIs:
    """`return` to a chosen step: the transition to `dest` fires when it was chosen."""

    __slots__ = ("dest",)

    def __init__(self, dest: str):
        self.dest = dest

    def __call__(self, event) -> bool:
        return event.model.target == self.dest


class CompiledWorkflow:
    """One workflow version: its spec, its machine and its compiled conditions."""

    def __init__(self, spec: WorkflowSpec, compile_expr: Callable):
        self.spec = spec
        self.version = spec.version
        steps = list(spec.steps)
        self.machine = LoomMachine(model=None, states=steps, initial=spec.start,
                                   auto_transitions=False, send_event=True,
                                   ignore_invalid_triggers=True)
        self.conditions: dict[tuple[str, str], list] = {}
        for name, step in spec.steps.items():
            for aname, action in step.actions.items():
                if aname == RETURN:
                    continue  # return goes wherever the actor chooses; see below
                conds = []
                for branch in action.branches:
                    if branch.to not in spec.steps:
                        continue
                    cond = (Condition(branch, compile_expr(branch.if_)) if branch.if_ is not None
                            else Always(branch))
                    conds.append(cond)
                    self.machine.add_transition(aname, name, branch.to, conditions=[cond])
                self.conditions[(name, aname)] = conds
            if step.is_approval or RETURN in step.actions:
                for dest in steps:
                    if dest != name:
                        self.machine.add_transition(RETURN, name, dest, conditions=[TargetIs(dest)])
            if name != spec.start and not step.final:
                self.machine.add_transition(WITHDRAW, name, spec.start)

    def fire(self, action: str, subject: Subject) -> str | None:
        """The step `action` leads to from the subject's step, or None when no branch matches."""
        event = self.machine.events.get(action)
        if event is None:
            return None
        before = subject.state
        if not event.trigger(subject):
            subject.state = before
            return None
        return subject.state

    def callables(self) -> list:
        """Every condition and callback the machine holds (for the no-strings test)."""
        out = list(self.machine.prepare_event) + list(self.machine.finalize_event) + \
            list(self.machine.before_state_change) + list(self.machine.after_state_change) + \
            list(self.machine.on_exception) + list(getattr(self.machine, "on_final", []))
        for state in self.machine.states.values():
            out += list(state.on_enter) + list(state.on_exit)
        for event in self.machine.events.values():
            for transitions in event.transitions.values():
                for tr in transitions:
                    out += list(tr.prepare) + list(tr.before) + list(tr.after)
                    out += [c.func for c in tr.conditions]  # `unless` entries live here too
        return out
