"""The `loom` command line. Every command goes through the Engine facade.

Errors are mapped once, in `LoomGroup.invoke`: a LoomError becomes
`error: <message>` on stderr and exit status 1; anything else is a bug and
keeps its traceback.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import logging
import os
import secrets
import sys
import time
from dataclasses import dataclass
from types import ModuleType

import click

from .auth.users import SYSTEM
from .clock import Clock, HeldClock
from .definitions.catalog import check_tree, load_definitions
from .definitions.model import AppSpec
from .definitions.schema_check import write_schemas
from .errors import LoomError, ValidationFailed
from .bootstrap import default_registries
from .records.access import FieldAccess
from .records.matrix import access_matrix
from .store import backup as backups
from .store.blobs import open_blobs
from .store.database import Database

DEFAULT_DEFINITIONS = "./definitions"
DEFAULT_DATABASE = "sqlite:///loom.db"
CLI_ACTOR = "cli"  # who the audit log names for account changes made with `loom user ...`


def definitions_dir(value: str | None) -> str:
    return value or os.environ.get("LOOM_DEFINITIONS") or DEFAULT_DEFINITIONS


def database_url(value: str | None = None) -> str:
    return value or os.environ.get("LOOM_DATABASE_URL") or DEFAULT_DATABASE


@dataclass(frozen=True)
class Target:
    """Where a command works: the definitions directory and the database URL."""

    definitions: str | None  # None for a command that opens only the database
    database: str

    def engine(self, migrate: bool = True, clock: Clock | None = None):
        # Lazy, like the worker, alembic, Flask and waitress below, only for start-up:
        # the facade loads every runtime package; importing it eagerly made `loom
        # check` (no engine) ~25% slower in CPU time, ~40% with Flask and waitress.
        from .engine import Engine

        return Engine(self.definitions, self.database, migrate=migrate, clock=clock)


def engine_options(fn=None, *, definitions: bool = True):
    """`--definitions DIR` and `--database URL` for every command that opens an engine;
    `definitions=False` for one that opens only the database. The command receives
    them as `target: Target`, with the environment (LOOM_DEFINITIONS,
    LOOM_DATABASE_URL) and the defaults applied."""
    if fn is None:
        return functools.partial(engine_options, definitions=definitions)

    @functools.wraps(fn)
    def command(*args, database: str | None, **kwargs):
        folder = definitions_dir(kwargs.pop("definitions", None)) if definitions else None
        return fn(*args, target=Target(folder, database_url(database)), **kwargs)

    command = click.option("--database", default=None, metavar="URL",
                           help="Database URL (default: $LOOM_DATABASE_URL or "
                                f"{DEFAULT_DATABASE}).")(command)
    if definitions:
        command = click.option("--definitions", default=None, metavar="DIR",
                               help="Definitions directory (default: $LOOM_DEFINITIONS or "
                                    f"{DEFAULT_DEFINITIONS}).")(command)
    return command


class LoomGroup(click.Group):
    """The `loom` group: the one place a LoomError (bad definitions, an unknown user,
    a refused write ...) becomes `error: <message>` and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LoomError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)


@click.group(cls=LoomGroup)
def main() -> None:
    """Loom: forms, approvals, alerts and reports from YAML."""


@main.command()
@click.argument("directory", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--against", "against", default=None, metavar="DATABASE_URL",
              help="Also report records a changed workflow would strand in this database.")
def check(directory: str | None, fmt: str, against: str | None) -> None:
    """Check every definition under DIRECTORY; exit 1 if any error."""
    root = definitions_dir(directory)
    show_progress = fmt == "text" and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress and (done == total or done % 50 == 0):
            click.echo(f"\rchecking {done}/{total} files", err=True, nl=done == total)

    defs, problems = check_tree(root, default_registries(), progress)
    if against and defs is not None and not [p for p in problems if p.severity == "error"]:
        from .engine import Engine  # lazy for start-up, as in Target.engine

        engine = Engine(root, against, definitions=defs, migrate=False)
        problems = problems + engine.stranded_problems()
    errors = [p for p in problems if p.severity == "error"]
    if fmt == "json":
        click.echo(json.dumps({"problems": [p.as_json() for p in problems],
                               "errors": len(errors), "warnings": len(problems) - len(errors)},
                              indent=2))
    else:
        for p in problems:
            click.echo(str(p))
        files = len(defs.docs) if defs else 0
        if errors:
            click.echo(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s) "
                       f"in {root}", err=True)
        else:
            click.echo(f"ok: {files} definition file(s) checked, "
                       f"{len(problems)} warning(s)", err=True)
    sys.exit(1 if errors else 0)


