"""`loom db backup FILE` / `loom db restore FILE`: a consistent copy of the whole
database taken while it serves, and a restore that proves what it restored.

SQLite: the online backup API copies every page in one step under a read
snapshot (WAL lets writers go on meanwhile). The copy is a plain SQLite file
an admin can open; it is marked as a Loom backup by `PRAGMA application_id`
and a `loom_backup` table holding the schema revision and the row count of
every table, counted on the copy itself.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot; the row counts
are taken in it and `pg_dump --snapshot` dumps exactly that state (one schema,
`-n`, custom format). The file is a one-line JSON header after a magic line,
then the dump; the header's sha256 covers the dump. Restore turns the dump
back into SQL with `pg_restore`, renames the dumped schema to the target's
(outside COPY data, which is never touched) and runs it with
`psql --single-transaction` into an empty schema.

Both restores check before writing (the file is a Loom backup, whole, of a
schema revision this Loom knows) and after (integrity, and every table holds
the rows the header counted).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from ..errors import LoomError
from .database import Database
from .migrate import alembic_config

MAGIC = b"LOOM-BACKUP 1\n"
APPLICATION_ID = 0x4C4F4F4D  # "LOOM" in the SQLite header: the file is a Loom backup
MARKER = "loom_backup"
FORMAT = 1
_SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(LoomError):
    """A backup could not be made, or a file cannot be restored (the message says why)."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup file says about itself."""

    dialect: str
    revision: str
    created_at: str
    counts: dict = field(default_factory=dict)
    schema: str | None = None

    @property
    def records(self) -> int:
        return self.counts.get("records", 0)


# --- entry points -------------------------------------------------------------


def backup(database: Database, path: str) -> BackupInfo:
    """Write a consistent copy of `database` to `path` (replaced only when complete)."""
    if database.is_sqlite:
        return _sqlite_backup(database, path)
    if database.dialect == "postgresql":
        return _pg_backup(database, path)
    raise BackupError(f"backups of {database.dialect} databases are not supported")


def restore(database: Database, path: str, *, force: bool = False) -> BackupInfo:
    """Restore the backup at `path` into `database`, which must be empty unless `force`."""
    info = inspect(path)
    if info.dialect != database.dialect:
        raise BackupError(f"{path} is a backup of a {info.dialect} database; restore it into "
                          f"a {info.dialect} database, not {database.dialect}")
    if database.is_sqlite:
        return _sqlite_restore(database, path, info, force)
    return _pg_restore(database, path, info, force)


def inspect(path: str) -> BackupInfo:
    """Check that `path` is a whole Loom backup of a known schema revision; say what it holds."""
    if not os.path.isfile(path):
        raise BackupError(f"{path}: no such backup file")
    with open(path, "rb") as fh:
        head = fh.read(len(_SQLITE_HEADER))
    if head == _SQLITE_HEADER:
        return _sqlite_inspect(path)
    if head.startswith(MAGIC[:len(head)]) and head:
        return _pg_header(path)[0]
    raise BackupError(f"{path} is not a Loom backup (make one with `loom db backup FILE`)")


# --- shared -------------------------------------------------------------------


def _now() -> str:
    return datetime.now(timezone.utc).replace(tzinfo=None).isoformat(timespec="seconds")


def _check_revision(path: str, revision: str | None) -> None:
    if not revision:
        raise BackupError(f"{path} records no schema revision; it is not a whole Loom backup")
    try:
        known = ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"{path} has schema revision {revision!r}, which this version of Loom "
                          "does not know; restore it with the Loom version that made it "
                          "(or a newer one)")


def _compare_counts(where: str, expected: dict, actual: dict) -> None:
    wrong = [f"{name}: {actual.get(name)} row(s), the backup has {n}"
             for name, n in sorted(expected.items()) if actual.get(name) != n]
    wrong += [f"{name}: not in the backup" for name in sorted(set(actual) - set(expected))]
    if wrong:
        raise BackupError(f"the restored database at {where} does not match the backup: "
                          + "; ".join(wrong))


