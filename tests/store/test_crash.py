"""kill -9 a writer at random points: the database stays whole and keeps every acknowledged write."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from engine.clock import Clock
from tests.conftest import VALID, make_engine

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20


def test_kill_dash_nine_loses_no_acknowledged_write(tmp_path):
    db = tmp_path / "crash.db"
    url = f"sqlite:///{db}"
    rng = random.Random(1234)
    acked: dict[int, tuple[int, str]] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for run in range(KILLS):
        proc = subprocess.Popen([sys.executable, "-m", "tests.store.crash_writer", str(VALID), url, "1000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env=env)
        # wait for the first acknowledgement so the kill lands mid-writing, then a random delay
        first = proc.stdout.readline()
        assert first.startswith("ack"), proc.stderr.read()
        lines = [first]
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        lines += out.splitlines()
        for line in lines:
            if line.startswith("ack "):
                _, rid, version, credit = line.split()
                acked[int(rid)] = max(acked.get(int(rid), (0, "")), (int(version), credit))
    assert len(acked) > 20

    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    engine = make_engine(VALID, url, Clock())
    alice = engine.user("alice")
    for rid, (version, credit) in acked.items():
        rec = engine.get(alice, "customer", rid)
        assert rec.version >= version
        if rec.version == version:
            assert rec.data["credit_limit"] == Decimal(credit)
    # no record disagrees with its last event
    page = engine.list(alice, "customer", limit=500)
    for rec in page.items:
        last = engine.history(alice, "customer", rec.id)[-1]
        assert last.version == rec.version
        if "credit_limit" in (last.diff or {}):
            assert Decimal(last.diff["credit_limit"][1]) == rec.data["credit_limit"]
    engine.close()
