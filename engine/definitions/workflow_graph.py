"""A workflow as a graph: its edges (a step → a step an action can lead to) and each step's
layer, which every drawing of a workflow lays out by (the record page's diagram top to bottom,
the insights page's process map left to right), so both show the same shape."""
from __future__ import annotations

def edges(wf) -> list[tuple[str, str]]:
    """(step, step) for every route an action can take, once each, in definition order."""
    out = []
    for name, step in wf.steps.items():
        for action in step.actions.values():
            for b in action.branches:
                if b.to in wf.steps and (name, b.to) not in out and b.to != name:
                    out.append((name, b.to))
    return out


def layers(wf, routes: list[tuple[str, str]] | None = None) -> dict[str, int]:
    """step → layer: the longest path from the start over the edges that do not go back (found
    by a DFS from the start), so a `return` never pulls a step upwards."""
    routes = edges(wf) if routes is None else routes
    succ: dict[str, list[str]] = {n: [] for n in wf.steps}
    for a, b in routes:
        succ[a].append(b)
    back, state = set(), {}

    def dfs(n):
        state[n] = 1
        for m in succ[n]:
            if state.get(m) == 1:
                back.add((n, m))
            elif m not in state:
                dfs(m)
        state[n] = 2

    dfs(wf.start)
    for n in wf.steps:  # steps the start never reaches still get drawn
        if n not in state:
            dfs(n)
    forward = [(a, b) for a, b in routes if (a, b) not in back]
    layer = {n: 0 for n in wf.steps}
    for _ in range(len(wf.steps)):  # Bellman-Ford style relaxation: the graph is small
        changed = False
        for a, b in forward:
            if layer[b] < layer[a] + 1:
                layer[b] = layer[a] + 1
                changed = True
        if not changed:
            break
    return layer