@main.command("access")
@click.option("--role", default=None, help="Only this role (or owner: the record's owner).")
@click.option("--form", "form_id", default=None, help="Only this form.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--definitions", default=None, metavar="DIR",
              help=f"Definitions directory (default: $LOOM_DEFINITIONS or {DEFAULT_DEFINITIONS}).")
def access(role: str | None, form_id: str | None, fmt: str, definitions: str | None) -> None:
    """Who may do what: per form and role, create/read/update/delete, the fields they may
    read and edit, and per workflow step what they may edit and which actions they have.
    Computed from the definitions by the module the API enforces with (no database)."""
    defs = load_definitions(definitions_dir(definitions), default_registries())
    entries = access_matrix(defs, FieldAccess(defs), role, form_id)
    if fmt == "json":
        click.echo(json.dumps(entries, indent=1, ensure_ascii=False))
        return
    for line in access_lines(defs, entries):
        click.echo(line)


def access_lines(defs, entries: list[dict]) -> list[str]:
    """The matrix as text: a block per form, a line per role, a line per step it may touch."""
    out: list[str] = []
    form = None
    for e in entries:
        if e["form"] != form:
            form = e["form"]
            out += ([""] if out else []) + [f"form {form}"]
        ops = " ".join(op if e[op] else "-" * len(op) for op in ("create", "read", "update", "delete"))
        names = defs.form(form).field_names
        hidden = [n for n in names if n not in e["fields"]["read"]] if e["read"] else []
        line = f"  {e['role']:<16} {ops}"
        if hidden:
            line += f"  hidden: {', '.join(hidden)}"
        if e["update"] and not e["steps"]:
            fixed = [n for n in e["fields"]["read"] if n not in e["fields"]["edit"]]
            line += f"  read-only: {', '.join(fixed)}" if fixed else ""
        if e["rows"] and e["read"]:
            line += f"  rows: {e['rows']}"
        out.append(line)
        for step, s in e["steps"].items():
            if not s["edit"] and not s["actions"] and not s["delete"]:
                continue
            every = s["edit"] and set(s["edit"]) >= set(e["fields"]["edit"])
            edit = "every field it may edit" if every else (", ".join(s["edit"]) or "nothing")
            acts = ", ".join(s["actions"]) or "none"
            out.append(f"    {step:<18} edit: {edit}; actions: {acts}"
                       + ("; may delete" if s["delete"] else ""))
    return out


@main.command()
@click.argument("directory")
def schema(directory: str) -> None:
    """Write the JSON Schemas of the five kinds to DIRECTORY (for editors)."""
    os.makedirs(directory, exist_ok=True)
    for path in write_schemas(directory):
        click.echo(path)


@main.command()
@engine_options
@click.option("--once", is_flag=True, help="Run one pass (schedules, SLA, outbox) and exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes when idle.")
def worker(target: Target, once: bool, interval: float) -> None:
    """Scheduled alerts, SLA escalation and outbox delivery (stops cleanly on SIGTERM)."""
    from .alerts.worker import Worker  # lazy for start-up, as in Target.engine

    _log_info()
    engine = target.engine()
    w = Worker(engine, interval=interval)
    w.install_signal_handlers()
    try:
        if once:
            summary = w.run_once()
            click.echo(json.dumps(_worker_summary(summary), default=str))
        else:
            w.run()
    finally:
        engine.close()


def _worker_summary(summary: dict) -> dict:
    out = dict(summary)
    out["schedules"] = [{"alert": r.alert, "tick": r.tick, "matched": r.matched, "fired": r.fired,
                         "skipped": r.skipped} for r in summary.get("schedules", [])]
    return out


# --- users, import, database (app administration) --------------------------------


