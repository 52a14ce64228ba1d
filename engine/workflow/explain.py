"""`explain`: for each action of the record's step, where it leads and why, and who would approve."""
from __future__ import annotations

from ..errors import ActionRefused, Conflict, LoomError, PermissionDenied, ValidationFailed
from ..expr import parse
from . import actions as A
from . import approvers, tasks


def explain(flow, conn, user, rec) -> list[dict]:
    try:
        run = A.Run(flow, conn, user, rec)
    except ActionRefused as exc:
        return [{"action": None, "available": False, "reason": exc.reason, "why": exc.message}]
    out = []
    for name in A.candidates(run):
        entry: dict = {"action": name, "step": rec.state}
        try:
            h = A.handler(run, name)
            h.check(run)
            entry["available"] = True
        except (ActionRefused, Conflict, PermissionDenied) as exc:
            entry.update(available=False, reason=getattr(exc, "reason", "conflict"),
                         why=exc.message)
            h = None
        except ValidationFailed as exc:
            entry.update(available=True, needs=exc.fields)
        _waiting(run, name, h, entry)
        spec = run.step.actions.get(name) if run.step is not None else None  # no workflow: reassign only
        if spec is not None and name != A.RETURN:
            entry["branches"], dest = _branches(flow, run, spec)
        else:
            dest = getattr(h, "dest", None) if h is not None else None
        if dest:
            entry["next"] = dest
            entry["approvers"] = _approvers(flow, conn, run, dest)
        out.append(entry)
    return out


def _waiting(run, name: str, h, entry: dict) -> None:
    """A decision that does not end the step says so: signers added after me decide next
    (`waits_for`), my own task waits for the signer added before me (`after`), or in mode
    all the other approvers still have to decide (`also`)."""
    if run.step is None:  # a record without a workflow: nothing to wait for
        return
    me = run.user.name
    mine = [x for x in run.current() if x.assignee == me and x.status in tasks.ACTIVE]
    if not mine or not run.step.is_approval or name in (A.RETURN, A.REJECT) \
            or name not in run.step.actions:
        return
    task = mine[0]
    block = [x for x in run.current() if x.block == task.block and x.status in tasks.ACTIVE]
    if task.status == tasks.WAITING:
        entry["after"] = [x.assignee for x in block if x.position < task.position]
        return
    later = [x.assignee for x in block if x.position > task.position]
    if later:
        entry["waits_for"] = later
    elif run.step.mode != "any":
        others = [x.assignee for x in run.current()
                  if x.block != task.block and x.status in tasks.ACTIVE]
        if others:
            entry["also"] = others


def _branches(flow, run, spec) -> tuple[list, str | None]:
    """Each `if` in order with the values it saw; the first that holds decides."""
    out, chosen = [], None
    values = run.rec.values()
    for branch in spec.branches:
        if branch.if_ is None:
            item = {"to": branch.to, "if": None, "matched": chosen is None}
        else:
            seen = {}
            for path in sorted(branch.if_.paths()):
                key = ".".join(path)
                try:
                    seen[key] = flow.reader.eval(flow.rt.envs.compile(parse(key), run.rec.form),
                                                 values, run.user, run.conn)
                except LoomError:
                    seen[key] = None
            try:
                ok = bool(flow.reader.eval(flow.rt.envs.compile(branch.if_, run.rec.form),
                                           values, run.user, run.conn))
            except LoomError as exc:
                ok, seen["error"] = False, exc.message
            item = {"to": branch.to, "if": branch.if_.source, "values": _plain(seen),
                    "holds": ok, "matched": chosen is None and ok}
        if item["matched"]:
            chosen = branch.to
        out.append(item)
    return out, chosen


def _approvers(flow, conn, run, dest: str) -> list[dict] | None:
    step = run.spec.step(dest)
    if step is None or not step.is_approval:
        return None
    res = approvers.resolve(flow.users, conn, step.approvers, run.rec.data, run.rec.owner)
    approvers.exclude_owner(res, run.rec.owner, step.allow_self_approval)
    out = []
    for name in res.names:
        item = {"user": name, "why": res.why[name]}
        deputy = approvers.delegate(flow.users, conn, name, run.now.date())
        if deputy:
            item["delegated_to"] = deputy
            item["why"] += f"; away, so the task goes to their delegate {deputy}"
        out.append(item)
    for name, why in res.skipped.items():
        out.append({"user": name, "skipped": True, "why": why})
    if not res.names:
        out.append({"user": None, "why": f"{approvers.describe(step.approvers)} resolves to "
                    "nobody: the action would be refused"})
    return out


def _plain(values: dict) -> dict:
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
            for k, v in values.items()}
