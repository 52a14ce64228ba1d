"""Who is asked: approver specs ({role}, {users}, {field}, {manager_of}) resolved to users.

Every name comes with the reason it was chosen, so `explain` can say why
and a resolution to nobody can say what was tried.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

MAX_CHAIN = 20  # manager chains longer than this are a loop in the directory


@dataclass
class Resolution:
    """Users an approver spec names, each with why; `skipped` says who was left out and why."""

    names: list = field(default_factory=list)
    why: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    tried: str = ""

    def add(self, name: str, reason: str) -> None:
        if name and name not in self.why:
            self.names.append(name)
            self.why[name] = reason


def describe(spec) -> str:
    if spec is None:
        return "nobody"
    if spec.role:
        return f"role {spec.role}"
    if spec.users:
        return f"users {', '.join(spec.users)}"
    if spec.field:
        return f"the user in field {spec.field}"
    if spec.manager_of:
        return f"the manager of {spec.manager_of}"
    return "nobody"


def resolve(directory, conn, spec, values: dict, owner: str) -> Resolution:
    """The active users `spec` names on a record with `values` (owned by `owner`)."""
    res = Resolution(tried=describe(spec))
    if spec is None:
        return res
    if spec.role:
        for name in directory.with_role(spec.role, conn):
            res.add(name, f"has role {spec.role}")
    for name in spec.users:
        if directory.exists(name, conn):
            res.add(name, "named in the step's users")
        else:
            res.skipped[name] = "is not an active user"
    if spec.field:
        name = values.get(spec.field)
        if name and directory.exists(name, conn):
            res.add(name, f"is in field {spec.field}")
        elif name:
            res.skipped[name] = f"in field {spec.field} is not an active user"
    if spec.manager_of:
        whose = owner if spec.manager_of == "owner" else values.get(spec.manager_of)
        if whose:
            _manager(directory, conn, whose, spec.manager_of, res)
    return res


def _manager(directory, conn, whose: str, what: str, res: Resolution) -> None:
    """The manager of `whose`, walking up past managers who are no longer active."""
    chain = [whose]
    current = whose
    for _ in range(MAX_CHAIN):
        manager = directory.manager_of(current, conn)
        if not manager or manager in chain:
            res.skipped[current] = "has no manager in the user directory"
            return
        chain.append(manager)
        if directory.exists(manager, conn):
            res.add(manager, f"manager of {what} ({' → '.join(chain)})")
            return
        res.skipped[manager] = "is not an active user; asking their manager"
        current = manager


def exclude_owner(res: Resolution, owner: str, allowed: bool) -> Resolution:
    """No self-approval unless the step allows it."""
    if not allowed and owner in res.why:
        res.names.remove(owner)
        res.skipped[owner] = "owns the record (the step does not allow self-approval)"
        del res.why[owner]
    return res


def delegate(directory, conn, name: str, on: date) -> str | None:
    """Whom `name`'s new tasks go to on `on`, when they are away; None otherwise."""
    target = directory.delegate_of(name, on, conn)
    if target and target != name and directory.exists(target, conn):
        return target
    return None
