"""The Engine facade: everything the web UI and CLI do goes through it.

    engine = Engine("definitions/", "sqlite:///loom.db")
    claim = engine.create(user, "expense_claim", {...})

Each public method takes the acting user and checks, server-side, that the
user may do it on that record. The facade holds no behaviour of its own: it
composes a record service, a workflow service, a report service and an alert
service, each bound to one immutable runtime snapshot (engine/runtime.py) and
handed only the collaborators it needs — a RecordReader (records,
expressions, access rules), the RecordWriter (every insert, update, history
event and change notification) and, for actions, their tools. On reload a
new snapshot and its services replace the old ones in one assignment.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping

from .alerts.service import AlertService
from .archive import Archiver, ArchiveResult
from .auth.accounts import Accounts
from .auth.users import Directory, User
from .clock import Clock
from .definitions.catalog import Definitions, load_definitions, tree_version
from .errors import LoomError, PermissionDenied
from .forms.preview import Preview
from .records import Change, Event, Page, Record, Services, as_record_id
from .records.matrix import access_matrix
from .records.context import ActionTools
from .records.files import Attachments
from .records.saved_views import SavedViews
from .records.reader import RecordReader
from .records.service import MAX_PAGE, RecordService
from .records.writer import RecordWriter
from .bootstrap import Registries, default_registries
from . import io as records_io
from . import reloading
from .reports.results import ReportResult, ReportStream
from .reports.service import ReportService
from .runtime import Runtime
from .store import audit as audit_log
from .store import backup as backups
from .store.blobs import BlobStore, open_blobs
from .store.database import Database
from .store.migrate import upgrade
from .store.transaction import Savepoint
from .workflow import record_migrations
from .workflow.service import WorkflowService

__all__ = ["Engine", "Change", "Services", "as_record_id", "MAX_PAGE"]


@dataclass(frozen=True)
class Live:
    """One runtime snapshot and the services bound to it: swapped as a whole on reload."""

    rt: Runtime
    reader: RecordReader
    writer: RecordWriter
    records: RecordService
    workflow: WorkflowService
    reports: ReportService
    alerts: AlertService


class Engine:
    """Forms, workflows, alerts and reports of one app over one database."""

    def __init__(self, definitions_dir: str | None = None, database_url: str = "sqlite:///loom.db", *,
                 definitions: Definitions | None = None, registries: Registries | None = None,
                 migrate: bool = True, clock: Clock | None = None, blobs: "BlobStore | str | None" = None):
        self.registries = registries or default_registries()
        self.clock = clock or Clock()
        self.definitions_dir = definitions_dir
        self.db = Database(database_url)
        # file contents: a store given, a folder or s3:// URL (LOOM_BLOBS), else beside the database
        self.blobs: BlobStore = blobs if blobs is not None and not isinstance(blobs, str) else \
            open_blobs(blobs or os.environ.get("LOOM_BLOBS"), database_url)
        if migrate:
            upgrade(self.db)
        # users act with their roles' closure under the app's role groups, as loaded now
        self.users = Directory(self.db, self.clock, groups=lambda: self.defs.app)
        # listeners beyond the alerts: each hears every write, inside its transaction
        self.listeners: list[Callable[[Change], None]] = []
        self._lock = threading.RLock()
        # the files' version, read before they are loaded: a change in between shows as a
        # difference on the next look, never as a version that claims files it did not load
        self.definitions_version = tree_version(definitions_dir) if definitions_dir else ""
        self._install(definitions or load_definitions(definitions_dir, self.registries), sync=migrate)

    # --- the runtime snapshot -------------------------------------------------------

    def _install(self, defs: Definitions, sync: bool = True) -> None:
        rt = Runtime.build(defs, self.registries, self.db.dialect)
        if sync:
            with self.db.write() as conn:
                rt.typed.sync(conn, lambda fid, data: rt.forms[fid].load(data))
        self._live = self._wire(rt)  # the one assignment readers see

    def _wire(self, rt: Runtime) -> Live:
        """The services of one snapshot, each handed only what it needs."""
        reader = RecordReader(rt, self.users, self.clock)
        alerts: AlertService | None = None

        def sink(change: Change) -> None:
            alerts.on_change(change)
            for listener in list(self.listeners):
                listener(change)

        def sink_many(changes: list[Change]) -> None:
            """A bulk write's changes (records/bulk.py): alerts hear them together."""
            alerts.on_changes(changes)
            for change in changes:
                for listener in list(self.listeners):
                    listener(change)

        writer = RecordWriter(rt, reader, sink)
        writer.sink_many = sink_many
        workflow: WorkflowService | None = None
        tools = ActionTools(
            rt=rt, reader=reader, writer=writer, clock=self.clock, dialect=self.db.dialect,
            create=lambda *a, **kw: workflow.create_record(*a, **kw),
            notify=lambda *a, **kw: alerts.send_notification(*a, **kw),
            tell=lambda *a, **kw: alerts.tell(*a, **kw))
        workflow = WorkflowService(rt, self.db, self.clock, self.users, reader, writer, tools)
        alerts = AlertService(rt, self.db, self.clock, self.users, reader, tools)
        return Live(rt, reader, writer,
                    RecordService(rt, self.db, self.clock, reader, writer, workflow.create_record),
                    workflow, ReportService(rt, self.db, self.clock, reader), alerts)

    def reload(self, definitions_dir: str | None = None) -> Definitions:
        """Load changed definitions and swap them in without a restart (raises if not clean)."""
        with self._lock:
            root = definitions_dir or self.definitions_dir
            version = tree_version(root)
            defs = load_definitions(root, self.registries)
            self.definitions_dir = root
            self._install(defs)
            self.definitions_version = version
            return defs

    def reload_definitions(self, user=None) -> reloading.ReloadResult:
        """Check the definitions folder; if clean, swap it in and ask every process to follow.

        Admins only when a user is given (the CLI acts as the operator)."""
        if user is not None and not user.is_admin:
            raise PermissionDenied("only administrators reload the definitions")
        return reloading.reload(self, user.name if user is not None else None)

    def converge_definitions(self) -> reloading.ReloadResult:
        """Load the definitions version the database asks for, when the files here hold it."""
        return reloading.converge(self)

    def watch_definitions(self, interval: float = 2.0) -> reloading.Watcher:
        """Start a thread that reloads on file changes and converges with other processes."""
        return reloading.Watcher(self, interval).start()

    def published_definitions_version(self) -> str | None:
        return reloading.published_version(self.db)

    def migration_plan(self) -> list:
        """The definitions' `migrate:` items, each with how many records it would touch."""
        return record_migrations.plan(self._live.workflow)

    def migrate_records(self, dry_run: bool = False, progress=None) -> list:
        """Apply the `migrate:` items in batches (one transaction each, history per record)."""
        return record_migrations.migrate_records(self._live.workflow, dry_run, progress=progress)

    def affected_records(self, old: Definitions, new: Definitions, differences) -> list:
        """How many live records each difference between two trees touches (SQL counts)."""
        return record_migrations.affected(self.db, old, new, differences)

    @property
    def clock(self) -> Clock:
        return self._clock

    @clock.setter
    def clock(self, clock: Clock) -> None:
        """A new clock (the demo seeding walks one through a year) reaches every service."""
        self._clock = clock
        live = getattr(self, "_live", None)
        if live is not None:
            self._live = self._wire(live.rt)

    @property
    def runtime(self) -> Runtime:
        """The current runtime snapshot (replaced, never changed, by `reload`)."""
        return self._live.rt

    @property
    def services(self) -> Live:
        """The current snapshot with the services bound to it."""
        return self._live

    @property
    def defs(self) -> Definitions:
        return self._live.rt.defs

    @property
    def typed(self):
        return self._live.rt.typed

    @property
    def repo(self):
        return self._live.rt.repo

    @property
    def runtimes(self) -> Mapping:
        return self._live.rt.forms

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
        return self._live.reader.can_create(user, form_id)

    def can_edit(self, user: User, record: Record) -> bool:
        """Whether `user` may edit the record now: the step's `edit` list under a workflow,
        else the form's `update` roles (`owner`: the record's owner); admins always."""
        return self._live.reader.can_edit(user, record)

    def readable_fields(self, user: User, form_id: str, record: Record | None = None) -> tuple[str, ...]:
        """The fields of `form_id` that `user` may see (on `record`, whose owner may see more)."""
        owner = record.owner if record is not None else None
        return self._live.reader.access.readable(user, form_id, owner)

    def editable_fields(self, user: User, form_id: str, record: Record | None = None) -> tuple[str, ...]:
        """The fields `user` may change on `record` in its step (None: on a new record)."""
        return self._live.reader.access.editable(user, form_id, record)

    def access_matrix(self, role: str | None = None, form: str | None = None) -> list[dict]:
        """Who may do what (`loom access`): per form and role, create/read/update/delete, the
        fields they may read and edit, and per step what they may edit and which actions."""
        return access_matrix(self._live.rt.defs, self._live.reader.access, role, form)

    # --- records -----------------------------------------------------------

    def create(self, user: User, form_id: str, data: Mapping, *, source: str | None = None) -> Record:
        """Validate and store a new record; its number, event and workflow start commit together.
        `source="FORM:ID[,ID...]"` makes it from those records (the form's `make_from`); `data`
        overrides what they give."""
        return self._live.records.create(user, form_id, self._files().vouch(form_id, data),
                                         source)

    def new_from(self, user: User, form_id: str, source: str) -> Preview:
        """The prefilled draft of a record made from `source` (`FORM:ID[,ID...]`): values,
        visibility, required flags and errors, as a preview; nothing is written."""
        return self._live.records.draft_from(user, form_id, source)

    def make_targets(self, user: User, record: Record) -> list[str]:
        """The forms `user` may make from `record` now (their `make_from` names its form, the
        user may create them, and the entry's `if` holds)."""
        return self._live.records.make_targets(user, record)

    def line_options(self, user: User, target: str, within: int | None = None, q: str = "",
                     limit: int = 20) -> list[tuple[str, str]]:
        """(line id, readable title) for a picker of lines of `target` (`FORM.TABLE`): only
        lines of records `user` may read; `within` limits them to one record's lines."""
        return self._live.records.line_options(user, target, within, q, limit)

    def line_title(self, user: User, target: str, line_id: str) -> str | None:
        """How a picker shows one line of `target` (`FORM.TABLE`); None when `user` may not
        read it."""
        return self._live.records.line_title(user, target, line_id)

    def line(self, user: User, target: str, line_id: str) -> dict | None:
        """One line of `target` (`FORM.TABLE`) by its `_id`, as a link to it reads it (its
        fields, `id`, `record`), or None when there is none or `user` may not read its record."""
        with self.db.read() as conn:
            return self._live.reader.line(conn, user, target, line_id)

    def get(self, user: User, form_id: str, record_id: int) -> Record:
        """A record the user may read; NotFound otherwise (same as a missing id)."""
        return self._live.records.get(user, form_id, record_id)

    def update(self, user: User, form_id: str, record_id: int, data: Mapping,
               version: int | None) -> Record:
        """Change fields; a stale `version` raises Conflict and writes nothing."""
        return self._live.records.update(user, form_id, record_id, self._files().vouch(form_id, data),
                                         version)

    def list(self, user: User, form_id: str, filter: str | None = None, order: str | None = None,
             limit: int = 50, offset: int = 0, sums: Iterable[str] = (),
             capped_total: bool = False, as_json: bool = False) -> Page:
        """One page of the records the user may read, filtered and ordered in SQL; `sums` names
        number fields to add up over every matching record (`Page.totals`, one SQL query).
        `capped_total` (a page shown to a person) counts `Page.total` only up to 1,000 records
        past the page (`Page.total_capped` when there are more), so the page costs the same
        among 100k or 1M rows; without it every matching record is counted. `as_json`: the
        items are the records' `to_json()` (the API's shape), their values never parsed."""
        return self._live.records.list(user, form_id, filter, order, limit, offset, tuple(sums),
                                       capped_total, as_json)

    def list_rendered(self, user: User, form_id: str, filter: str | None = None,
                      order: str | None = None, limit: int = 50, offset: int = 0,
                      capped_total: bool = False, render=None) -> tuple[list, int, bool]:
        """`list(..., as_json=True)` for an answer written as text: each item as `render(item)`
        gives it (`render` must be a pure function of the item: a row read again unchanged
        gives the text it gave before), the total, and whether that is capped."""
        return self._live.records.list_rendered(user, form_id, filter, order, limit, offset,
                                                capped_total, render)

    # --- the trash (soft delete) and the audit log ------------------------------------

    def can_delete(self, user: User, record: Record) -> bool:
        """Whether `user` may delete the record now (its step allows it and names them)."""
        return self._live.reader.can_delete(user, record)

    def delete(self, user: User, form_id: str, record_id: int, version: int | None = None,
               comment: str | None = None) -> Record:
        """Soft-delete into the trash: PermissionDenied, ActionRefused `linked`, or Conflict."""
        return self._live.records.delete(user, form_id, record_id, version, comment)

    def restore_record(self, user: User, form_id: str, record_id: int) -> Record:
        """Take a record out of the trash (administrators). (`restore` is the backup's.)"""
        return self._live.records.restore(user, form_id, record_id)

    def purge_record(self, user: User, form_id: str, record_id: int) -> None:
        """Remove a record in the trash for good (administrators)."""
        self._live.records.purge(user, form_id, record_id)

    def trash(self, user: User, form: str | None = None, limit: int = 50, offset: int = 0) -> Page:
        """Records in the trash (administrators), most recently deleted first."""
        return self._live.records.trash(user, form, limit, offset)

    def audit(self, user: User, *, who: str | None = None, action: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              limit: int = 50, offset: int = 0) -> Page:
        """The audit log (administrators), newest first: rows as dicts."""
        if not user.is_admin:
            raise PermissionDenied("only administrators may read the audit log")
        with self.db.read() as conn:
            rows, total = audit_log.search(conn, user=who or None, action=action or None, since=since,
                                           until=until, limit=max(0, min(int(limit), MAX_PAGE)),
                                           offset=max(0, int(offset)))
        return Page(rows, total)

    def history(self, user: User, form_id: str, record_id: int) -> list[Event]:
        return self._live.records.history(user, form_id, record_id)

    def new_values(self, user: User, form_id: str) -> dict:
        """The starting values of a blank form (defaults applied), for the UI."""
        return self._live.records.new_values(user, form_id)

    def preview(self, user: User, form_id: str, data: Mapping, record_id: int | None = None) -> Preview:
        """What saving `data` (a new record, or an edit of `record_id`) would store, show and
        require, and the errors it would answer: one read transaction, nothing written."""
        return self._live.records.preview(user, form_id, data, record_id)

    # --- records I/O (engine/io): import, templates, readable exports ---------

    def import_file(self, user: User, form_id: str, source, dry_run: bool = False,
                    progress: Callable[[int, int], None] | None = None, *,
                    format: str | None = None, filename: str | None = None,
                    check_progress: Callable[[int, int], None] | None = None,
                    ) -> records_io.ImportResult:
        """Import a CSV/XLSX file (path or binary stream) into a form or `FORM.table`;
        every row or none. `progress(done, total)`: rows written (a dry run: checked);
        `check_progress`: rows checked before an import writes."""
        return records_io.import_file(self, user, form_id, source, dry_run, progress,
                                      format=format, filename=filename,
                                      check_progress=check_progress)

    # MERGE (h/imports): two-phase imports — check rows with no write lock, then write them.
    def check_new(self, user: User, form_id: str, data: Mapping) -> dict:
        """The values `create` would store for `data`, or ValidationFailed; writes nothing."""
        return self._live.records.check_new(user, form_id, data)

    def check_new_many(self, user: User, form_id: str, batch: list) -> list:
        """`check_new` for many records in one read transaction: for each, the values to
        store or the LoomError it would raise (unique values checked together)."""
        return self._live.records.check_new_many(user, form_id, batch)

    def create_checked(self, user: User, form_id: str, values: dict) -> Record:
        """Store values `check_new` answered (in the caller's `batch()`, or alone)."""
        return self._live.records.create_checked(user, form_id, values)
    def create_many_checked(self, user: User, form_id: str, batch: list) -> list[Record] | None:
        """Store many values `check_new` answered in a few statements (one executemany per
        table), as `create_checked` would one by one; None when the form has a workflow."""
        return self._live.records.create_many_checked(user, form_id, batch)

    def can_create_many(self, form_id: str) -> bool:
        """Whether `create_many_checked` writes this form (it has no workflow)."""
        return self._live.records.can_create_many(form_id)

    def reading(self):
        """A context in which this thread's reads share one read transaction (no write lock)."""
        return self.db.read_batch()
    # END MERGE (h/imports)

    def template(self, form_id: str, fmt: str = "csv", language: str | None = None) -> bytes:
        """An empty import file for a form (or `FORM.table`)."""
        return records_io.template(self, form_id, fmt, language)

    def export(self, user: User, name: str, fmt: str, out, *, labels: bool = True) -> int:
        """The records of a form (or `FORM.table`) the user may read, as a person reads them
        and `import_file` reads them back; returns the row count of the first sheet."""
        return records_io.export(self, user, name, fmt, out, labels=labels)

    def export_stream(self, user: User, name: str, *, labels: bool = True):
        """`export`'s first sheet as a lazy stream (context manager), for HTTP downloads."""
        return records_io.export_stream(self, user, name, labels=labels)

    # --- workflow ----------------------------------------------------------

    def act(self, user, form: str, id, action: str, comment: str | None = None, to: Any = None,
            version: int | None = None, data: Mapping | None = None):
        """Do `action` on a record as `user`; the record afterwards, or why not (see
        WorkflowService.act). `data`: fields the step lets `user` fill while acting.
        Everything the action does commits together or not at all."""
        return self._live.workflow.act(user, form, id, action, comment, to, version,
                                       dict(data) if data else None)

    def available_actions(self, user, record) -> list[dict]:
        """The actions `user` may take on the record now (same checks as `act`)."""
        return self._live.workflow.available_actions(user, record)

    def tasks(self, user, status: str = "open", limit: int = 100, offset: int = 0, *,
              form: str | None = None, step: str | None = None,
              created_before: datetime | None = None, due_before: datetime | None = None,
              sort: str = "newest", values: bool = True) -> list:
        """The user's approval tasks (the inbox), newest first; filtered by form, step, age
        (`created_before`) and due date (`due_before`), sorted by "newest", "oldest" or "due";
        `values=False` leaves each task's `data` (its record's values) None, unread."""
        return self._live.workflow.tasks(user, status, limit, offset, form=form, step=step,
                                         created_before=created_before, due_before=due_before,
                                         sort=sort, values=values)

    def task_page(self, user, status: str = "open", limit: int = 50, offset: int = 0, *,
                  capped_total: bool = True, form: str | None = None, step: str | None = None,
                  created_before: datetime | None = None, due_before: datetime | None = None,
                  sort: str = "newest", values: bool = False, as_json: bool = False):
        """A page of the inbox (`Page`: items, total, total_capped), as `tasks` filters and
        sorts it; the total counts every page, up to 1,000 past this one unless not
        `capped_total`. `values=True` reads each task's record values too; `as_json`: the
        items are the tasks' `to_json()` (no values), made without Task objects."""
        return self._live.workflow.task_page(user, status, limit, offset, capped_total, as_json,
                                             form=form, step=step, created_before=created_before,
                                             due_before=due_before, sort=sort, values=values)

    def task_page_rendered(self, user, status: str = "open", limit: int = 50, offset: int = 0,
                           *, capped_total: bool = True, render=None) -> tuple[list, int, bool]:
        """`task_page(..., as_json=True)` for an answer written as text: each item as
        `render(item)` gives it (`render` must be a pure function of the item: a task row read
        again unchanged gives the text it gave before), the total, and whether it is capped."""
        return self._live.workflow.task_page_rendered(user, status, limit, offset, capped_total,
                                                      render)

    def task_count(self, user) -> int:
        """How many open tasks `user` holds (the inbox badge)."""
        return self._live.workflow.task_count(user)

    def step_tasks(self, user, record) -> list:
        """The tasks of the record's current step (any status), if the user may read the record."""
        return self._live.workflow.step_tasks(user, record)

    def explain(self, user, record) -> list[dict]:
        """For each action of the record's step: where it leads and why, and who would approve."""
        return self._live.workflow.explain(user, record)

    def run_sla(self, now: datetime | None = None) -> dict:
        """Remind and escalate overdue tasks; safe to run from two workers at once."""
        return self._live.workflow.run_sla(now)

    def stranded_problems(self) -> list:
        """Records in flight that the loaded workflows no longer fit, and approver roles with no users."""
        return self._live.workflow.stranded_problems()

    def set_out_of_office(self, user, start: date | None, until: date | None,
                          delegate: str | None):
        """`user` is away from `start` to `until`; their new tasks go to `delegate`."""
        return self._live.workflow.set_out_of_office(user, start, until, delegate)

    def out_of_office(self, user) -> dict:
        """The away period and delegate `user` set: {"start", "until", "delegate"} (None when unset)."""
        return self._live.workflow.out_of_office(user)

    # --- reports -----------------------------------------------------------

    def report(self, user, report_id: str, params: Mapping[str, Any] | None = None) -> ReportResult:
        """Run a report (or a dashboard: every tile the reader may run) as `user`."""
        return self._live.reports.report(user, report_id, params)

    @contextlib.contextmanager
    def report_stream(self, user, report_id: str,
                      params: Mapping[str, Any] | None = None) -> Iterator[ReportStream]:
        """Columns and a lazily fetched row iterator; valid inside the `with` block."""
        with self._live.reports.report_stream(user, report_id, params) as stream:
            yield stream

    def export_report(self, user, report_id: str, fmt: str, out: BinaryIO,
                      params: Mapping[str, Any] | None = None) -> int:
        """Write a report as CSV or XLSX to a binary file; returns the number of rows."""
        return self._live.reports.export_report(user, report_id, fmt, out, params)

    def export_form(self, user, form_id: str, fmt: str, out: BinaryIO) -> int:
        """Write the records of a form (or `form.table` line items) the user may read."""
        return self._live.reports.export_form(user, form_id, fmt, out)

    @contextlib.contextmanager
    def form_stream(self, user, form_id: str) -> Iterator[ReportStream]:
        """The records of a form (or `form.table` line items) the user may read, streamed."""
        with self._live.reports.form_stream(user, form_id) as stream:
            yield stream

    def report_svg(self, user, report_id: str, params: Mapping[str, Any] | None = None,
                   size: tuple[int, int] | None = None) -> str:
        """The report's chart as standalone SVG (a table when it declares no chart); `size`
        (width, height in px) draws it for the space it gets, so its text stays readable."""
        return self._live.reports.report_svg(user, report_id, params, size)

    def report_sql(self, user, report_id: str, params: Mapping[str, Any] | None = None) -> str:
        """The statement a run would execute (bound values shown as placeholders)."""
        return self._live.reports.report_sql(user, report_id, params)

    def insights(self, user, workflow_id: str, days: int | None = None) -> dict:
        """Every built-in process insight of a workflow (time in step, approvers, SLA,
        returns, throughput) as report results, for readers of its form."""
        return self._live.reports.insights(user, workflow_id, days)

    def can_see_insights(self, user, workflow_id: str) -> bool:
        return self._live.reports.can_see_insights(user, workflow_id)

    def process_map(self, user, workflow_id: str, words: Mapping[str, str],
                    days: int | None = None) -> str:
        """The workflow as SVG, each step coloured by its median time (the bottleneck)."""
        return self._live.reports.process_map(user, workflow_id, words, days)

    def can_run_report(self, user, report_id: str) -> bool:
        """Whether `user` may run the report (or open the dashboard); for menus and links."""
        return self._live.reports.can_run_report(user, report_id)

    # --- alerts, notifications, outbox ----------------------------------------------

    def enqueue_notification(self, conn, *, channel: str, users, subject: str, body: str = "",
                             form: str | None = None, record_id: int | None = None,
                             source: str | None = None, webhook: str | None = None) -> list[int]:
        """Queue an already-rendered notification on an outbox channel inside `conn`'s
        transaction. Returns outbox ids."""
        return self._live.alerts.enqueue_notification(
            conn, channel=channel, users=users, subject=subject, body=body, form=form,
            record_id=record_id, source=source, webhook=webhook)

    def notifications(self, user, unread_only: bool = False, limit: int = 50,
                      offset: int = 0) -> list[dict]:
        """The user's inbox, newest first."""
        return self._live.alerts.notifications(user, unread_only, limit, offset)

    def unread_count(self, user) -> int:
        return self._live.alerts.unread_count(user)

    def mark_read(self, user, ids: list[int] | None = None) -> int:
        """Mark the given notifications (all, when None) of the user read; returns how many."""
        return self._live.alerts.mark_read(user, ids)

    def alert_traces(self, user, alert: str | None = None, form: str | None = None,
                     record_id: int | None = None, limit: int = 100) -> list[dict]:
        """Why alerts fired or did not, newest first: per alert, per form, per record."""
        return self._live.alerts.alert_traces(user, alert, form, record_id, limit)

    def explain_alert(self, user, alert: str, record_id: int) -> dict:
        """Evaluate an alert's condition on a record now, without firing: the values it sees."""
        return self._live.alerts.explain_alert(user, alert, record_id)

    def dead_letters(self, user=None, limit: int = 100) -> list[dict]:
        """Outbox deliveries that failed for good; admins only when a user is given."""
        return self._live.alerts.dead_letters(user, limit)

    def retry_dead(self, outbox_id: int, user=None) -> bool:
        """Queue a dead delivery again, attempts reset; False if it is not dead."""
        return self._live.alerts.retry_dead(outbox_id, user)

    def outbox_status(self) -> dict[str, int]:
        """Counts of outbox rows by status (pending | sent | dead | undeliverable)."""
        return self._live.alerts.outbox_status()

    def run_schedules(self, owner: str = "engine", stop=None) -> list:
        """One pass over scheduled alerts (what `loom worker` does each poll)."""
        return self._live.alerts.run_schedules(owner, stop)

    def deliver_outbox(self, owner: str = "engine", limit: int = 50, stop=None) -> dict:
        """One outbox delivery pass (what `loom worker` does each poll)."""
        return self._live.alerts.deliver_outbox(owner, limit, stop)

    # --- transactions ----------------------------------------------------------

    @contextlib.contextmanager
    def batch(self):
        """Run many writes as one transaction: all of them commit, or none does.

        Yields a `savepoint()` factory: a failed write inside a savepoint is
        undone alone, so an import can go on collecting errors (PostgreSQL
        otherwise refuses every statement after the first failure).
        """
        with self.db.write() as conn:
            yield lambda: Savepoint(conn)

    # --- saved list views (uxpages) --------------------------------------------------

    def saved_views(self, user: User, form_id: str) -> list[dict]:
        """The user's saved views of a form's list: [{id, name, query}] by name."""
        self.defs.form(form_id)
        return SavedViews(self.db, self.clock).list(user, form_id)

    def save_view(self, user: User, form_id: str, name: str, query: str) -> dict:
        """Save the list page's query string under `name` for this user (replacing one so named)."""
        self.defs.form(form_id)
        return SavedViews(self.db, self.clock).save(user, form_id, name, query)

    def delete_view(self, user: User, form_id: str, view_id: int) -> None:
        SavedViews(self.db, self.clock).delete(user, form_id, view_id)

    # --- files (uxpages) ---------------------------------------------------------------

    def _files(self) -> Attachments:
        return Attachments(self.defs, self.blobs)

    def upload(self, user: User, form_id: str, field: str, name: str | None, data: bytes) -> dict:
        """Store a file for file field `field` (`photo`, `lines.drawing`) of a form the user
        works with; its reference `{name, size, sha256, type}` to put in
        the record's data. Size and type limits apply; the type comes from the bytes."""
        self._files().field(form_id, field)
        # an upload is unreadable until a record the user may write holds it; storing it needs
        # only that the user works with the form at all
        if not (self.can_create(user, form_id) or self._live.reader.has_read_role(user, form_id)):
            raise PermissionDenied("you may not add files to this form")
        return self._files().upload(form_id, field, name, data)

    def file(self, user: User, form_id: str, record_id: int, sha256: str) -> tuple[dict, bytes]:
        """A file a record holds, if the user may read that record: (reference, bytes)."""
        return self._files().read(self.get(user, form_id, record_id), sha256)

    # --- backup, restore and archive (h/backup: thin; logic in store/backup.py, archive/) ---

    def backup(self, path: str) -> backups.BackupInfo:
        """A consistent copy of the whole database in `path`, taken while the engine serves."""
        info = backups.backup(self.db, path)
        backups.backup_blobs(self.blobs, path)  # after the snapshot: blobs are only ever added
        return info

    @staticmethod
    def restore(path: str, database_url: str, *, force: bool = False,
                blobs: "BlobStore | str | None" = None) -> backups.BackupInfo:
        """Restore a backup into the (empty) database at `database_url`, checked before and after,
        and its files into the blob store (`blobs`, LOOM_BLOBS, or the one beside the database)."""
        database = Database(database_url)
        try:
            info = backups.restore(database, path, force=force)
        finally:
            database.dispose()
        store = blobs if blobs is not None and not isinstance(blobs, str) else \
            open_blobs(blobs or os.environ.get("LOOM_BLOBS"), database_url)
        backups.restore_blobs(store, path)
        return info

    def archive(self, dry_run: bool = False, stop: Callable[[], bool] | None = None) -> ArchiveResult:
        """Apply the forms' `archive:` rules in batches (engine/archive); a dry run only counts."""
        return Archiver(self.db, self.defs, self.typed, self.registries.field_types,
                        self.registries.functions, self.clock).run(dry_run=dry_run, stop=stop)

    def search_archive(self, user: User, form: str | None = None, text: str | None = None,
                       limit: int = 50, offset: int = 0) -> Page:
        """Archived records (admins only), newest first, by form and/or text in any value."""
        return self._live.records.search_archive(user, form, text, limit, offset)

    # --- end of h/backup block ------------------------------------------------------------

    def close(self) -> None:
        self.db.dispose()
