"""The Engine facade: everything the web UI and CLI do goes through it.

    engine = Engine("definitions/", "sqlite:///loom.db")
    order = engine.create(user, "sales_order", {...})

Each public method takes the acting user and checks, server-side, that the
user may do it on that record. Areas beyond records (workflow, reports,
alerts) add their methods through the facade mixins imported below.
"""
from __future__ import annotations

import contextlib
import functools
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa

from .alerts.facade import AlertsFacade
from .auth.accounts import Accounts
from .auth.users import Directory, User
from .clock import Clock
from .definitions.catalog import Definitions, load_definitions
from .definitions.environment import all_form_types, form_env
from .errors import ExpressionError, LoomError, NotFound, PermissionDenied, ValidationFailed
from .expr import MappingContext, parse
from .fields import MAX_ID
from .forms.numbering import counter_key, format_number
from .forms.runtime import FormRuntime
from .records import Event, Page, Record
from .registry import Registries, default_registries
from .reports.facade import ReportsFacade
from .store import tables as t
from .store.database import Database
from .store.migrate import upgrade
from .store.repository import Repository
from .store.sqlscope import RecordScope
from .store.typed import TypedStore
from .workflow.facade import WorkflowFacade

MAX_PAGE = 500


def _allowed(user: User, roles: Iterable[str]) -> bool:
    """A form's role list: empty means everyone; admins always."""
    return user.is_admin or not roles or bool(user.roles & set(roles))


def _copy(values: dict) -> dict:
    """Values a caller may change without touching the memo: lists and rows copied."""
    return {k: ([dict(x) if isinstance(x, dict) else x for x in v] if isinstance(v, list) else v)
            for k, v in values.items()}


def as_record_id(value: Any) -> int | None:
    """A record id from user input, or None when it cannot be one (never an overflow)."""
    if isinstance(value, bool):
        return None
    try:
        rid = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return rid if 0 < rid <= MAX_ID else None


@dataclass
class Change:
    """What a write did, handed to listeners inside the write's transaction."""

    kind: str  # "create" | "update" | "enter"
    form: str
    user: User
    before: Record | None
    after: Record
    step: str | None = None
    conn: Any = None


class Services:
    """What form validation may ask of the store, as the acting user."""

    def __init__(self, engine: "Engine", conn, user: User):
        self.engine, self.conn, self.user = engine, conn, user
        self.clock = engine.clock
        self._cache: dict = {}

    def load(self, form: str, record_id) -> Mapping | None:
        key = (form, record_id)
        if key not in self._cache:
            self._cache[key] = self.engine._readable_values(self.conn, self.user, form, record_id)
        return self._cache[key]

    def user_exists(self, name: str) -> bool:
        return self.engine.users.exists(name, self.conn)


