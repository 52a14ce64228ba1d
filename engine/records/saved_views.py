"""A user's saved list views: a name for a list page's filters and sort, per form.

Only the query string is kept; the list page applies it again under the user's
read rules, so a saved view never shows more than the user may read today.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..errors import NotFound, ValidationFailed
from ..store import tables as t

MAX_VIEWS = 50  # per user and form
MAX_QUERY = 2000


class SavedViews:
    def __init__(self, db, clock):
        self.db, self.clock = db, clock

    def list(self, user, form: str) -> list[dict]:
        v = t.saved_views
        with self.db.read() as conn:
            rows = conn.execute(sa.select(v.c.id, v.c.name, v.c.query)
                                .where(v.c.user_name == user.name, v.c.form == form)
                                .order_by(v.c.name)).mappings().all()
        return [dict(r) for r in rows]

    def save(self, user, form: str, name: str, query: str) -> dict:
        """Save (or replace) the view `name`; the query string is kept as given."""
        name, query = (name or "").strip()[:100], (query or "")[:MAX_QUERY]
        if not name:
            raise ValidationFailed({"name": "give the view a name"})
        v = t.saved_views
        with self.db.write() as conn:
            where = (v.c.user_name == user.name) & (v.c.form == form)
            existing = conn.execute(sa.select(v.c.id).where(where, v.c.name == name)).scalar()
            if existing is not None:
                conn.execute(v.update().where(v.c.id == existing).values(query=query))
                return {"id": existing, "name": name, "query": query}
            count = conn.execute(sa.select(sa.func.count()).select_from(v).where(where)).scalar_one()
            if count >= MAX_VIEWS:
                raise ValidationFailed({"name": f"at most {MAX_VIEWS} saved views per list; delete one first"})
            new_id = conn.execute(v.insert().values(user_name=user.name, form=form, name=name, query=query,
                                                    created_at=self.clock.now())).inserted_primary_key[0]
        return {"id": new_id, "name": name, "query": query}

    def delete(self, user, form: str, view_id: int) -> None:
        v = t.saved_views
        with self.db.write() as conn:
            gone = conn.execute(v.delete().where(v.c.id == view_id, v.c.user_name == user.name,
                                                 v.c.form == form)).rowcount
        if not gone:
            raise NotFound("no such saved view")
