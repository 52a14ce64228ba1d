"""`loom test`: scenario tests an admin writes in YAML, run on throw-away databases.

    run = run_path("definitions/tests")      # or the tree, or one file
    print(run.text()); sys.exit(run.exit_code)

The scenario files are definitions (`scenario:` kind, checked by `loom check`);
`runner` runs them through the Engine facade, `coverage` says which steps,
actions and routes of each workflow no scenario exercised.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import Callable

from ..definitions.catalog import check_tree
from ..errors import DefinitionError
from .coverage import WorkflowCoverage, coverage
from .runner import Outcome, run_scenarios

__all__ = ["TestRun", "run_path", "tree_root"]


def tree_root(path: str) -> str:
    """The definitions tree `path` is in: the nearest folder up holding app.yaml, else `path`."""
    here = os.path.abspath(path if os.path.isdir(path) else os.path.dirname(path) or ".")
    probe = here
    while True:
        if any(os.path.isfile(os.path.join(probe, n)) for n in ("app.yaml", "app.yml")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent


@dataclass
class TestRun:
    outcomes: list[Outcome]
    coverage: list[WorkflowCoverage]
    seconds: float

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def exit_code(self) -> int:
        return 0 if self.outcomes and all(o.status == "passed" for o in self.outcomes) else 1

    def summary(self) -> str:
        if not self.outcomes:
            return "no scenarios found (files starting with `scenario:`, usually under tests/)"
        return (f"{self.count('passed')} passed, {self.count('failed')} failed, "
                f"{self.count('error')} error(s) in {self.seconds:.2f}s")

    def text(self) -> str:
        lines = []
        for o in self.outcomes:
            if o.status == "passed":
                lines.append(f"{o.file}::{o.scenario} PASSED ({o.seconds:.2f}s)")
            else:
                lines.append(f"{o.file}:{o.line}: {o.scenario} {o.status.upper()}: {o.message}")
        gaps = [c for c in self.coverage if c.gaps or c.steps[1]]
        if gaps and self.outcomes:
            lines.append("coverage:")
            for c in gaps:
                lines.append(f"  {c.workflow}: steps {c.steps[0]}/{c.steps[1]}, actions "
                             f"{c.actions[0]}/{c.actions[1]}, routes {c.routes[0]}/{c.routes[1]}")
                lines += [f"    {g.file}:{g.line}: {g.text}" for g in c.gaps]
        lines.append(self.summary())
        return "\n".join(lines)

    def json(self) -> str:
        return json.dumps({"scenarios": [o.as_json() for o in self.outcomes],
                           "coverage": [c.as_json() for c in self.coverage],
                           "passed": self.count("passed"), "failed": self.count("failed"),
                           "errors": self.count("error"), "seconds": round(self.seconds, 3)},
                          indent=2)


def run_path(path: str, registries=None, match: str | None = None,
             progress: Callable[[Outcome], None] | None = None) -> TestRun:
    """Check the tree `path` is in, then run its scenarios that live under `path`."""
    started = time.perf_counter()
    root = tree_root(path)
    defs, problems = check_tree(root, registries)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DefinitionError(errors)
    inside = os.path.abspath(path)
    chosen = [s for s in defs.scenarios.values()
              if os.path.abspath(s.source.file).startswith(inside)
              and (match is None or match in s.id)]
    chosen.sort(key=lambda s: (s.source.file, s.source.line))
    outcomes, trail = run_scenarios(defs, chosen, registries, progress)
    return TestRun(outcomes, coverage(defs, trail), time.perf_counter() - started)
