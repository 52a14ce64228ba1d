"""Which parts of each workflow no scenario exercised: steps, actions and `if` routes.

Computed from the trail of history events the scenarios left: a step is
covered when some record entered it, an action when some record left a step
through it, a route (one branch of an action) when a record went that way.
An on-enter action runs whenever its step is entered, so an uncovered step
lists the on-enter actions it hides.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .runner import Trail


@dataclass
class Gap:
    what: str  # step | action | route
    text: str  # what to exercise, in words
    file: str
    line: int

    def as_json(self) -> dict:
        return {"what": self.what, "text": self.text, "file": self.file, "line": self.line}


@dataclass
class WorkflowCoverage:
    workflow: str
    steps: tuple[int, int]  # (covered, total)
    actions: tuple[int, int]
    routes: tuple[int, int]
    gaps: list[Gap] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"workflow": self.workflow, "steps": list(self.steps), "actions": list(self.actions),
                "routes": list(self.routes), "gaps": [g.as_json() for g in self.gaps]}


def coverage(defs, trail: Trail) -> list[WorkflowCoverage]:
    """Per workflow, what the trail covered and what it missed, in definition order."""
    out = []
    for wf in defs.workflows.values():
        form = wf.form
        steps = [0, 0]
        actions = [0, 0]
        routes = [0, 0]
        gaps: list[Gap] = []
        for name, step in wf.steps.items():
            steps[1] += 1
            entered = name == wf.start or (form, name) in trail.entered
            src = step.source or wf.source
            if entered:
                steps[0] += 1
            else:
                hidden = f" (and its {len(step.on_enter)} on-enter action" \
                         f"{'s' if len(step.on_enter) != 1 else ''})" if step.on_enter else ""
                gaps.append(Gap("step", f"{wf.id}: no scenario enters step {name}{hidden}",
                                src.file, src.line))
            for action_name, action in step.actions.items():
                actions[1] += 1
                taken = {to for (f, before, act, to) in trail.moves
                         if f == form and before == name and act == action_name}
                if taken:
                    actions[0] += 1
                else:
                    gaps.append(Gap("action", f"{wf.id}: no scenario does {action_name} in {name}",
                                    src.file, src.line))
                if len(action.branches) < 2:
                    continue
                for branch in action.branches:
                    routes[1] += 1
                    if branch.to in taken:
                        routes[0] += 1
                    elif taken:
                        cond = f" (if {branch.if_.source})" if branch.if_ is not None and \
                            getattr(branch.if_, "source", None) else ""
                        gaps.append(Gap("route", f"{wf.id}: {action_name} in {name} never went to "
                                        f"{branch.to}{cond}", src.file, src.line))
        out.append(WorkflowCoverage(wf.id, tuple(steps), tuple(actions), tuple(routes), gaps))
    return out
