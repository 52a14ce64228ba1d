"""The floor for bench/http_bench.py: a minimal WSGI app under the same waitress server.

    python bench/raw_wsgi.py URL PORT THREADS

GET /records/<id> reads one row of the `records` table by id with the plain
DBAPI driver (one connection per server thread, the same pragmas as Loom on
SQLite: WAL, synchronous=FULL) and answers it as JSON. No framework, no
authentication, no definitions: what any HTTP service reading that row pays.
"""
from __future__ import annotations

import json
import sys
import threading


def make_app(url: str):
    import sqlalchemy as sa

    parsed = sa.engine.make_url(url)
    local = threading.local()
    if parsed.get_backend_name() == "sqlite":
        import sqlite3

        def connect():
            conn = sqlite3.connect(parsed.database, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            return conn, "?"
    else:
        import psycopg

        def connect():
            conn = psycopg.connect(parsed.set(drivername="postgresql").render_as_string(
                hide_password=False), autocommit=True)
            return conn, "%s"

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/records/"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect()
        db, mark = conn
        cur = db.cursor()
        cur.execute(f"SELECT id, form, number, state, data, version FROM records WHERE id = {mark}",
                    (int(path.rsplit("/", 1)[1]),))
        row = cur.fetchone()
        cur.close()
        if row is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        data = row[4] if isinstance(row[4], dict) else json.loads(row[4])
        out = json.dumps({"id": row[0], "form": row[1], "number": row[2], "state": row[3],
                          "data": data, "version": row[5]}).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(out)))])
        return [out]

    return app


def main() -> None:
    from waitress import serve

    url, port, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    serve(make_app(url), host="127.0.0.1", port=port, threads=threads, ident="raw")


if __name__ == "__main__":
    main()
