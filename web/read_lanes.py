"""At most a few bounded API reads run the app's Python at once; the rest queue for a moment.

Under waitress's 8 threads, SQLite hands the GIL back at every row it steps, so
8 reads running together bounce it between threads hundreds of times per
request and each pays for cold caches: an inbox page cost 2.6–2.8 ms of CPU
with one thread and up to 6.6 ms with eight. Letting a couple run at once and
the others wait keeps the CPU per request at the one-thread figure.

Only the bounded reads of SHARED_READS take a lane (a record, a list page of
at most 500, history, the inbox, notifications): writes never do, so a reader
never waits for a writer's fsync and a writer never waits for readers; reports
and exports never do. A lane is waited for at most `wait` seconds, then the
request runs anyway: a slow list (an odd filter) delays the others by at most
that. `lanes` 0 turns it off (PostgreSQL's reads wait on the network, where
more run at once: `LOOM_READ_LANES`).
"""
from __future__ import annotations

import threading


class ReadLanes:
    """A semaphore with a bounded wait: `enter()` says whether a lane was taken."""

    def __init__(self, lanes: int, wait: float):
        self.lanes, self.wait = lanes, wait
        self._slots = threading.BoundedSemaphore(lanes) if lanes > 0 else None

    def enter(self) -> bool:
        """Take a lane, waiting at most `wait` seconds; False: none taken (off, or waited out)."""
        return self._slots is not None and self._slots.acquire(timeout=self.wait)

    def leave(self) -> None:
        self._slots.release()
