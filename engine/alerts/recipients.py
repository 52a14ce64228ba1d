"""Who an alert tells: by role, named users, a user-valued field, or someone's manager."""
from __future__ import annotations

from typing import Mapping

from .channels import Recipient


def resolve(spec, values: Mapping, directory, conn) -> list[Recipient]:
    """Active users named by `spec` (a RecipientSpec) for a record's `values`, each once."""
    names: list[str] = []
    if spec is None:
        return []
    if spec.role:
        names += directory.with_role(spec.role, conn)
    names += list(spec.users)
    if spec.field:
        names += _user_names(values.get(spec.field))
    if spec.manager_of:
        for who in _user_names(values.get(spec.manager_of)):
            boss = directory.manager_of(who, conn)
            if boss:
                names.append(boss)
    out = []
    for name in dict.fromkeys(names):
        user = directory.find(name, conn)
        if user is not None:  # unknown or deactivated users are skipped
            out.append(Recipient(user.name, user.email, user.full_name, user.language,
                                 frozenset(user.roles), user.is_admin))
    return out


def _user_names(value) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple, set)):
        return [str(v) for v in value if v]
    return [str(value)]
