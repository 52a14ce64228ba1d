"""Child process for the kill -9 test: writes and acknowledges each commit on stdout."""
from __future__ import annotations

import sys

from engine.clock import Clock
from engine.engine import Engine


def main(definitions: str, url: str, writes: int) -> None:
    engine = Engine(definitions, url, clock=Clock())
    if engine.users.find("alice") is None:
        engine.add_user("alice", ["sales"])
    alice = engine.user("alice")
    ids = []
    for i in range(writes):
        if i % 4 == 0 or not ids:
            rec = engine.create(alice, "customer", {"name": f"w{i}", "credit_limit": str(i)})
            ids.append(rec.id)
        else:
            rid = ids[i % len(ids)]
            cur = engine.get(alice, "customer", rid)
            rec = engine.update(alice, "customer", rid, {"credit_limit": str(i)}, version=cur.version)
        # printed only after the commit returned: an acknowledged write
        print(f"ack {rec.id} {rec.version} {rec.data['credit_limit']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
