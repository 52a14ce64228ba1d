"""HTTP benchmark: `loom serve` (waitress) on 127.0.0.1 under concurrent clients.

    python bench/http_bench.py [--clients 8] [--requests 300] [--database-url URL]

Seeds its own data (a customer, products, 200 orders) in a fresh database,
starts `loom serve` as a subprocess, then per scenario (GET a record, list 50
records, POST an action) runs a fixed number of requests from concurrent
clients and prints requests/s and p50/p99 latency. In the same run it times the
same Engine calls directly and prints the HTTP overhead ratio. Bounded request
counts; it stops by itself.
"""
from __future__ import annotations

import argparse
import http.client
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
    tokens = {"alice": eng.create_token("alice"), "sam": eng.create_token("sam")}
    return eng, ids, tokens


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=300, help="per scenario")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="loom-bench-")
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    n = args.requests
    eng, ids, tokens = seed(url, max(n, 200))
    port = free_port()
    env = {**os.environ, "LOOM_DEFINITIONS": str(DEFS), "LOOM_DATABASE_URL": url,
           "LOOM_SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
    log = open(os.path.join(tmp, "serve.log"), "w+")  # a file, not a pipe nobody reads (it would fill up)
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", "--port", str(port),
                             "--threads", str(args.clients)], env=env, cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    log.seek(0)
                    raise SystemExit("loom serve did not start:\n" + log.read())
                time.sleep(0.1)
        alice, sam = eng.user("alice"), eng.user("sam")
        scenarios = [
            ("GET a record", [("GET", f"/api/forms/sales_order/records/{ids[i % len(ids)]}", None, tokens["alice"])
                              for i in range(n)],
             [lambda i=i: (lambda r: (r.to_json(), eng.available_actions(alice, r)))(
                 eng.get(alice, "sales_order", ids[i % len(ids)])) for i in range(n)]),
            ("list 50 records", [("GET", "/api/forms/sales_order/records?limit=50", None, tokens["alice"])] * n,
             [lambda: [r.to_json() for r in eng.list(alice, "sales_order", limit=50).items]] * n),
        ]
        # POST an action: comment on distinct records over HTTP, then directly on others.
        half = len(ids) // 2
        http_ids, direct_ids = ids[:half], ids[half:]
        scenarios.append((
            "POST an action (comment)",
            [("POST", f"/api/forms/sales_order/records/{http_ids[i % half]}/actions/comment",
              {"comment": f"note {i}"}, tokens["alice"]) for i in range(n)],
            [lambda i=i: eng.act(alice, "sales_order", direct_ids[i % len(direct_ids)], "comment",
                                 comment=f"note {i}").to_json() for i in range(n)]))
        print(f"loom serve (waitress, {args.clients} threads) on 127.0.0.1:{port}, "
              f"{eng.db.dialect} database, {args.clients} concurrent clients, {n} requests per scenario")
        print(f"{'scenario':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} | "
              f"{'direct/s':>9} {'p50 ms':>8} | {'overhead':>8}")
        for name, jobs, calls in scenarios:
            run_http(port, args.clients, jobs[: max(10, n // 10)])  # warm up
            wall, lat, errors = run_http(port, args.clients, jobs)
            dwall, dlat = run_direct(calls)
            rps, drps = len(lat) / wall, len(dlat) / dwall
            p50, p99, dp50 = (percentile(lat, 50) * 1000, percentile(lat, 99) * 1000,
                              percentile(dlat, 50) * 1000)
            print(f"{name:28} {rps:8.0f} {p50:8.2f} {p99:8.2f} {len(errors):6d} | "
                  f"{drps:9.0f} {dp50:8.2f} | {drps / rps:7.2f}x")
        print("overhead = direct Engine calls/s (one thread) / HTTP requests/s (concurrent clients): "
              "what HTTP, JSON, auth and waitress cost on top of the engine")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        eng.close()


if __name__ == "__main__":
    main()
