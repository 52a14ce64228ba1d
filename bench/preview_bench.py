"""Live preview latency on the demo's biggest form: a sales order with 5 lines.

    python bench/preview_bench.py [--runs 200] [--orders 30] [--database-url URL]

Seeds the bundled demo app (definitions/ and its demo module, small), then times
the same draft three ways: `Engine.preview` directly, the JSON API
(POST /api/forms/sales_order/preview, bearer token) and the form page's route
(POST /f/sales_order/preview, form-encoded as the browser's loom.js sends it,
session cookie and CSRF token), both over HTTP to waitress on 127.0.0.1 with
one keep-alive client. Prints p50/p95 in ms. Bounded; stops by itself.
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cli import load_demo  # noqa: E402
from engine.clock import HeldClock  # noqa: E402
from engine.engine import Engine  # noqa: E402


def ms(values):
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"p50 {statistics.median(values) * 1000:6.2f} ms   p95 {p95 * 1000:6.2f} ms"


def draft(eng, user):
    """A 5-line sales order of one customer, one warehouse and five products the user may read."""
    customer = eng.list(user, "customer", limit=1).items[0]
    warehouse = eng.list(user, "warehouse", limit=1).items[0]
    products = [p for p in eng.list(user, "product", limit=50).items if not p.data.get("made_to_order")][:4]
    special = [p for p in eng.list(user, "product", limit=200).items if p.data.get("made_to_order")][:1]
    lines = [{"product": p.id, "qty": 1 + i} for i, p in enumerate(products)]
    lines += [{"product": p.id, "qty": 2, "size": "L", "material": "oak", "colour": "red"} for p in special]
    return {"customer": customer.id, "warehouse": warehouse.id, "due_date": "2099-01-01",
            "notes": "preview bench", "lines": lines}


def form_fields(data) -> list[tuple[str, str]]:
    out = []
    for k, v in data.items():
        if k == "lines":
            for i, row in enumerate(v):
                out += [(f"f.lines.{i}.{c}", str(x)) for c, x in row.items()]
        else:
            out.append((f"f.{k}", str(v)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--orders", type=int, default=30)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='loom-preview-')}/bench.db"
    eng = Engine(str(ROOT / "definitions"), url, clock=HeldClock())
    logins = load_demo(eng.defs.app).seed(eng, eng.clock, orders=args.orders, customers=10, days=30)
    user = eng.user("alice")
    data = draft(eng, user)
    result = eng.preview(user, "sales_order", data)
    assert not result.errors, result.errors
    print(f"draft: {len(data['lines'])} lines, total {result.data['total']}")

    direct = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        eng.preview(user, "sales_order", data)
        direct.append(time.perf_counter() - t0)
    print(f"Engine.preview              {ms(direct)}")

    from waitress.server import create_server

    logging.getLogger("waitress").setLevel(logging.CRITICAL)  # its queue-depth notes are noise here

    from web import create_app

    srv = create_server(create_app(eng, secret_key="bench"), host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", srv.effective_port, timeout=30)
        token = eng.create_token("alice")
        api = []
        body = json.dumps({"data": data})
        for _ in range(args.runs):
            t0 = time.perf_counter()
            conn.request("POST", "/api/forms/sales_order/preview", body=body,
                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            api.append(time.perf_counter() - t0)
            assert resp.status == 200, resp.status
        print(f"POST /api/.../preview       {ms(api)}")

        conn.request("POST", "/api/session", body=json.dumps({"username": "alice", "password": logins["alice"]}),
                     headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        csrf = json.loads(resp.read())["csrf_token"]
        cookie = resp.getheader("Set-Cookie").split(";", 1)[0]
        page_body = urllib.parse.urlencode([("csrf_token", csrf)] + form_fields(data))
        page = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            conn.request("POST", "/f/sales_order/preview", body=page_body,
                         headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
            resp = conn.getresponse()
            resp.read()
            page.append(time.perf_counter() - t0)
            assert resp.status == 200, resp.status
        print(f"POST /f/.../preview (page)  {ms(page)}")
        conn.close()
    finally:
        srv.close()
        thread.join(timeout=5)
        eng.close()


if __name__ == "__main__":
    main()
