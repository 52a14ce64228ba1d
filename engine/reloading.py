"""Changed definitions without a restart: check, swap when clean, and converge every process.

`loom reload`, the admin page's button and a watching `loom serve` call
`reload`: it checks the whole tree; when it is clean the new runtime replaces
the old in one assignment (a request in flight finishes on the snapshot it
started with) and the tree's version is written to `definitions_state`; when
it is not, the running definitions stay and the problems say why. Every other
process — web processes on other hosts, workers — calls `converge` on a timer:
once the database asks for a version its own files have, it loads them; until
then it keeps what it runs and says it is waiting.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass

import sqlalchemy as sa

from .definitions.catalog import check_tree, tree_version
from .errors import Problem
from .store import tables as t
from .store.upsert import insert_for

log = logging.getLogger("loom.reload")

CURRENT = "current"


@dataclass(frozen=True)
class ReloadResult:
    status: str  # reloaded | unchanged | refused | waiting
    version: str  # the version this process runs now
    wanted: str | None = None  # the version the database asks for (converge)
    problems: tuple[Problem, ...] = ()

    @property
    def message(self) -> str:
        if self.status == "reloaded":
            return f"definitions reloaded: now running version {self.version}"
        if self.status == "unchanged":
            return f"definitions unchanged: running version {self.version}"
        if self.status == "waiting":
            return (f"the database asks for definitions version {self.wanted}, but the files here "
                    f"are different; still running {self.version}")
        errors = [p for p in self.problems if p.severity == "error"]
        return (f"definitions not reloaded: {len(errors)} error(s); still running version "
                f"{self.version}")

    def as_json(self) -> dict:
        return {"status": self.status, "version": self.version, "wanted": self.wanted,
                "message": self.message, "problems": [p.as_json() for p in self.problems]}


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def published_version(db) -> str | None:
    """The definitions version every process should run, or None before the first publish."""
    with db.read() as conn:
        return conn.execute(sa.select(t.definitions_state.c.version)
                            .where(t.definitions_state.c.name == CURRENT)).scalar()


def publish(db, version: str, who: str, now) -> None:
    # one statement: two processes (or a watcher and an admin's button) publishing at once
    # must not both find no row and both insert it
    ins = insert_for(db.dialect, t.definitions_state).values(
        name=CURRENT, version=version, loaded_at=now, loaded_by=who)
    with db.write() as conn:
        conn.execute(ins.on_conflict_do_update(
            index_elements=["name"], set_={"version": version, "loaded_at": now, "loaded_by": who}))


def reload(engine, actor: str | None = None, *, publish_version: bool = True) -> ReloadResult:
    """Check the engine's definitions folder; swap the new definitions in only if clean."""
    root = engine.definitions_dir
    if not root:
        return ReloadResult("unchanged", engine.definitions_version)
    with engine._lock:
        version = tree_version(root)
        if version == engine.definitions_version:
            result = ReloadResult("unchanged", version)
        else:
            defs, problems = check_tree(root, engine.registries)
            if defs is None or any(p.severity == "error" for p in problems):
                log.warning("definitions in %s not reloaded: %s", root,
                            "; ".join(str(p) for p in problems if p.severity == "error"))
                return ReloadResult("refused", engine.definitions_version, problems=tuple(problems))
            engine._install(defs)
            engine.definitions_version = version
            log.info("definitions reloaded from %s: version %s", root, version)
            result = ReloadResult("reloaded", version, problems=tuple(problems))
    if publish_version and published_version(engine.db) != version:
        publish(engine.db, version, actor or process_name(), engine.clock.now())
    return result


def converge(engine) -> ReloadResult:
    """Run the version the database asks for, when this process's files hold it."""
    wanted = published_version(engine.db)
    running = engine.definitions_version
    if wanted is None or wanted == running or not engine.definitions_dir:
        return ReloadResult("unchanged", running, wanted)
    if tree_version(engine.definitions_dir) != wanted:
        return ReloadResult("waiting", running, wanted)
    result = reload(engine, publish_version=False)
    return ReloadResult(result.status, result.version, wanted, result.problems)


class Watcher:
    """A daemon thread: reload when this host's files change, converge with the database."""

    def __init__(self, engine, interval: float = 2.0):
        self.engine, self.interval = engine, interval
        self._stop = threading.Event()
        self._refused: str | None = None  # a broken tree is reported once, not every tick
        self._waiting: str | None = None
        self.thread = threading.Thread(target=self._run, name="loom-reload", daemon=True)

    def start(self) -> "Watcher":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(timeout=self.interval + 5)

    def tick(self) -> ReloadResult:
        """One look: files first (they changed here), then the database (they changed elsewhere)."""
        files = tree_version(self.engine.definitions_dir)
        if files != self.engine.definitions_version and files != self._refused:
            result = reload(self.engine, "watch@" + process_name())
            self._refused = files if result.status == "refused" else None
            if result.status != "refused":
                return result
        result = converge(self.engine)
        if result.status == "waiting" and result.wanted != self._waiting:
            log.warning(result.message)
        self._waiting = result.wanted if result.status == "waiting" else None
        return result

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a failed look is logged; serving goes on
                log.exception("checking for changed definitions failed")