def _log_info() -> None:
    """Long-running commands: warnings from everyone, INFO from Loom and waitress."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("loom", "engine", "waitress"):
        logging.getLogger(name).setLevel(logging.INFO)


def load_demo(app: AppSpec) -> ModuleType:
    """The app's demo module (app.yaml `demo`), loaded from its file; it has
    `seed(engine, clock, progress)`."""
    if app.demo is None:
        raise LoomError(f"app {app.name!r} has no demo; name its seed module in app.yaml, "
                        "like demo: demo/seed.py")
    name = f"loom_demo_{app.name}"
    module = sys.modules.get(name)
    if module is not None and getattr(module, "__file__", None) == app.demo:
        return module
    spec = importlib.util.spec_from_file_location(name, app.demo)
    if spec is None or spec.loader is None:
        raise LoomError(f"cannot load the demo {app.demo}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it, as `import` does
    spec.loader.exec_module(module)
    if not callable(getattr(module, "seed", None)):
        raise LoomError(f"the demo {app.demo} has no seed(engine, clock, progress) function")
    return module


@main.command()
@click.option("--demo", is_flag=True,
              help="Seed demo users and sample data first (the app's demo module, app.yaml `demo`).")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="LOOM_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="LOOM_PORT")
@click.option("--threads", default=8, show_default=True, type=int, help="waitress worker threads")
@click.option("--reload-interval", default=2.0, show_default=True, type=float,
              envvar="LOOM_RELOAD_INTERVAL",
              help="Seconds between looks for changed definitions (files here, or a version "
                   "published by `loom reload` elsewhere); 0 turns watching off.")
@engine_options
def serve(target: Target, demo: bool, host: str, port: int, threads: int,
          reload_interval: float) -> None:
    """Serve the web UI and JSON API with waitress (never Flask's debug server)."""
    # lazy for start-up, as in Target.engine: Flask and waitress only when serving
    from waitress import serve as waitress_serve

    from web import create_app
    from web.security import waitress_options

    _log_info()
    clock = HeldClock()  # real time; the demo holds it through its simulated year
    eng = target.engine(clock=clock)
    if demo and eng.defs.app.demo is None:
        click.echo("note: this app has no demo (app.yaml `demo`); no demo data seeded", err=True)
    elif demo:
        click.echo("seeding demo data…", err=True)
        logins = load_demo(eng.defs.app).seed(eng, clock, None)
        if logins:
            click.echo("demo logins: " + ", ".join(f"{k} / {v}" for k, v in logins.items()))
    app = create_app(eng)
    if eng.published_definitions_version() is None:
        eng.reload_definitions()  # the first process says which version everyone runs
    watcher = eng.watch_definitions(reload_interval) if reload_interval > 0 else None
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    click.echo(f"Loom is serving on http://{shown}:{port}/  (API: http://{shown}:{port}/api/openapi.json)")
    try:
        proxy = {}
        if os.environ.get("LOOM_TRUSTED_PROXY"):  # behind a load balancer: trust its X-Forwarded-*
            proxy = {"trusted_proxy": os.environ["LOOM_TRUSTED_PROXY"], "clear_untrusted_proxy_headers": True,
                     "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto",
                                               "x-forwarded-host", "x-forwarded-port"}}
        waitress_serve(app, host=host, port=port, threads=threads, ident="loom", **proxy,
                       **waitress_options(app))
    finally:
        if watcher is not None:
            watcher.stop()
        eng.close()


