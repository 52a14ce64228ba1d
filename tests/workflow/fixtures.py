"""Engines over the workflow fixture trees, with the shared demo users."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import DEMO_USERS, FIXTURES, make_engine

WORKFLOWS = FIXTURES / "workflows"
APPROVALS = WORKFLOWS / "approvals"


def engine_with_users(tree: Path, database_url: str, clock, extra: dict | None = None):
    eng = make_engine(tree, database_url, clock)
    for name, (roles, manager) in {**DEMO_USERS, **(extra or {})}.items():
        eng.add_user(name, roles, manager=manager, is_admin=name == "root")
    return eng, {name: eng.user(name) for name in {**DEMO_USERS, **(extra or {})}}
