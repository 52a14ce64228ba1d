"""The writer lane: on SQLite, write transactions of one process queue here, first come first served.

SQLite lets one writer at a time hold the file. Without a lane every waiting
writer sits in SQLite's busy handler, which sleeps and retries with growing
pauses: who gets the lock next is luck, and a request can lose the race many
times over (the long tail of p99). With the lane a writer thread waits on a
lock of its own, handed over in arrival order, and issues BEGIN IMMEDIATE only
when it is its turn, so inside one process BEGIN IMMEDIATE finds the file free.
Readers never enter the lane (WAL: they read their snapshot beside the writer).

Several processes on one SQLite file still meet at the file lock (busy_timeout
stays as the fallback there); PostgreSQL needs no lane: its row locks queue
writers of the same row and let the others run side by side.
"""
from __future__ import annotations

import os
import threading
from collections import deque


class WriterLane:
    """A fair (FIFO) mutual-exclusion lock: release hands the lane to the longest waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False
        self._owner: int | None = None
        self.group = None  # a write transaction left open for the next holder (group commit)

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:  # waiting for myself would hang for ever
                raise RuntimeError("a write on this database file began inside another write "
                                   "on it in the same thread (two Database objects?)")
            if not self._held:
                self._held, self._owner = True, me
                return
            ticket = threading.Lock()
            ticket.acquire()
            self._waiters.append(ticket)
        ticket.acquire()  # released by the holder handing the lane over; _held stays True
        self._owner = me

    def release(self) -> None:
        with self._mutex:
            self._owner = None
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False

    @property
    def held_by_me(self) -> bool:
        return self._owner == threading.get_ident()

    @property
    def waiting(self) -> int:
        """Writers queued behind the holder (for benchmarks and tests)."""
        return len(self._waiters)

    def __enter__(self) -> "WriterLane":
        self.acquire()
        return self

    def __exit__(self, *_exc) -> None:
        self.release()


_LANES: dict[str, WriterLane] = {}
_LANES_LOCK = threading.Lock()


def lane_for(path: str) -> WriterLane:
    """The one lane of a database file in this process (two Database objects on one file share it)."""
    key = os.path.realpath(path)
    with _LANES_LOCK:
        lane = _LANES.get(key)
        if lane is None:
            lane = _LANES[key] = WriterLane()
        return lane