@main.group()
def user() -> None:
    """Manage users and API tokens."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, help="A role from app.yaml; repeat for several.")
@click.option("--manager", default=None, help="The user's manager (for manager_of approvers).")
@click.option("--email", default=None)
@click.option("--language", default=None, metavar="LANG",
              help="One of the app's languages (app.yaml `languages`, like en or zh).")
@click.option("--password", default=None, help="Generated and printed when left out.")
@click.option("--admin", "is_admin", is_flag=True, help="May do everything.")
@engine_options
def user_add(target: Target, name, roles, manager, email, language, password, is_admin) -> None:
    """Add user NAME with the given roles."""
    shown = password is None
    password = password or secrets.token_urlsafe(12)
    eng = target.engine()
    try:
        why = eng.accounts.password_problem(password, name)
        if why:
            raise ValidationFailed({"password": why}, "The password is not accepted")
        if language is not None and language not in eng.defs.app.languages:
            raise LoomError(f"language {language!r} is not one of the app's languages "
                            f"({', '.join(eng.defs.app.languages)}); see app.yaml")
        eng.add_user(name, list(roles), password=password, manager=manager, email=email,
                     language=language, is_admin=is_admin or "admin" in roles, actor=CLI_ACTOR)
    finally:
        eng.close()
    click.echo(f"added {name} ({', '.join(roles) or 'no roles'})"
               + (f"; password: {password}" if shown else ""))


@user.command("token")
@click.argument("name")
@engine_options
def user_token(target: Target, name) -> None:
    """Print a new API token for NAME (send it as Authorization: Bearer TOKEN)."""
    eng = target.engine()
    try:
        click.echo(eng.create_token(name))
    finally:
        eng.close()


@user.command("unlock")
@click.argument("name")
@engine_options
def user_unlock(target: Target, name) -> None:
    """Unlock NAME after too many failed logins (their failures so far stop counting)."""
    eng = target.engine()
    try:
        eng.accounts.unlock(name, actor=CLI_ACTOR)
    finally:
        eng.close()
    click.echo(f"unlocked {name}")


@user.command("password")
@click.argument("name")
@click.option("--password", default=None, help="Generated and printed when left out.")
@engine_options
def user_password(target: Target, name, password) -> None:
    """Set a new password for NAME: also unlocks the account and ends its sessions."""
    shown = password is None
    password = password or secrets.token_urlsafe(12)
    eng = target.engine()
    try:
        eng.accounts.set_password(name, password, actor=CLI_ACTOR)
    finally:
        eng.close()
    click.echo(f"new password for {name}" + (f": {password}" if shown else " set"))


@user.command("reset-2fa")
@click.argument("name")
@engine_options
def user_reset_2fa(target: Target, name) -> None:
    """Turn NAME's two-factor login off (a lost phone); they enrol again at /account/2fa."""
    eng = target.engine()
    try:
        eng.accounts.disable_two_factor(name, actor=CLI_ACTOR)
    finally:
        eng.close()
    click.echo(f"two-factor login is off for {name}")


@user.command("status")
@click.argument("name")
@engine_options
def user_status(target: Target, name) -> None:
    """Whether NAME is locked, has two-factor login, and how many sessions are live."""
    eng = target.engine()
    try:
        st = eng.accounts.status(name)
    finally:
        eng.close()
    click.echo(f"{name}: " + (f"locked until {st.locked_until:%Y-%m-%d %H:%M} UTC" if st.locked_until
                              else "not locked")
               + f"; two-factor {'on' if st.two_factor else 'off'}; {st.sessions} session(s)")


@main.command("reload")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@engine_options
def reload_command(target: Target, fmt: str) -> None:
    """Check the definitions and, if clean, make every `loom serve` and `loom worker` on this
    database switch to them without a restart; if not, they keep what they run."""
    from . import reloading  # lazy: see Target.engine

    root = target.definitions
    defs, problems = check_tree(root, default_registries())
    errors = [p for p in problems if p.severity == "error"]
    db = Database(target.database)
    try:
        from .store.migrate import upgrade  # lazy: alembic only when needed

        upgrade(db)
        running = reloading.published_version(db)
        version = reloading.tree_version(root)
        if errors:
            result = reloading.ReloadResult("refused", running or "none", problems=tuple(problems))
        elif version == running:
            result = reloading.ReloadResult("unchanged", version, problems=tuple(problems))
        else:
            reloading.publish(db, version, f"loom reload@{reloading.process_name()}",
                              Clock().now())
            result = reloading.ReloadResult("reloaded", version, problems=tuple(problems))
    finally:
        db.dispose()
    if fmt == "json":
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        for p in problems:
            click.echo(str(p))
        click.echo(result.message + ("; running processes switch on their next look "
                                     "(--reload-interval)" if result.status == "reloaded" else ""),
                   err=True)
    sys.exit(1 if errors else 0)


