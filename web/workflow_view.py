"""Small adapters over the engine's workflow and notification methods for pages and the API."""
from __future__ import annotations

from engine.errors import NotFound


def available_actions(eng, user, rec) -> list[dict]:
    if rec.state is None:
        return []
    try:
        return eng.available_actions(user, rec)
    except NotFound:  # an archived record: readable by id, read-only, no actions
        return []


def action_names(actions) -> list[dict]:
    return list(actions)


def tasks(eng, user, status: str = "open", limit: int = 100) -> list:
    """Tasks for the home page, which shows no record values: `data` left unread."""
    return eng.tasks(user, status=status, limit=limit, values=False)


def task_page(eng, user, status: str, limit: int, offset: int, capped_total: bool):
    """A page of tasks for the API, as its JSON (no record values), with the total."""
    return eng.task_page(user, status, limit, offset, capped_total=capped_total, as_json=True)


def task_page_rendered(eng, user, status: str, limit: int, offset: int, capped_total: bool,
                       render):
    """`task_page`, each item as `render(item)` gives it (its JSON text), with the total."""
    return eng.task_page_rendered(user, status, limit, offset, capped_total=capped_total,
                                  render=render)


def notifications(eng, user, unread_only: bool = False) -> list:
    return eng.notifications(user, unread_only=unread_only)


def unread_count(eng, user) -> int:
    return eng.unread_count(user)


def mark_read(eng, user, ids=None) -> int:
    return eng.mark_read(user, ids)


def dead_letters(eng, user) -> list:
    return eng.dead_letters(user)