# --- SQLite -------------------------------------------------------------------


def _sqlite_path(database: Database) -> str:
    name = database.url.database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored; "
                          "use a file (sqlite:///loom.db)")
    return name


def _sqlite_counts(conn: sqlite3.Connection) -> dict:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != ? ORDER BY name", (MARKER,))]
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    return row[0] if row else None


def _sqlite_backup(database: Database, path: str) -> BackupInfo:
    source = _sqlite_path(database)
    if not os.path.isfile(source):
        raise BackupError(f"there is no database at {source}")
    part = f"{path}.part"
    if os.path.exists(part):
        os.remove(part)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(part)
    try:
        src.backup(dst)  # every page in one step: one snapshot, writers go on meanwhile
        revision = _revision(dst)
        if revision is None:
            raise BackupError(f"{source} is not a Loom database (no schema revision); "
                              "run `loom db upgrade` first")
        counts = _sqlite_counts(dst)
        info = BackupInfo("sqlite", revision, _now(), counts)
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one self-contained file
        dst.execute(f"PRAGMA application_id={APPLICATION_ID}")
        dst.execute(f'CREATE TABLE "{MARKER}" (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
        dst.executemany(f'INSERT INTO "{MARKER}" VALUES (?, ?)', [
            ("format", str(FORMAT)), ("dialect", "sqlite"), ("revision", revision),
            ("created_at", info.created_at), ("counts", json.dumps(counts, sort_keys=True))])
        dst.commit()
    except BaseException:
        dst.close()
        os.remove(part)
        raise
    finally:
        src.close()
    dst.close()
    os.replace(part, path)
    return info


def _sqlite_inspect(path: str) -> BackupInfo:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise BackupError(f"{path} cannot be opened: {exc}") from None
    try:
        return _sqlite_check(conn, path)
    finally:
        conn.close()


def _sqlite_check(conn: sqlite3.Connection, path: str) -> BackupInfo:
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        marker = dict(conn.execute(f'SELECT key, value FROM "{MARKER}"')) \
            if app_id == APPLICATION_ID else None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is damaged: {exc}") from None
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged: " + "; ".join(problems[:5]))
    if not marker:
        raise BackupError(f"{path} is a SQLite file but not a Loom backup "
                          "(make one with `loom db backup FILE`)")
    info = BackupInfo("sqlite", marker.get("revision", ""), marker.get("created_at", ""),
                      json.loads(marker.get("counts", "{}")))
    _check_revision(path, info.revision)
    if _revision(conn) != info.revision:
        raise BackupError(f"{path} is inconsistent: its schema revision is {_revision(conn)!r}, "
                          f"its backup marker says {info.revision!r}")
    _compare_counts(path, info.counts, _sqlite_counts(conn))
    return info


def _sqlite_restore(database: Database, path: str, info: BackupInfo, force: bool) -> BackupInfo:
    target = _sqlite_path(database)
    database.dispose()  # our own pooled connections must not hold the file
    dst = sqlite3.connect(target, timeout=30)
    try:
        tables = _sqlite_counts(dst)
        if tables and not force:
            raise BackupError(f"{target} already holds a database ({len(tables)} tables); "
                              "restore into a new file, or pass --force to replace it")
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            src.backup(dst)  # replaces the target's pages under SQLite's own locks
        finally:
            src.close()
        dst.execute(f'DROP TABLE "{MARKER}"')
        dst.execute("PRAGMA application_id=0")
        dst.commit()
        dst.execute("PRAGMA journal_mode=WAL")
        problems = [r[0] for r in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"the restored database at {target} is damaged: "
                              + "; ".join(problems[:5]))
        _compare_counts(target, info.counts, _sqlite_counts(dst))
    finally:
        dst.close()
    return info


# --- PostgreSQL ---------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools "
                          "(Debian: apt-get install postgresql-client)")
    return found