@main.command("test")
@click.argument("path", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("-k", "match", default=None, metavar="TEXT",
              help="Only the scenarios whose id contains TEXT.")
def test_command(path: str | None, fmt: str, match: str | None) -> None:
    """Run the scenario tests under PATH (a definitions tree, its tests/ folder or one file)
    on throw-away in-memory databases; exit 1 if any fails."""
    from .scenarios import run_path  # lazy: it loads the facade (see Target.engine)

    def progress(outcome) -> None:
        if fmt == "text" and sys.stderr.isatty():
            click.echo("." if outcome.status == "passed" else outcome.status[0].upper(),
                       err=True, nl=False)

    run = run_path(path or definitions_dir(None), default_registries(), match, progress)
    if fmt == "text" and sys.stderr.isatty() and run.outcomes:
        click.echo("", err=True)
    click.echo(run.json() if fmt == "json" else run.text())
    sys.exit(run.exit_code)


class ProgressBar:
    """`loom import`'s progress on a terminal: `[#####.....]  52%  52,000/100,000 rows written
    9,800 rows/s  ETA 5s`, redrawn in place at most ten times a second."""

    WIDTH = 30

    def __init__(self, verb: str, after: ProgressBar | None = None):
        self.verb, self.clock = verb, time.monotonic
        self.start = self.shown = self.clock()
        self.after = after  # the bar of the phase before: the rate counts from its end
        self.begun = after is None

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if not self.begun:
            self.begun = True
            self.start = self.shown = self.after.shown
        if done < total and now - self.shown < 0.1:
            return
        self.shown = now
        part = done / total if total else 1.0
        filled = int(self.WIDTH * part)
        rate = done / (now - self.start) if now > self.start else 0.0
        eta = f"  ETA {(total - done) / rate:.0f}s" if rate and done < total else ""
        click.echo(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {part:4.0%}  "
                   f"{done:,}/{total:,} rows {self.verb}  {rate:,.0f} rows/s{eta}   ",
                   err=True, nl=done == total)


@main.command("import")
@click.argument("form")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check every row and report; change nothing.")
@click.option("--user", "username", default=None, envvar="LOOM_USER",
              help="Import as this user (default: an administrator).")
@engine_options
def import_cmd(target: Target, form, file, dry_run, username) -> None:
    """Import FILE (CSV or XLSX) into FORM, or FORM.lines; all rows or none."""
    eng = target.engine()
    try:
        if username:
            actor = eng.user(username)
        else:  # the first administrator, so defaults like `user.name` name a real user
            actor = next((u for u in eng.users.all() if u.is_admin), SYSTEM)
        checking = writing = None
        if sys.stderr.isatty():  # a bar while the rows are checked, another while written
            checking = ProgressBar("checked")
            writing = checking if dry_run else ProgressBar("written", after=checking)
        result = eng.import_file(actor, form, file, dry_run=dry_run, progress=writing,
                                 check_progress=None if dry_run else checking)
    finally:
        eng.close()
    for e in result.errors:
        click.echo(str(e))
    if result.errors:
        click.echo(f"{len(result.errors)} problem(s) in {result.rows} row(s); nothing imported",
                   err=True)
        sys.exit(1)
    if dry_run:
        click.echo(f"ok: {result.rows} row(s) would import (dry run, nothing changed)", err=True)
    else:
        click.echo(f"imported {result.rows} row(s): {len(result.created)} record(s) created"
                   + (f", {len(result.updated)} updated" if result.updated else ""), err=True)


@main.command("template")
@click.argument("form")
@click.argument("file", type=click.Path(dir_okay=False))
@engine_options
def template_cmd(target: Target, form, file) -> None:
    """Write an empty import template for FORM (or FORM.lines) to FILE (.csv or .xlsx)."""
    fmt = "xlsx" if file.lower().endswith(".xlsx") else "csv"
    eng = target.engine()
    try:
        data = eng.template(form, fmt)
    finally:
        eng.close()
    with open(file, "wb") as fh:
        fh.write(data)
    click.echo(file)


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@engine_options(definitions=False)  # the schema is one for every app
def db_upgrade(target: Target) -> None:
    """Apply the schema migrations to the database (--database or $LOOM_DATABASE_URL)."""
    from .store.migrate import upgrade  # alembic: lazy for start-up, as in Target.engine

    database = Database(target.database)
    try:
        upgrade(database)
    finally:
        database.dispose()
    click.echo(f"database at {database.url.render_as_string(hide_password=True)} is up to date")


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@engine_options(definitions=False)
def db_backup(target: Target, file: str) -> None:
    """Write a consistent copy of the database to FILE, also while it serves."""
    database = Database(target.database)
    try:
        info = backups.backup(database, file)
    finally:
        database.dispose()
    files = backups.backup_blobs(open_blobs(os.environ.get("LOOM_BLOBS"), target.database), file)
    click.echo(f"backed up {info.records} record(s) to {file} (schema revision {info.revision})"
               f" and {files} file(s) to {backups.blobs_path(file)}")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace what the target database already holds.")
@engine_options(definitions=False)
def db_restore(target: Target, file: str, force: bool) -> None:
    """Restore FILE (made by `loom db backup`) into an empty database; checks it before and after."""
    database = Database(target.database)
    try:
        info = backups.restore(database, file, force=force)
    finally:
        database.dispose()
    files = backups.restore_blobs(open_blobs(os.environ.get("LOOM_BLOBS"), target.database), file)
    click.echo(f"restored {info.records} record(s) from {file} (made {info.created_at}, "
               f"schema revision {info.revision}); every table checked; {files} file(s) restored")


@db.command("migrate-records")
@click.option("--dry-run", is_flag=True, help="Count the records each item would touch; change nothing.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@engine_options
def db_migrate_records(target: Target, dry_run: bool, fmt: str) -> None:
    """Apply the definitions' `migrate:` sections to stored records (moves out of removed steps,
    renamed fields, fills), one transaction per batch, with a history entry per record."""
    eng = target.engine()
    show = fmt == "text" and sys.stderr.isatty()
    try:
        items = eng.migrate_records(dry_run=dry_run, progress=(
            lambda item: click.echo(f"{item.text}: {item.done}/{item.records}", err=True))
            if show else None)
    finally:
        eng.close()
    if fmt == "json":
        click.echo(json.dumps({"dry_run": dry_run, "items": [i.as_json() for i in items]}, indent=2))
    elif not items:
        click.echo("no definition has a migrate: section", err=True)
    for item in items if fmt == "text" else ():
        where = f"{item.source.file}:{item.source.line}: " if item.source else ""
        did = f"would touch {item.records}" if dry_run else f"{item.done} of {item.records} done"
        click.echo(f"{where}{item.text}: {did} record(s)")
        for rid, message in item.failed:
            click.echo(f"  record {rid} left as it was: {message}")
    sys.exit(1 if any(i.failed for i in items) else 0)


@main.command("diff")
@click.argument("old")
@click.argument("new", required=False)
@click.option("--database", default=None, metavar="URL",
              help="Also count the live records each change touches in this database.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def diff_command(old: str, new: str | None, database: str | None, fmt: str) -> None:
    """What changed from OLD (a definitions folder or a git revision) to NEW (default:
    $LOOM_DEFINITIONS or ./definitions), per form, workflow, alert and report."""
    import tempfile

    from .definitions.diff import diff_definitions

    new = definitions_dir(new)
    with tempfile.TemporaryDirectory(prefix="loom-diff-") as tmp:
        old_root = old if os.path.isdir(old) else _git_tree(old, new, tmp)
        before, after = (_loaded(root) for root in (old_root, new))
    differences = diff_definitions(before, after)
    counts: list = [None] * len(differences)
    if database:
        from .engine import Engine  # lazy for start-up, as in Target.engine

        eng = Engine(new, database, definitions=after, migrate=False)
        try:
            counts = eng.affected_records(before, after, differences)
        finally:
            eng.close()
    if fmt == "json":
        click.echo(json.dumps({"old": old, "new": new, "changes": [
            {**d.as_json(), "records": n} for d, n in zip(differences, counts)]}, indent=2))
        return
    if not differences:
        click.echo(f"no changes from {old} to {new}", err=True)
    current = None
    for d, n in zip(differences, counts):
        if (d.kind, d.id) != current:
            current = (d.kind, d.id)
            click.echo(f"{d.kind} {d.id}:")
        click.echo(f"  {d.text}" + (f"  ({n} live record(s))" if n is not None else ""))


def _loaded(root: str):
    defs, problems = check_tree(root, default_registries())
    if defs is None:
        raise LoomError(f"{root}: no definitions could be loaded")
    return defs


def _git_tree(rev: str, like: str, into: str) -> str:
    """The definitions folder `like` as it was at git revision `rev`, extracted under `into`."""
    import io
    import subprocess
    import tarfile

    here = os.path.abspath(like)
    try:
        top = subprocess.run(["git", "-C", here, "rev-parse", "--show-toplevel"], check=True,
                             capture_output=True, text=True).stdout.strip()
        prefix = os.path.relpath(here, top)
        blob = subprocess.run(["git", "-C", top, "archive", "--format=tar", rev, "--", prefix],
                              check=True, capture_output=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        why = exc.stderr.strip() if isinstance(getattr(exc, "stderr", None), str) else \
            (exc.stderr or b"").decode(errors="replace").strip() if hasattr(exc, "stderr") else str(exc)
        raise LoomError(f"{rev!r} is neither a folder nor a git revision of {like}: {why}") from None
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return os.path.join(into, prefix)


@main.command("archive")
@click.option("--dry-run", is_flag=True, help="Count what would be archived; move nothing.")
@engine_options
def archive_cmd(target: Target, dry_run: bool) -> None:
    """Apply the forms' `archive:` rules: move finished old records to the archive tables."""
    eng = target.engine()
    try:
        result = eng.archive(dry_run=dry_run)
    finally:
        eng.close()
    if not result.forms:
        click.echo("no form has an archive rule", err=True)
        return
    verb = "would archive" if dry_run else "archived"
    for form, n in result.forms.items():
        click.echo(f"{form}: {verb} {n} record(s)")
    click.echo(f"{verb} {result.total} record(s)" + (" (dry run, nothing changed)" if dry_run
                                                       else f" in {result.batches} batch(es)"),
               err=True)


@main.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("--output", "-o", default="-", help="File to write (default: standard output).")
@click.option("--param", "-p", "params", multiple=True, metavar="NAME=VALUE",
              help="A report parameter; repeat for several.")
@click.option("--user", "username", default=None, help="Run as this user (default: system).")
@click.option("--values", "option_values", is_flag=True,
              help="Write choice fields' option values instead of their labels.")
@engine_options
def export(target: Target, name: str, fmt: str, output: str, params: tuple[str, ...],
           username: str | None, option_values: bool) -> None:
    """Export a REPORT, or the records of a FORM (FORM.table for line items), as CSV or XLSX.

    A form's CSV written to a file brings its line items along in FILE.TABLE.csv beside it
    (what `loom import FORM FILE` reads back); XLSX puts them on their own sheets."""
    values = {}
    for p in params:
        key, sep, value = p.partition("=")
        if not sep:
            raise click.BadParameter(f"{p!r} is not NAME=VALUE", param_hint="--param")
        values[key.strip()] = value
    engine = target.engine()
    try:
        user = engine.user(username) if username else SYSTEM
        is_report = name in engine.defs.reports
        if not is_report and values:
            raise LoomError("--param applies to reports; a form export takes none")
        out = sys.stdout.buffer if output == "-" else open(output, "wb")
        try:
            if is_report:
                n = engine.export_report(user, name, fmt, out, values)
            else:
                n = engine.export(user, name, fmt, out, labels=not option_values)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        if not is_report and fmt == "csv" and output != "-" and "." not in name:
            stem, ext = os.path.splitext(output)
            for table in engine.defs.form(name).tables:
                with open(f"{stem}.{table.name}{ext or '.csv'}", "wb") as fh:
                    engine.export(user, f"{name}.{table.name}", fmt, fh,
                                  labels=not option_values)
        click.echo(f"{n} row(s) exported", err=True)
    finally:
        engine.close()


if __name__ == "__main__":  # pragma: no cover
    main()
