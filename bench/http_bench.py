"""HTTP benchmark: `loom serve` (waitress) on 127.0.0.1 under concurrent clients, against the floor.

    python bench/http_bench.py [--clients 8] [--write-clients 16] [--threads 8]
                               [--requests 300] [--database-url URL]

Seeds its own data (a customer, products, orders, half of them submitted for
approval) in a fresh database, starts `loom serve` as a subprocess and, beside
it, the plain-WSGI floor (bench/raw_wsgi.py: the same waitress server reading
the same record row from the same database with the bare driver). Per scenario
(GET a record, list 50 records, the approver's inbox, POST an approval) it runs
a fixed number of requests from concurrent clients and prints requests/s,
p50/p99 latency and the ratio to the floor's GET requests/s measured just before
that scenario in the same run (the machine's speed swings within a minute, so
each ratio compares neighbours in time; goals: GET >= 0.33x, list and inbox >= 0.25x, approval POST >= 0.15x and
its p99 <= 3x its p50 at --write-clients concurrent clients). In the same run it
times the same Engine calls directly (the "overhead" column). Bounded request
counts; it stops by itself.
"""
from __future__ import annotations

import argparse
import http.client
import inspect
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFS = ROOT / "tests" / "fixtures" / "valid"
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str, orders: int):
    from engine.engine import Engine

    eng = Engine(str(DEFS), url)
    alice = eng.add_user("alice", ["sales"], password="alice-pass-123")
    eng.add_user("sam", ["sales_manager"], password="sam-pass-123")
    pat = eng.add_user("pat", ["purchasing"], password="pat-pass-123")
    cust = eng.create(alice, "customer", {"name": "Acme", "region": "north"})
    prods = [eng.create(pat, "product", {"sku": f"P-{i}", "name": f"Product {i}", "price": "9.90"}).id
             for i in range(5)]
    ids = []
    for i in range(orders):
        rec = eng.create(alice, "sales_order", {"customer": cust.id, "due_date": "2099-01-01",
                                                "lines": [{"product": prods[i % 5], "qty": 1 + i % 7}]})
        ids.append(rec.id)
    submitted = ids[: len(ids) // 2]  # waiting in manager_review: sam approves them
    for rid in submitted:
        eng.act(alice, "sales_order", rid, "submit")
    tokens = {"alice": eng.create_token("alice"), "sam": eng.create_token("sam")}
    return eng, ids, submitted, tokens


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_http(port, clients, jobs):
    """jobs: list of (method, path, body, token); split over `clients` keep-alive connections."""
    latencies, errors = [], []
    lock = threading.Lock()
    chunks = [jobs[i::clients] for i in range(clients)]

    def worker(chunk):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for method, path, body, token in chunk:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            t0 = time.perf_counter()
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status >= 400:
                with lock:
                    errors.append(resp.status)
        conn.close()
        with lock:
            latencies.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, errors


def run_direct(calls):
    latencies = []
    t0 = time.perf_counter()
    for fn in calls:
        s = time.perf_counter()
        fn()
        latencies.append(time.perf_counter() - s)
    return time.perf_counter() - t0, latencies


def start_server(cmd, env, port, log):
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                log.seek(0)
                raise SystemExit(f"{cmd[2]} did not start:\n" + log.read())
            time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has spent so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8, help="concurrent clients for the reads")
    ap.add_argument("--write-clients", type=int, default=16,
                    help="concurrent clients for the approval POST")
    ap.add_argument("--threads", type=int, default=8, help="waitress threads of both servers")
    ap.add_argument("--requests", type=int, default=300, help="per scenario")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="loom-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    n = args.requests
    # the approvals need 2n submitted orders (n over HTTP, n direct)
    eng, ids, submitted, tokens = seed(url, max(4 * n, 200))
    port, raw_port = free_port(), free_port()
    env = {**os.environ, "LOOM_DEFINITIONS": str(DEFS), "LOOM_DATABASE_URL": url,
           "LOOM_SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    log = open(os.path.join(tmp, "serve.log"), "w+")  # a file, not a pipe nobody reads (it would fill up)
    raw_log = open(os.path.join(tmp, "raw.log"), "w+")
    proc = start_server([sys.executable, "-m", "engine.cli", "serve", "--port", str(port),
                         "--threads", str(args.threads)], env, port, log)
    raw = None
    try:
        raw = start_server([sys.executable, str(ROOT / "bench" / "raw_wsgi.py"), url, str(raw_port),
                            str(args.threads)], env, raw_port, raw_log)
        alice, sam = eng.user("alice"), eng.user("sam")
        # the direct list counts as the API does (capped past the page) where the tree can
        page_kw = {"capped_total": True} if "capped_total" in inspect.signature(eng.list).parameters else {}
        reads = [ids[i % len(ids)] for i in range(n)]
        http_ids, direct_ids = submitted[:n], submitted[n:2 * n]
        scenarios = [
            ("GET a record", args.clients, 0.33,
             [("GET", f"/api/forms/sales_order/records/{rid}", None, tokens["alice"]) for rid in reads],
             [lambda rid=rid: (lambda r: (r.to_json(), eng.available_actions(alice, r)))(
                 eng.get(alice, "sales_order", rid)) for rid in reads]),
            ("list 50 records", args.clients, 0.25,
             [("GET", "/api/forms/sales_order/records?limit=50", None, tokens["alice"])] * n,
             [lambda: [r.to_json() for r in eng.list(alice, "sales_order", limit=50, **page_kw).items]] * n),
            ("inbox (open tasks)", args.clients, 0.25,
             [("GET", "/api/tasks", None, tokens["sam"])] * n,
             [(lambda: [x.to_json() for x in eng.task_page(sam, "open", 50).items])
              if hasattr(eng, "task_page") else  # the API's page (50 tasks) where the tree has it
              (lambda: [x.to_json() for x in eng.tasks(sam, "open")])] * n),
            ("POST an approval", args.write_clients, 0.15,
             [("POST", f"/api/forms/sales_order/records/{rid}/actions/approve", {}, tokens["sam"])
              for rid in http_ids],
             [lambda rid=rid: eng.act(sam, "sales_order", rid, "approve").to_json()
              for rid in direct_ids]),
        ]
        floor_jobs = [("GET", f"/records/{rid}", None, "") for rid in reads]
        run_http(raw_port, args.clients, floor_jobs[: max(10, n // 10)])  # warm up

        def measure_floor():
            fcpu = cpu_seconds(raw.pid)
            fwall, flat, ferr = run_http(raw_port, args.clients, floor_jobs)
            return len(flat) / fwall, flat, ferr, cpu_seconds(raw.pid) - fcpu

        floor, flat, ferr, fcpu = measure_floor()
        print(f"loom serve (waitress, {args.threads} threads) on 127.0.0.1:{port}, "
              f"{eng.db.dialect} database, {n} requests per scenario")
        print(f"floor: plain WSGI GET of the same row under the same waitress, {args.clients} "
              f"clients: {floor:,.0f} req/s, p50 {percentile(flat, 50) * 1000:.2f} ms, "
              f"p99 {percentile(flat, 99) * 1000:.2f} ms, {len(ferr)} errors, "
              f"server CPU {fcpu / len(flat) * 1000:.2f} ms/req")
        print(f"{'scenario':22} {'clients':>7} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'p99/p50':>7} "
              f"{'errors':>6} {'cpu ms':>6} | {'floor/s':>7} {'vs floor':>8} {'goal':>6} | "
              f"{'direct/s':>9} {'overhead':>8}")
        for name, clients, goal, jobs, calls in scenarios:
            if name.startswith("POST"):
                # warm up on orders of its own: each approval can run once
                warm = [("POST", f"/api/forms/sales_order/records/{rid}/actions/approve", {},
                         tokens["sam"]) for rid in submitted[2 * n:2 * n + max(10, n // 10)]]
                run_http(port, clients, warm)
            else:
                run_http(port, clients, jobs[: max(10, n // 10)])  # warm up
            floor = measure_floor()[0]  # just before: a neighbour in time
            cpu = cpu_seconds(proc.pid)
            wall, lat, errors = run_http(port, clients, jobs)
            cpu = (cpu_seconds(proc.pid) - cpu) / len(lat) * 1000
            dwall, dlat = run_direct(calls)
            rps, drps = len(lat) / wall, len(dlat) / dwall
            p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
            print(f"{name:22} {clients:7d} {rps:7.0f} {p50:8.2f} {p99:8.2f} {p99 / p50:6.1f}x "
                  f"{len(errors):6d} {cpu:6.2f} | {floor:7.0f} {rps / floor:7.2f}x {goal:5.2f}x | "
                  f"{drps:9.0f} {drps / rps:7.2f}x")
        print("vs floor = requests/s / the plain-WSGI floor's GET requests/s measured just before "
              "the scenario (floor/s); overhead = direct Engine "
              "calls/s (one thread) / HTTP requests/s: what HTTP, JSON, auth and waitress cost on top "
              "of the engine; cpu ms = the server process's CPU per request (all its threads)")
    finally:
        stop(proc)
        if raw is not None:
            stop(raw)
        eng.close()


if __name__ == "__main__":
    main()
