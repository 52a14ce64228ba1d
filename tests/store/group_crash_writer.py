"""Child process for the group-commit kill -9 drill: THREADS writers at once, each write
acknowledged on stdout only after it returned (its group's commit is durable)."""
from __future__ import annotations

import sys
import threading

from engine.clock import Clock
from engine.engine import Engine

THREADS = 8


def main(definitions: str, url: str, writes: int) -> None:
    engine = Engine(definitions, url, clock=Clock())
    if engine.users.find("alice") is None:
        engine.add_user("alice", ["sales"])
    alice = engine.user("alice")
    out = threading.Lock()

    def writer(n: int) -> None:
        ids = []
        for i in range(writes):
            if i % 4 == 0 or not ids:
                rec = engine.create(alice, "customer", {"name": f"t{n}-{i}", "credit_limit": str(i)})
                ids.append(rec.id)
            else:
                rid = ids[i % len(ids)]  # only this thread writes its records: no conflicts
                cur = engine.get(alice, "customer", rid)
                rec = engine.update(alice, "customer", rid, {"credit_limit": str(i)},
                                    version=cur.version)
            with out:
                print(f"ack {rec.id} {rec.version} {rec.data['credit_limit']}", flush=True)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
