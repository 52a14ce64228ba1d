"""Users, roles, managers and delegation, as the engine sees them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Iterable, NamedTuple

import sqlalchemy as sa

from ..errors import LoomError, NotAuthenticated, NotFound
from ..store import audit
from ..store import tables as t
from ..store.hot import Hot
from ..store.transaction import tx_cache
from ..store.writer_memory import forget, writer_memory
from .passwords import hash_password, new_token, token_hash, verify_password

# Logging in (lockout, throttling, two-factor) lives in accounts.py and lockout.py.
BAD_LOGIN = "unknown user or wrong password"

# Hot lookups built once (building a statement costs more than running it), and
# answered once per transaction: `_users(conn)` remembers them until the
# transaction ends or this directory writes a user. On SQLite a write transaction
# remembers them beyond that (store/writer_memory.py) until another connection commits
# to the file or this process writes a user (`forget_users`).
_B = sa.bindparam
# the token, its user and the user's roles in one statement (one row per role): every API
# request and page asks it, so it is one round trip and nothing is remembered between requests
# (a revoked token, a deactivated user or a changed role counts from the next request on)
_TOKEN_USER = (sa.select(t.tokens.c.expires_at, t.users, t.user_roles.c.role)
               .join(t.users, t.users.c.name == t.tokens.c.user_name)
               .outerjoin(t.user_roles, t.user_roles.c.user_name == t.users.c.name)
               .where(t.tokens.c.token_hash == _B("b_hash"), t.tokens.c.revoked_at.is_(None)))
_TOKEN_USER_OF_KIND = _TOKEN_USER.where(t.tokens.c.kind == _B("b_kind"))
# on the DBAPI cursor (engine/store/hot.py): ~40 µs less per request than Connection.execute
_HOT_TOKEN_USER, _HOT_TOKEN_USER_OF_KIND = Hot(_TOKEN_USER), Hot(_TOKEN_USER_OF_KIND)
_TOKEN_USER_KEYS = tuple(c.key for c in _TOKEN_USER.selected_columns)
_ROLES = sa.select(t.user_roles.c.role).where(t.user_roles.c.user_name == _B("b_name"))
# a user and their roles in one statement (one row per role), on the cursor: an action asks
# it for the approvers it assigns and the people it tells, a fresh transaction each time
_USER_ROLES = (sa.select(t.users, t.user_roles.c.role)
               .outerjoin(t.user_roles, t.user_roles.c.user_name == t.users.c.name)
               .where(t.users.c.name == _B("b_name")))
_HOT_USER_ROLES = Hot(_USER_ROLES)
_USER_ROLES_KEYS = tuple(c.key for c in _USER_ROLES.selected_columns)
_WITH_ROLE = (sa.select(t.user_roles.c.user_name).distinct()
              .join(t.users, t.users.c.name == t.user_roles.c.user_name)
              .where(t.user_roles.c.role.in_(_B("b_roles", expanding=True)), t.users.c.active)
              .order_by(t.user_roles.c.user_name))
# a record's hand-over asks its owner's manager, and so does every offer of it (reassign)
_MANAGER = Hot(sa.select(t.users.c.manager).where(t.users.c.name == _B("b_name")))
_AWAY = Hot(sa.select(t.users.c.delegate, t.users.c.away_from, t.users.c.away_until)
            .where(t.users.c.name == _B("b_name")))


class _Away(NamedTuple):
    delegate: str | None
    away_from: date | None
    away_until: date | None


def _users(conn, groups) -> dict:
    """What this transaction knows of users: on SQLite's writer connection what earlier
    write transactions read while nobody else committed (`writer_memory`), kept while the
    role groups the users were expanded with stay the same."""
    cache = tx_cache(conn)
    known = cache.get("users")
    if known is None:
        known = writer_memory(conn, "users")
        if known is None:
            known = {}
        elif known.get(_GROUPS) is not groups:
            known.clear()
            known[_GROUPS] = groups
        cache["users"] = known
    return known


_GROUPS = ("groups",)  # the key of the role groups a memory's users were read with


def forget_users(conn) -> None:
    """`conn`'s transaction writes users or their roles: nothing read of them before counts,
    and nothing read after it is kept beyond the transaction (it may still roll back)."""
    tx_cache(conn).pop("users", None)
    forget(conn, "users")


@dataclass(frozen=True)
class User:
    """The acting user. `roles` drives every permission check: the roles granted to the
    user and every role they include (app.yaml role groups); `assigned_roles` are the
    granted ones alone, what an admin edits."""

    name: str
    roles: frozenset = frozenset()
    email: str | None = None
    language: str = "en"
    manager: str | None = None
    full_name: str | None = None
    is_admin: bool = False
    granted: frozenset | None = None  # None: `roles` were granted as they are (no groups)
    time_zone: str | None = None  # IANA name; None: the app's `time_zone`
    notify_by: tuple[str, ...] = ("inbox",)  # channels the user hears of workflow news by

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def assigned_roles(self) -> frozenset:
        return self.roles if self.granted is None else self.granted

    # attributes the expression language reads as `user.name`, `user.roles`
    def __getitem__(self, key):
        return getattr(self, key)


SYSTEM = User("system", frozenset({"*"}), is_admin=True)


class NoGroups:
    """Role groups when there are none: a role is only itself."""

    @staticmethod
    def expand_roles(roles: Iterable[str]) -> frozenset:
        return frozenset(roles)

    @staticmethod
    def holders_of(role: str) -> frozenset:
        return frozenset({role})


class Directory:
    """The user directory in the database. `groups()` answers the current role groups
    (anything with `expand_roles` and `holders_of`, like the app's AppSpec): a user acts
    with the closure of their granted roles, and `with_role(r)` finds every holder of a
    role that includes r. A callable, so a definitions reload reaches the directory."""

    def __init__(self, db, clock, groups: Callable[[], Any] | None = None):
        self.db = db
        self.clock = clock
        # the same object on every call while nothing changed: the writer memory keeps its
        # users only while `groups()` answers the very object they were expanded with
        self.groups = groups or (lambda: NoGroups)

    def add(self, name: str, roles: Iterable[str] = (), *, password: str | None = None,
            manager: str | None = None, email: str | None = None, language: str = "en",
            full_name: str | None = None, is_admin: bool = False, actor: str = "system") -> User:
        name = name.strip()
        if not name or len(name) > 128:
            raise LoomError("a user name is 1 to 128 characters")
        with self.db.write() as conn:
            forget_users(conn)
            if conn.execute(sa.select(t.users.c.id).where(t.users.c.name == name)).first():
                raise LoomError(f"user {name!r} already exists")
            if manager and not conn.execute(sa.select(t.users.c.id).where(t.users.c.name == manager)).first():
                raise LoomError(f"manager {manager!r} is not a user; add them first")
            conn.execute(t.users.insert().values(
                name=name, password_hash=hash_password(password) if password else None,
                email=email, language=language or "en", manager=manager, full_name=full_name,
                is_admin=is_admin, created_at=self.clock.now()))
            for role in dict.fromkeys(roles):
                conn.execute(t.user_roles.insert().values(user_name=name, role=role))
            audit.write(conn, self.clock.now(), actor, "user_add", subject=name,
                        detail={"roles": sorted(dict.fromkeys(roles)), "is_admin": is_admin})
        return self.get(name)

    def update(self, name: str, *, actor: str = "system", **values) -> User:
        """Change a user's fields, roles (`roles`) or password; role, admin and password
        changes go to the audit log as `actor`'s."""
        roles = values.pop("roles", None)
        new_password = "password" in values
        if new_password:
            pw = values.pop("password")
            values["password_hash"] = hash_password(pw) if pw else None
        with self.db.write() as conn:
            forget_users(conn)
            before = conn.execute(sa.select(t.users.c.is_admin).where(t.users.c.name == name)).first()
            had = sorted(conn.execute(_ROLES, {"b_name": name}).scalars())
            if new_password:  # a changed password ends every session, in the same transaction
                self._revoke(conn, name, kinds=("session",))
            if values:
                res = conn.execute(t.users.update().where(t.users.c.name == name).values(**values))
                if res.rowcount == 0:
                    raise NotFound(f"no user {name!r}")
            if roles is not None:
                conn.execute(t.user_roles.delete().where(t.user_roles.c.user_name == name))
                for role in dict.fromkeys(roles):
                    conn.execute(t.user_roles.insert().values(user_name=name, role=role))
            now = self.clock.now()
            if roles is not None and sorted(dict.fromkeys(roles)) != had:
                audit.write(conn, now, actor, "roles", subject=name,
                            detail={"from": had, "to": sorted(dict.fromkeys(roles))})
            if before is not None and "is_admin" in values and bool(values["is_admin"]) != bool(before.is_admin):
                audit.write(conn, now, actor, "admin_granted" if values["is_admin"] else "admin_revoked",
                            subject=name)
            if new_password:
                audit.write(conn, now, actor, "password_set", subject=name)
        return self.get(name)

    def get(self, name: str, conn=None) -> User:
        user = self.find(name, conn)
        if user is None:
            raise NotFound(f"no user {name!r}")
        return user

    def find(self, name: str, conn=None) -> User | None:
        if conn is None:
            with self.db.read() as c:
                return self.find(name, c)
        cache = _users(conn, self.groups())
        key = ("find", name)
        try:
            return cache[key]
        except KeyError:
            pass
        rows = [dict(zip(_USER_ROLES_KEYS, r))
                for r in _HOT_USER_ROLES.all(conn, {"b_name": name})]
        row = rows[0] if rows else None
        granted = None if row is None or not row["active"] else \
            frozenset(r["role"] for r in rows if r["role"] is not None)
        return self._remember(cache, name, row, granted)

    def _remember(self, cache: dict, name: str, row, granted) -> User | None:
        """The User of a users row (None when there is none or it is inactive), kept in the
        transaction's cache with the row's delegation and manager (what is asked next)."""
        if row is not None:
            cache.setdefault(("away", name), _Away(row["delegate"], row["away_from"],
                                                   row["away_until"]))
            cache.setdefault(("manager", name), row["manager"])
        if row is None or not row["active"]:
            user = None
        else:
            user = User(row["name"], self.groups().expand_roles(granted), row["email"],
                        row["language"] or "en", row["manager"], row["full_name"],
                        bool(row["is_admin"]), granted=granted, time_zone=row["time_zone"],
                        notify_by=tuple(c for c in (row["notify_by"] or "inbox").split(",") if c))
        cache[("find", name)] = user
        return user

    def exists(self, name: str, conn=None) -> bool:
        return self.find(name, conn) is not None

    def all(self) -> list[User]:
        with self.db.read() as conn:
            names = conn.execute(sa.select(t.users.c.name).where(t.users.c.active)
                                 .order_by(t.users.c.name)).scalars().all()
            return [self.find(n, conn) for n in names]

    def with_role(self, role: str, conn) -> list[str]:
        cache = _users(conn, self.groups())
        key = ("with_role", role)
        names = cache.get(key)
        if names is None:
            holders = sorted(self.groups().holders_of(role))
            names = cache[key] = tuple(conn.execute(_WITH_ROLE, {"b_roles": holders}).scalars())
        return list(names)

    def manager_of(self, name: str, conn) -> str | None:
        cache = _users(conn, self.groups())
        key = ("manager", name)
        if key not in cache:
            cache[key] = _MANAGER.scalar(conn, {"b_name": name})
        return cache[key]

    def delegate_of(self, name: str, on: date, conn) -> str | None:
        """The delegate a user named for `on`, when they are away that day."""
        cache = _users(conn, self.groups())
        key = ("away", name)
        if key not in cache:
            rows = _AWAY.all(conn, {"b_name": name})
            cache[key] = _Away(*rows[0]) if rows else None
        row = cache[key]
        if row is None or not row.delegate or row.away_from is None:
            return None
        if row.away_from <= on and (row.away_until is None or on <= row.away_until):
            return row.delegate
        return None

    def set_away(self, name: str, start: date | None, until: date | None, delegate: str | None) -> User:
        if delegate is not None and not self.exists(delegate):
            raise NotFound(f"no user {delegate!r} to delegate to")
        if delegate == name:
            raise LoomError("a user cannot delegate to themself")
        return self.update(name, away_from=start, away_until=until, delegate=delegate)

    # --- tokens ------------------------------------------------------------

    def has_password(self, name: str, password: str) -> bool:
        """Whether `password` is the user's, without counting a failure (for the demo's logins)."""
        with self.db.read() as conn:
            stored = conn.execute(sa.select(t.users.c.password_hash)
                                  .where(t.users.c.name == name)).scalar()
        return stored is not None and verify_password(password, stored)

    def create_token(self, name: str, kind: str = "api", expires_at: datetime | None = None) -> str:
        self.get(name)
        token = new_token()
        with self.db.write() as conn:
            conn.execute(t.tokens.insert().values(user_name=name, token_hash=token_hash(token),
                                                  kind=kind, created_at=self.clock.now(),
                                                  expires_at=expires_at))
        return token

    def user_for_token(self, token: str, kind: str | None = None) -> User:
        """The active user a live token of `kind` belongs to, read afresh (one statement)."""
        now = self.clock.now()
        with self.db.read() as conn:
            q, params = (_HOT_TOKEN_USER_OF_KIND, {"b_hash": token_hash(token), "b_kind": kind}) \
                if kind else (_HOT_TOKEN_USER, {"b_hash": token_hash(token)})
            rows = [dict(zip(_TOKEN_USER_KEYS, r)) for r in q.all(conn, params)]
            if not rows or (rows[0]["expires_at"] is not None and rows[0]["expires_at"] < now):
                raise NotAuthenticated("the token is not valid")
            name = rows[0]["name"]
            granted = frozenset(r["role"] for r in rows if r["role"] is not None)
            user = self._remember(_users(conn, self.groups()), name, rows[0], granted)
        if user is None:
            raise NotAuthenticated("the token is not valid")
        return user

    def revoke_token(self, token: str) -> None:
        with self.db.write() as conn:
            conn.execute(t.tokens.update().where(t.tokens.c.token_hash == token_hash(token))
                         .values(revoked_at=self.clock.now()))

    def revoke_sessions(self, name: str) -> None:
        """Log a user out everywhere (their API tokens keep working)."""
        with self.db.write() as conn:
            self._revoke(conn, name, kinds=("session",))

    def deactivate(self, name: str, actor: str = "system") -> None:
        """Stop a user: no login, no session, no API token; their records and history stay."""
        with self.db.write() as conn:
            self._set_active(conn, name, False)
            self._revoke(conn, name, kinds=("session", "api"))
            audit.write(conn, self.clock.now(), actor, "deactivate", subject=name)

    def reactivate(self, name: str, actor: str = "system") -> User:
        with self.db.write() as conn:
            self._set_active(conn, name, True)
            audit.write(conn, self.clock.now(), actor, "reactivate", subject=name)
        return self.get(name)

    def _set_active(self, conn, name: str, active: bool) -> None:
        forget_users(conn)
        res = conn.execute(t.users.update().where(t.users.c.name == name).values(active=active))
        if res.rowcount == 0:
            raise NotFound(f"no user {name!r}")

    def _revoke(self, conn, name: str, kinds: tuple[str, ...]) -> None:
        conn.execute(t.tokens.update().where(t.tokens.c.user_name == name, t.tokens.c.kind.in_(kinds),
                                             t.tokens.c.revoked_at.is_(None))
                     .values(revoked_at=self.clock.now()))