class Engine(WorkflowFacade, ReportsFacade, AlertsFacade):
    """Forms, workflows, alerts and reports of one app over one database."""

    def __init__(self, definitions_dir: str | None = None, database_url: str = "sqlite:///loom.db", *,
                 definitions: Definitions | None = None, registries: Registries | None = None,
                 migrate: bool = True, clock: Clock | None = None):
        self.registries = registries or default_registries()
        self.clock = clock or Clock()
        self.definitions_dir = definitions_dir
        self.db = Database(database_url)
        if migrate:
            upgrade(self.db)
        self.users = Directory(self.db, self.clock)
        self.listeners: list[Callable[[Change], None]] = []
        self._lock = threading.Lock()
        self._install(definitions or load_definitions(definitions_dir, self.registries), sync=migrate)

    # --- definitions -------------------------------------------------------

    def _install(self, defs: Definitions, sync: bool = True) -> None:
        typed = TypedStore(defs, self.registries.field_types)
        runtimes = {fid: FormRuntime(f, defs, self.registries) for fid, f in defs.forms.items()}
        self.defs = defs
        self.typed = typed
        self.runtimes = runtimes
        self.repo = Repository(self.db.dialect, typed)
        self._loaded: dict = {}
        self._list_aliases: dict = {}
        self._form_types = all_form_types(defs, self.registries.field_types)
        self._rows_fn: dict[str, Callable] = {}
        for fid, form in defs.forms.items():
            if form.permissions.rows is not None:
                env = form_env(defs, self.registries.field_types, fid, forms=self._form_types)
                self._rows_fn[fid] = form.permissions.rows.compile_python(env, self.registries.functions)
        if sync:
            with self.db.write() as conn:
                typed.sync(conn, lambda fid, data: runtimes[fid].load(data))
        self.listeners = []
        self._init_workflow()
        self._init_reports()
        self._init_alerts()

    def reload(self, definitions_dir: str | None = None) -> Definitions:
        """Load changed definitions and swap them in without a restart."""
        with self._lock:
            defs = load_definitions(definitions_dir or self.definitions_dir, self.registries)
            self.definitions_dir = definitions_dir or self.definitions_dir
            self._install(defs)
            return defs

    # --- users -------------------------------------------------------------

    def add_user(self, name: str, roles: Iterable[str] = (), **kw) -> User:
        unknown = [r for r in roles if self.defs.app.roles and r not in self.defs.app.role_names
                   and r != "admin"]
        if unknown:
            raise LoomError(f"unknown role(s) {', '.join(unknown)}; the app defines "
                            f"{', '.join(sorted(self.defs.app.role_names))}")
        return self.users.add(name, roles, **kw)

    def user(self, name: str) -> User:
        return self.users.get(name)

    def create_token(self, name: str) -> str:
        return self.users.create_token(name)

    def user_for_token(self, token: str) -> User:
        return self.users.user_for_token(token)

    # --- accounts (ops: lockout, two-factor, password resets, sessions) -----
    # Thin: everything lives in engine/auth/accounts.py. Port as one block.

    @functools.cached_property
    def accounts(self) -> Accounts:
        return Accounts(self.db, lambda: self.clock.now(), self.users, self._account_email)

    def _account_email(self, conn, user_name: str, subject: str, body: str) -> None:
        self.enqueue_notification(conn, channel="email", users=[user_name], subject=subject, body=body,
                                  source="account")

    def authenticate(self, name: str, password: str, address: str | None = None,
                     code: str | None = None) -> User:
        """Password (plus the two-factor `code` where the account has 2FA) → User; see Accounts.login."""
        return self.accounts.login(name, password, address, code)

    # --- end of accounts ---------------------------------------------------

    # --- permissions -------------------------------------------------------

    def can_create(self, user: User, form_id: str) -> bool:
        return _allowed(user, self.defs.form(form_id).permissions.create)

    def _has_read_role(self, user: User, form_id: str) -> bool:
        return _allowed(user, self.defs.form(form_id).permissions.read)

    def _involved(self, conn, user: User, record_id: int) -> bool:
        """Whoever holds or held a task on the record, or was copied in."""
        return conn.execute(sa.select(t.tasks.c.id).where(
            t.tasks.c.record_id == record_id, t.tasks.c.assignee == user.name).limit(1)).first() is not None

    def _can_read_row(self, conn, user: User, form_id: str, row: Mapping, values: Mapping) -> bool:
        if user.is_admin or row["owner"] == user.name:
            return True
        if self._has_read_role(user, form_id):
            fn = self._rows_fn.get(form_id)
            if fn is None or self._eval(fn, values, user, conn):
                return True
        return self._involved(conn, user, row["id"])

    def _eval(self, fn, values: Mapping, user: User, conn=None, extra: Mapping | None = None) -> Any:
        ctx = MappingContext({**values, **(extra or {})}, user=user,
                             loader=self._loader(conn), clock=self.clock)
        return fn(ctx)

    def _loader(self, conn):
        def load(form: str, record_id):
            found = self._find_row(conn, form, record_id)
            return None if found is None else self._record(found).values()
        return load

    def _readable_values(self, conn, user: User, form: str, record_id) -> Mapping | None:
        row = self._find_row(conn, form, record_id)
        if row is None:
            return None
        values = self._record(row).values()
        return values if self._can_read_row(conn, user, form, row, values) else None

    def _find_row(self, conn, form: str, record_id) -> Mapping | None:
        """The stored row for an id that came from data or a user, or None (never an error)."""
        rid = as_record_id(record_id)
        if rid is None or form not in self.defs.forms:
            return None
        try:
            return self.repo.fetch(conn, form, rid)
        except NotFound:
            return None

    def _record(self, row: Mapping) -> Record:
        data = row["data"]
        return Record(row["id"], row["form"], row["number"], row["state"], row["version"],
                      row["owner"], self._load(row["form"], data), row["created_at"],
                      row["updated_at"], row.get("definition_version"), data)

    def _load(self, form_id: str, data: dict) -> dict:
        """`runtime.load(data)`, once per JSON object: a transaction hands out the same
        `data` for every read of a record (store/repository.py), so its values are
        parsed once. The memo holds `data` itself, so its id() cannot be reused."""
        memo = self._loaded
        hit = memo.get(id(data))
        if hit is not None and hit[0] is data and hit[1] == form_id:
            return _copy(hit[2])
        values = self.runtimes[form_id].load(data)
        if len(memo) >= 2048:
            memo.clear()
        memo[id(data)] = (data, form_id, values)
        return _copy(values)

    def _can_edit(self, conn, user: User, rec: Record) -> bool:
        perms = self.defs.form(rec.form).permissions
        if user.is_admin:
            return True
        wf = self.defs.workflow_for(rec.form)
        if wf is not None:
            step = wf.step(rec.state)
            if step is None:
                return False
            return any((who == "owner" and rec.owner == user.name) or who in user.roles
                       for who in step.edit)
        return (not perms.update or bool(user.roles & set(perms.update))) or \
            ("owner" in perms.update and rec.owner == user.name)

    # --- records -----------------------------------------------------------

    def create(self, user: User, form_id: str, data: Mapping) -> Record:
        """Validate and store a new record; its number, event and workflow start commit together."""
        form = self.defs.form(form_id)
        if not self.can_create(user, form_id):
            raise PermissionDenied(f"you may not create {form.title.get(user.language)} records")
        with self.db.write() as conn:
            return self._create_in(conn, user, form_id, data)

    def _create_in(self, conn, user: User, form_id: str, data: Mapping) -> Record:
        """`create` inside the caller's transaction (step actions, alerts); no permission check."""
        values = self.runtimes[form_id].prepare(dict(data or {}), user=user, existing=None,
                                                services=Services(self, conn, user))
        return self._insert_record(conn, user, form_id, values, self.clock.now())

    def _insert_record(self, conn, user: User, form_id: str, values: dict, now) -> Record:
        """Store validated values as a new record: number, typed rows, event, listeners and
        the workflow's start step, all in the caller's transaction."""
        form = self.defs.form(form_id)
        runtime = self.runtimes[form_id]
        wf = self.defs.workflow_for(form_id)
        self._check_unique(conn, form_id, values, None)
        number = None
        if form.number:
            key = counter_key(form.number, now, values)
            number = format_number(form.number, self.repo.next_number(conn, form_id, key),
                                   now, values)
        row = self.repo.insert(conn, form=form_id, number=number,
                               state=wf.start if wf else None, data=runtime.dump(values),
                               values=values, owner=user.name, now=now,
                               definition_version=wf.version if wf else None)
        rec = self._record(row)
        self.repo.append_event(conn, record_id=rec.id, form=form_id, at=now, actor=user.name,
                               action="create", to_state=rec.state, version=1,
                               diff=runtime.diff({}, values))
        self._emit(Change("create", form_id, user, None, rec, rec.state, conn))
        if wf is not None:
            rec = self._enter_start(conn, user, rec)
        return rec

    def get(self, user: User, form_id: str, record_id: int) -> Record:
        """A record the user may read; NotFound otherwise (same as a missing id)."""
        self.defs.form(form_id)
        with self.db.read() as conn:
            return self._get(conn, user, form_id, record_id)

    def _get(self, conn, user: User, form_id: str, record_id, lock: bool = False) -> Record:
        rid = as_record_id(record_id)
        if rid is None:
            raise NotFound(f"no {form_id} record with id {record_id}")
        row = self.repo.fetch(conn, form_id, rid, lock=lock)
        rec = self._record(row)
        if not self._can_read_row(conn, user, form_id, row, rec.values()):
            raise NotFound(f"no {form_id} record with id {record_id}")
        return rec

    def update(self, user: User, form_id: str, record_id: int, data: Mapping,
               version: int | None) -> Record:
        """Change fields; a stale `version` raises Conflict and writes nothing."""
        runtime = self.runtimes[form_id]
        with self.db.write() as conn:
            before = self._get(conn, user, form_id, record_id, lock=True)
            if version is None:
                raise ValidationFailed({"version": "the version you edited is required"})
            if not self._can_edit(conn, user, before):
                raise PermissionDenied("you may not edit this record in its current step")
            values = runtime.prepare(dict(data or {}), user=user, existing=before.data,
                                     services=Services(self, conn, user))
            self._check_unique(conn, form_id, values, before.id)
            diff = runtime.diff(before.data, values)
            now = self.clock.now()
            row = self.repo.update(conn, {**before.to_json(), "form": form_id, "id": before.id,
                                          "version": before.version, "created_at": before.created_at,
                                          "number": before.number, "owner": before.owner},
                                   data=runtime.dump(values), values=values, state=before.state,
                                   now=now, expected_version=version, changed=diff.keys())
            after = self._record({**row, "definition_version": before.definition_version})
            self.repo.append_event(conn, record_id=after.id, form=form_id, at=now, actor=user.name,
                                   action="update", from_state=before.state, to_state=after.state,
                                   version=after.version, diff=diff)
            self._emit(Change("update", form_id, user, before, after, after.state, conn))
        return after

    def list(self, user: User, form_id: str, filter: str | None = None, order: str | None = None,
             limit: int = 50, offset: int = 0) -> Page:
        """One page of the records the user may read, filtered and ordered in SQL."""
        self.defs.form(form_id)  # NotFound for an unknown form
        limit = max(0, min(int(limit), MAX_PAGE))
        offset = max(0, int(offset))
        # one alias per form, reused: building an alias's column collection costs ~1 ms
        alias = self._list_aliases.get(form_id)
        if alias is None:
            alias = self._list_aliases[form_id] = self.typed[form_id].table.alias(f"r_{form_id}")
        scope = RecordScope(self.typed, self.registries.field_types, form_id,
                            dialect=self.db.dialect, user=user, clock=self.clock, alias=alias)
        conds = []
        if filter:
            expr = parse(filter)
            env = form_env(self.defs, self.registries.field_types, form_id, forms=self._form_types)
            expr.check(env, self.registries.functions)
            conds.append(expr.compile_sql(scope, self.registries.functions).expr)
        visible = self._visibility(scope, user, form_id)
        if visible is not None:
            conds.append(visible)
        order_by = self._order(scope, order)
        base = scope.base
        with self.db.read() as conn:
            ids_q = sa.select(base.c._id).select_from(scope.from_clause())
            count_q = sa.select(sa.func.count()).select_from(scope.from_clause())
            for c in conds:
                ids_q, count_q = ids_q.where(c), count_q.where(c)
            ids = conn.execute(ids_q.order_by(*order_by).limit(limit).offset(offset)).scalars().all()
            total = conn.execute(count_q).scalar_one()
            rows = self.repo.fetch_many(conn, ids)
        return Page([self._record(rows[i]) for i in ids if i in rows], total)

    def _visibility(self, scope: RecordScope, user: User, form_id: str):
        """The SQL form of 'may read': rows rule, ownership, task involvement."""
        if user.is_admin:
            return None
        form = self.defs.form(form_id)
        involved = scope.base.c._id.in_(sa.select(t.tasks.c.record_id)
                                        .where(t.tasks.c.assignee == user.name, t.tasks.c.form == form_id))
        own = scope.base.c._owner == user.name
        if self._has_read_role(user, form_id):
            if form.permissions.rows is None:
                return None
            rows = form.permissions.rows.compile_sql(scope, self.registries.functions).expr
            return sa.or_(rows, own, involved)
        return sa.or_(own, involved)

    def _order(self, scope: RecordScope, order: str | None) -> list:
        if not order:
            return [scope.base.c._id.desc()]
        out = []
        for part in order.split(","):
            part = part.strip()
            desc = part.startswith("-")
            name = part.lstrip("-+")
            try:
                col = scope.column((name,)).expr
            except ExpressionError as exc:
                raise ValidationFailed({"order": f"cannot sort by {name!r}: {exc}"}) from None
            out.append(col.desc() if desc else col.asc())
        out.append(scope.base.c._id.desc())
        return out

    def history(self, user: User, form_id: str, record_id: int) -> list[Event]:
        with self.db.read() as conn:
            rec = self._get(conn, user, form_id, record_id)
            return [Event(**{k: r[k] for k in Event.__dataclass_fields__})
                    for r in self.repo.events(conn, rec.id)]

    def new_values(self, user: User, form_id: str) -> dict:
        """The starting values of a blank form (defaults applied), for the UI."""
        with self.db.read() as conn:
            return self.runtimes[form_id].defaults(user, Services(self, conn, user))

    # --- internals ---------------------------------------------------------

    def _check_unique(self, conn, form_id: str, values: Mapping, record_id: int | None) -> None:
        """Refuse a value of a `unique` field that another record already has."""
        tf = self.typed[form_id]
        errors = {}
        for name in tf.unique:
            value = values.get(name)
            if value in (None, ""):
                continue
            field = self.defs.form(form_id).field(name)
            q = sa.select(tf.table.c._id).where(
                tf.table.c[name] == self.registries.field_types[field.type].to_sql(field, value))
            if record_id is not None:
                q = q.where(tf.table.c._id != record_id)
            if conn.execute(q.limit(1)).first() is not None:
                errors[name] = f"{value} is already used by another record"
        if errors:
            raise ValidationFailed(errors)

    def _emit(self, change: Change) -> None:
        for listener in list(self.listeners):
            listener(change)

    @contextlib.contextmanager
    def batch(self):
        """Run many writes as one transaction: all of them commit, or none does.

        Yields a `savepoint()` factory: a failed write inside a savepoint is
        undone alone, so an import can go on collecting errors (PostgreSQL
        otherwise refuses every statement after the first failure).
        """
        with self.db.write() as conn:
            yield lambda: conn.begin_nested()

    def close(self) -> None:
        self.db.dispose()
