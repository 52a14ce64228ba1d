"""Server CPU per request of one HTTP scenario, for comparing two trees in the same minutes.

    python bench/serve_cpu.py [--scenario get|list|inbox|post] [--requests 5000]
                              [--threads 8] [--tree DIR] [--py-spy OUT] [--strace OUT]

Seeds a fresh SQLite file as bench/http_bench.py does, starts `loom serve` from
`--tree` (default: this checkout; point it at a `git worktree` of another commit
to compare), warms it up, then sends the scenario's requests from 8 clients (16
for the POST) and prints requests/s and the server process's CPU per request,
user and system apart, from /proc. Alternate the trees a few times: the machine's
speed swings from minute to minute. `--py-spy OUT` records the server meanwhile
(raw collapsed stacks; py-spy on PATH or beside this Python); `--strace OUT` counts its system calls
(`strace -c`; a futex count per request is how GIL hand-offs show).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import http_bench as hb  # noqa: E402


def cpu(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def jobs(scenario: str, n: int, ids, submitted, tokens) -> list:
    if scenario == "get":
        return [("GET", f"/api/forms/sales_order/records/{ids[i % len(ids)]}", None, tokens["alice"])
                for i in range(n)]
    if scenario == "list":
        return [("GET", "/api/forms/sales_order/records?limit=50", None, tokens["alice"])] * n
    if scenario == "inbox":
        return [("GET", "/api/tasks", None, tokens["sam"])] * n
    return [("POST", f"/api/forms/sales_order/records/{rid}/actions/approve", {}, tokens["sam"])
            for rid in submitted[:n]]


def watcher(args, pid: int):
    """py-spy or strace attached to the server, or None."""
    if args.py_spy:
        spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
        cmd = [spy, "record", "-r", "500", "-f", "raw",
               "-o", args.py_spy, "--pid", str(pid)]
    elif args.strace:
        cmd = ["strace", "-f", "-c", "-o", args.strace, "-p", str(pid)]
    else:
        return None
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached before the first request
    return proc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scenario", choices=["get", "list", "inbox", "post"], default="get")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=8, help="waitress worker threads")
    ap.add_argument("--tree", default=str(HERE.parent), help="the checkout `loom serve` runs from")
    ap.add_argument("--py-spy", metavar="OUT")
    ap.add_argument("--strace", metavar="OUT")
    args = ap.parse_args()
    n = args.requests
    tmp = tempfile.mkdtemp(prefix="loom-serve-cpu-")
    url = f"sqlite:///{tmp}/bench.db"
    # POST: each approval runs once, so one submitted order per request (plus the warm-up's)
    eng, ids, submitted, tokens = hb.seed(url, 2 * n + 200 if args.scenario == "post"
                                          else min(400, max(60, n)))
    port = hb.free_port()
    env = {**os.environ, "LOOM_DEFINITIONS": str(hb.DEFS), "LOOM_DATABASE_URL": url,
           "LOOM_SECRET_KEY": "bench", "PYTHONPATH": args.tree}
    log = open(os.path.join(tmp, "serve.log"), "w+")
    hb.ROOT = Path(args.tree)  # `python -m` puts its working directory first on sys.path
    proc = hb.start_server([sys.executable, "-m", "engine.cli", "serve", "--port", str(port),
                            "--threads", str(args.threads)], env, port, log)
    spy = None
    try:
        work = jobs(args.scenario, n + 100, ids, submitted, tokens)
        hb.run_http(port, 8, work[:100])  # warm up
        work = work[100:]
        spy = watcher(args, proc.pid)
        before = cpu(proc.pid)
        wall, lat, errors = hb.run_http(port, 16 if args.scenario == "post" else 8, work)
        after = cpu(proc.pid)
        user, system = ((a - b) / len(lat) * 1000 for a, b in zip(after, before))
        print(f"{args.scenario}: {len(lat) / wall:,.0f} req/s, server CPU {user + system:.3f} ms a "
              f"request (user {user:.3f}, system {system:.3f}), {len(errors)} errors "
              f"[{args.tree}, {args.threads} threads]")
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait()
        hb.stop(proc)
        eng.close()


if __name__ == "__main__":
    main()
