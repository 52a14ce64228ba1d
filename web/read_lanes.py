"""At most a few bounded API reads run the app's Python at once; the rest queue for a moment.

Under waitress's 8 threads, SQLite hands the GIL back at every row it steps, so
8 reads running together bounce it between threads hundreds of times per
request and each pays for cold caches: an inbox page cost 2.6–2.8 ms of CPU
with one thread and up to 6.6 ms with eight. Letting one (SQLite's default since
session 11: two still bounced it between them) run and the others wait keeps the
CPU per request near the one-thread figure.

Only the bounded reads of SHARED_READS take a lane (a record, a list page of
at most 500, history, the inbox, notifications): writes never do, so a reader
never waits for a writer's fsync and a writer never waits for readers; reports
and exports never do. A lane is waited for at most `wait` seconds, then the
request runs anyway: a slow list (an odd filter) delays the others by at most
that. `lanes` 0 turns it off (PostgreSQL's reads wait on the network, where
more run at once: `LOOM_READ_LANES`).

The hot routes (web/hot_routes.py) keep their lane until the server has written the
answer (WSGI's `close()`), not only until it is built: let go earlier, the next reader's
statements handed the GIL back and forth with the server code writing this answer, each
SQLite step a switch (server CPU per GET of a record 1.02–1.11 → 0.95–0.99 ms, system time
0.27–0.30 → 0.20–0.23 ms: fewer futex wake-ups).
"""
from __future__ import annotations

import itertools
import threading


class ReadLanes:
    """At most `lanes` holders at once, a bounded wait: `enter()` says whether a lane was taken.

    A lane is a plain lock, taken and waited for in C. With `threading.Semaphore` (Python
    code around a Condition: a new lock, a deque and a notify per wait) a GET in-process
    with 8 threads cost 0.50–0.68 ms of CPU at 2 lanes; with these locks 0.40–0.55 ms, and
    0.32–0.40 ms at one lane (one thread: 0.26–0.31 ms). A free lane is taken at once;
    when none is free the caller waits for the next lane in turn, so a release can leave
    someone waiting on another lane until its wait runs out, which only ever makes a read
    run without one."""

    def __init__(self, lanes: int, wait: float):
        self.lanes, self.wait = lanes, wait
        self._locks = tuple(threading.Lock() for _ in range(max(lanes, 0)))
        self._turn = itertools.count()
        self._held = threading.local()  # the lanes this thread holds, the last taken last

    def enter(self) -> bool:
        """Take a lane, waiting at most `wait` seconds; False: none taken (off, or waited out)."""
        locks = self._locks
        if not locks:
            return False
        for lock in locks:
            if lock.acquire(False):
                break
        else:
            lock = locks[next(self._turn) % len(locks)]
            if not lock.acquire(timeout=self.wait):
                return False
        self._held.__dict__.setdefault("locks", []).append(lock)
        return True

    def leave(self) -> None:
        """Give back the lane this thread took last."""
        self.detach()()

    def detach(self):
        """Take the lane this thread took last off its hands; the function returned gives it
        back, from any thread (a server may close an answer elsewhere than it was made)."""
        held = getattr(self._held, "locks", None)
        if not held:
            raise ValueError("this thread holds no read lane")
        return held.pop().release
