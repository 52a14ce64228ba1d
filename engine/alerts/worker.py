"""`loom worker`: scheduled alerts, SLA escalation and outbox delivery in one process.

Several workers may run against one PostgreSQL database: schedule ticks are
claimed through `leases`, outbox rows through row leases with SKIP LOCKED.
SIGTERM (or SIGINT) sets a flag; the worker finishes the delivery in flight,
gives back the outbox rows it leased but did not try, frees a schedule lease
between batches, and exits.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from datetime import timedelta

from . import traces

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(hours=1)
ARCHIVE_EVERY = timedelta(minutes=10)


class Worker:
    def __init__(self, engine, *, interval: float = 5.0, batch: int = 50, name: str | None = None):
        self.engine = engine
        self.interval = interval
        self.batch = batch
        self.owner = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._last_prune = None
        self._last_archive = None

    # --- lifecycle ---------------------------------------------------------

    def stop(self, *_args) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self) -> None:
        """Poll until stopped."""
        log.info("loom worker %s started", self.owner)
        while not self.stopping:
            try:
                summary = self.run_once()
            except Exception:  # noqa: BLE001 - a bad pass is logged; the worker keeps going
                log.exception("worker pass failed")
                summary = {}
            busy = summary.get("outbox", {}).get("sent", 0) + summary.get("outbox", {}).get("failed", 0)
            if not busy:
                self._stop.wait(self.interval)
        log.info("loom worker %s stopped", self.owner)

    # --- one pass ----------------------------------------------------------

    def run_once(self) -> dict:
        """Schedules, SLA escalations, outbox delivery, trace pruning: one pass of each."""
        eng = self.engine
        out: dict = {}
        stop = lambda: self.stopping  # noqa: E731
        try:  # definitions published by `loom reload` or a web process: follow them
            out["definitions"] = eng.converge_definitions().status
        except Exception:  # noqa: BLE001 - a failed look is logged; the pass goes on
            log.exception("converging on the published definitions failed")
        out["schedules"] = eng.run_schedules(self.owner, stop=stop)
        if not self.stopping:
            try:
                out["sla"] = eng.run_sla()
            except Exception:  # noqa: BLE001
                log.exception("SLA escalation failed")
        if not self.stopping:
            out["outbox"] = self.deliver(stop)
        if not self.stopping:
            out["pruned"] = self.prune()
        if not self.stopping:
            out["archived"] = self.archive(stop)
        return out

    def archive(self, stop=None) -> int:
        """The forms' archive rules, at most once per ARCHIVE_EVERY (each batch one transaction)."""
        now = self.engine.clock.now()
        if self._last_archive is not None and now - self._last_archive < ARCHIVE_EVERY:
            return 0
        self._last_archive = now
        try:
            return self.engine.archive(stop=stop).total
        except Exception:  # noqa: BLE001 - a failing rule is logged; delivery goes on
            log.exception("archiving failed")
            return 0

    def deliver(self, stop=None) -> dict:
        total = {"sent": 0, "failed": 0, "dead": 0, "released": 0}
        while True:
            counts = self.engine.deliver_outbox(self.owner, limit=self.batch, stop=stop)
            for k, v in counts.items():
                total[k] += v
            if sum(counts.values()) < self.batch or (stop is not None and stop()):
                return total

    def prune(self) -> int:
        now = self.engine.clock.now()
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return 0
        self._last_prune = now
        with self.engine.db.write() as conn:
            return traces.prune(conn, now)
