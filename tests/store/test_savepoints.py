"""A batch's savepoints (engine/store/savepoints.py): one failed write is undone alone.

They run on the DBAPI cursor while nobody listens to the engine's statements, and as
SQLAlchemy's nested transactions while someone does; both ways must undo exactly the
failed write, keep the others, and forget what the transaction remembered of it.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.auth.users import SYSTEM
from engine.errors import NotFound


class Refused(Exception):
    pass


def _batch_with_one_failed_write(engine, users):
    """Creates a kept customer and, in a savepoint that fails, a second one updated twice."""
    with engine.batch() as savepoint:
        kept = engine.create(users["alice"], "customer", {"name": "Kept"})
        with pytest.raises(Refused):
            with savepoint():
                gone = engine.create(users["alice"], "customer", {"name": "Gone"})
                engine.update(users["alice"], "customer", kept.id, {"name": "Renamed"}, kept.version)
                raise Refused()
        # what the transaction read and wrote in the savepoint is forgotten with it
        with pytest.raises(NotFound):
            engine.get(SYSTEM, "customer", gone.id)
        assert engine.get(SYSTEM, "customer", kept.id).data["name"] == "Kept"
        with savepoint():
            engine.create(users["alice"], "customer", {"name": "Also kept"})
    return kept


def _names(engine):
    return sorted(r.data["name"] for r in engine.list(SYSTEM, "customer").items)


def test_a_failed_write_in_a_batch_is_undone_alone(engine, users):
    kept = _batch_with_one_failed_write(engine, users)
    assert _names(engine) == ["Also kept", "Kept"]
    assert engine.get(SYSTEM, "customer", kept.id).version == 1
    with engine.db.read() as conn:  # its typed row went with it too
        typed = engine.typed["customer"].table
        assert sorted(conn.execute(sa.select(typed.c.name)).scalars()) == ["Also kept", "Kept"]


def test_while_someone_listens_a_batch_savepoint_is_seen_and_undoes_the_same(engine, users):
    seen: list[str] = []

    def spy(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()[:2]).upper())

    sa.event.listen(engine.db.engine, "before_cursor_execute", spy)
    try:
        _batch_with_one_failed_write(engine, users)
    finally:
        sa.event.remove(engine.db.engine, "before_cursor_execute", spy)
    assert _names(engine) == ["Also kept", "Kept"]
    assert "SAVEPOINT SA_SAVEPOINT_1" in seen and "ROLLBACK TO" in seen
