"""Actions on a record in its current step: which one a name means, and which the step offers.

Each action is a small class with `check(run)` (raises ActionRefused,
Conflict or ValidationFailed: nothing written yet) and `apply(run)` (writes,
inside the caller's transaction, and returns the record afterwards):
decisions.py (declared, approve/reject, return, withdraw) and builtins.py
(transfer, add_signer, comment, cc); moves.py enters steps, run.py holds
the `Run` they share. `available_actions` runs the same `check`s, so what the
UI offers and what the server accepts cannot drift apart.
"""
from __future__ import annotations

from ..errors import ActionRefused
from .builtins import BUILTIN_CLASSES as _OTHERS
from .decisions import REJECT as REJECT
from .decisions import Decision, Declared, Return, Withdraw
from .machines import RETURN
from .run import Run as Run

BUILTINS = ("transfer", "add_signer", "comment", "cc", "withdraw", "reassign")
BUILTIN_CLASSES = {**_OTHERS, "withdraw": Withdraw}
RECORD_ACTIONS = ("reassign",)  # every record has these, with or without a workflow


def handler(run: Run, name: str):
    """The action object for `name` in the record's current step, or ActionRefused."""
    step = run.step
    if name in RECORD_ACTIONS:
        return BUILTIN_CLASSES[name]()
    if step is None:
        raise ActionRefused(f"form {run.rec.form} has no workflow", "no_workflow")
    if name in BUILTIN_CLASSES:
        if name in ("transfer", "add_signer") and not step.is_approval:
            raise ActionRefused(f"{name} is for approvers; step {run.rec.state} has none",
                                "not_in_step")
        return BUILTIN_CLASSES[name]()
    if name == RETURN and (step.is_approval or RETURN in step.actions):
        return Return(step.actions.get(RETURN))
    spec = step.actions.get(name)
    if spec is None:
        run.overtaken()
        elsewhere = [s for s, st in run.spec.steps.items() if name in st.actions]
        hint = f"; it belongs to step {', '.join(elsewhere)}" if elsewhere else ""
        raise ActionRefused(f"{name} is not an action of step {run.rec.state}{hint}",
                            "not_in_step")
    if step.is_approval and not spec.by:
        return Decision(name, spec)
    return Declared(name, spec)


def candidates(run: Run) -> list[str]:
    if run.step is None:
        return list(RECORD_ACTIONS)
    names = list(run.step.actions)
    if run.step.is_approval and RETURN not in names:
        names.append(RETURN)
    return names + list(BUILTINS)