def _pg_env(database: Database) -> dict:
    """libpq's environment for the database's URL (the password never on a command line)."""
    url = database.url
    env = dict(os.environ)
    for var, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database),
                       ("PGSSLMODE", url.query.get("sslmode"))):
        if value is not None:
            env[var] = str(value)
    return env


def _pg_schema(conn) -> str:
    return conn.exec_driver_sql("SELECT current_schema()").scalar_one()


def _pg_counts(conn, schema: str) -> dict:
    names = conn.execute(sa.text(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = :s "
        "AND table_type = 'BASE TABLE' ORDER BY table_name"), {"s": schema}).scalars().all()
    return {n: conn.exec_driver_sql(f'SELECT count(*) FROM "{schema}"."{n}"').scalar_one()
            for n in names}


def _pg_backup(database: Database, path: str) -> BackupInfo:
    pg_dump = _tool("pg_dump")
    part = f"{path}.part"
    fd, dump = tempfile.mkstemp(prefix="loom-dump-", dir=os.path.dirname(os.path.abspath(path)))
    os.close(fd)
    try:
        with database.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # the counts and the dump see one snapshot: exported here, handed to pg_dump
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                schema = _pg_schema(conn)
                counts = _pg_counts(conn, schema)
                if "alembic_version" not in counts:
                    raise BackupError(f"schema {schema} holds no Loom database (no schema "
                                      "revision); run `loom db upgrade` first")
                revision = conn.exec_driver_sql(
                    f'SELECT version_num FROM "{schema}".alembic_version').scalar_one()
                done = subprocess.run(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--schema={schema}",
                     "--no-owner", "--no-privileges", "--no-comments", f"--file={dump}"],
                    env=_pg_env(database), capture_output=True, text=True)
                if done.returncode != 0:
                    raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        info = BackupInfo("postgresql", revision, _now(), counts, schema)
        digest = hashlib.sha256()
        with open(dump, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        header = {"format": FORMAT, "dialect": "postgresql", "schema": schema,
                  "revision": revision, "created_at": info.created_at, "counts": counts,
                  "sha256": digest.hexdigest()}
        with open(part, "wb") as out, open(dump, "rb") as fh:
            out.write(MAGIC)
            out.write(json.dumps(header, sort_keys=True).encode() + b"\n")
            shutil.copyfileobj(fh, out)
        os.replace(part, path)
        return info
    finally:
        for leftover in (dump, part):
            if os.path.exists(leftover):
                os.remove(leftover)


def _pg_header(path: str) -> tuple[BackupInfo, int, str]:
    """The header, the offset of the dump in the file, and its checksum (checked)."""
    with open(path, "rb") as fh:
        if fh.read(len(MAGIC)) != MAGIC:
            raise BackupError(f"{path} is not a Loom backup (make one with `loom db backup FILE`)")
        try:
            header = json.loads(fh.readline(1 << 20))
        except ValueError:
            raise BackupError(f"{path} is damaged: its header is not readable") from None
        offset = fh.tell()
        digest = hashlib.sha256()
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if header.get("format") != FORMAT or header.get("dialect") != "postgresql":
        raise BackupError(f"{path} is a backup format this Loom cannot read "
                          f"(format {header.get('format')!r})")
    if digest.hexdigest() != header.get("sha256"):
        raise BackupError(f"{path} is damaged: its contents do not match its checksum "
                          "(truncated or changed after it was written)")
    _check_revision(path, header.get("revision"))
    info = BackupInfo("postgresql", header["revision"], header.get("created_at", ""),
                      header.get("counts") or {}, header.get("schema"))
    return info, offset, header["sha256"]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rename_schema(sql_lines, source: str, target: str):
    """pg_restore's SQL with every `source.` qualifier made `target.`; COPY data untouched."""
    forms = [re.escape(_ident(source))]
    if re.fullmatch(r"[a-z_][a-z0-9_$]*", source):
        forms.append(re.escape(source))
    qualified = re.compile(r"(?<![\w$\"])(?:" + "|".join(forms) + r")\.")
    create = re.compile(r"^CREATE SCHEMA (?:" + "|".join(forms) + r");\s*$")
    new = _ident(target) + "."
    in_copy = False
    for line in sql_lines:
        if in_copy:
            if line.rstrip("\r\n") == "\\.":
                in_copy = False
            yield line
            continue
        if create.match(line):
            continue  # the target schema exists already
        if line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;"):
            in_copy = True
        yield qualified.sub(lambda _m: new, line)


def _pg_restore(database: Database, path: str, info: BackupInfo, force: bool) -> BackupInfo:
    offset = _pg_header(path)[1]
    pg_restore, psql = _tool("pg_restore"), _tool("psql")
    with database.engine.connect() as conn:
        with conn.begin():
            target = _pg_schema(conn)
            tables = _pg_counts(conn, target)
            if tables and not force:
                raise BackupError(f"schema {target} already holds {len(tables)} tables; restore "
                                  "into an empty database or schema, or pass --force to replace it")
            for name in tables:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_ident(target)}.{_ident(name)} CASCADE")
    env = _pg_env(database)
    fd, dump = tempfile.mkstemp(prefix="loom-restore-", dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as fh:
            fh.seek(offset)
            shutil.copyfileobj(fh, out)
        to_sql = subprocess.Popen([pg_restore, "--no-owner", "--no-privileges", "--file=-", dump],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        run = subprocess.Popen([psql, "--quiet", "--no-psqlrc", "--single-transaction",
                                "--set=ON_ERROR_STOP=1", "--file=-"],
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        try:
            for line in rename_schema(to_sql.stdout, info.schema or target, target):
                run.stdin.write(line)
        except BrokenPipeError:
            pass  # psql stopped on an error: reported below
        finally:
            run.stdin.close()
        restore_err = to_sql.stderr.read()
        if to_sql.wait() != 0:
            run.wait()
            raise BackupError(f"pg_restore failed: {restore_err.strip()}")
        psql_err = run.stderr.read()
        if run.wait() != 0:
            raise BackupError(f"restoring into schema {target} failed (nothing was written): "
                              f"{psql_err.strip()}")
    finally:
        os.remove(dump)
    with database.engine.connect() as conn:
        with conn.begin():
            _compare_counts(f"schema {target}", info.counts, _pg_counts(conn, target))
            revision = conn.exec_driver_sql(
                f"SELECT version_num FROM {_ident(target)}.alembic_version").scalar_one()
    if revision != info.revision:
        raise BackupError(f"the restored schema {target} has revision {revision!r}, "
                          f"the backup {info.revision!r}")
    return info


# --- file contents (uxpages) --------------------------------------------------------
#
# File fields keep their bytes in the blob store (store/blobs.py), outside the database.
# A backup writes them beside the database copy, as `FILE.blobs.tar` (one member per
# blob, named by its SHA-256), after the database snapshot: blobs are only ever added,
# so every file a record of the snapshot refers to is in the archive. Restore puts each
# member back after checking its bytes hash to its name.


def blobs_path(path: str) -> str:
    return path + ".blobs.tar"


def backup_blobs(store, path: str) -> int:
    """Every blob of `store` into the tar beside backup `path`; how many."""
    target = blobs_path(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(target)), prefix=".blobs-")
    os.close(fd)
    count = 0
    try:
        with tarfile.open(tmp, "w") as tar:
            for sha in store.hashes():
                data = store.get(sha)
                member = tarfile.TarInfo(sha)
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
                count += 1
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return count


def restore_blobs(store, path: str) -> int:
    """The blobs saved beside backup `path` back into `store` (none when the backup has none)."""
    source = blobs_path(path)
    if not os.path.isfile(source):
        return 0
    count = 0
    with tarfile.open(source, "r") as tar:
        for member in tar:
            if not member.isfile():
                continue
            data = tar.extractfile(member).read()
            if hashlib.sha256(data).hexdigest() != member.name:
                raise BackupError(f"{source}: the file {member.name} is damaged (its bytes do not "
                                  "match its hash); nothing more was restored from it")
            store.put(data)
            count += 1
    return count
