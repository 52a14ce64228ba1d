"""Channels through the outbox: real SMTP and HTTP servers, outage, retry, dead letters, stop."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys

import pytest

from engine.alerts import outbox
from engine.alerts.worker import Worker

from .conftest import SECRET


def low_stock(eng, u, n, prefix="P"):
    for i in range(n):
        eng.create(u["pat"], "product", {"sku": f"{prefix}{i}", "name": f"{prefix}-item {i}",
                                         "stock_qty": 1})


def test_email__multipart_text_and_html_delivered_once(eng, u, smtp):
    eng.create(u["pat"], "product", {"sku": "X", "name": "<b>Bad</b> & co", "stock_qty": 1})
    assert Worker(eng).deliver()["sent"] == 1
    assert Worker(eng).deliver()["sent"] == 0
    [msg] = smtp.messages
    assert msg["To"] == "pat <pat@example.com>" and msg["Subject"] == "Low stock: <b>Bad</b> & co (1 left)"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "<b>Bad</b> & co <X> is below" in text
    assert "&lt;b&gt;Bad&lt;/b&gt; &amp; co &lt;X&gt; is below" in html
    assert eng.outbox_status() == {"sent": 1}


def test_email_outage__nothing_lost_and_each_message_arrives_once(eng, u, smtp, clock):
    smtp.stop()
    low_stock(eng, u, 3)
    first = Worker(eng).deliver()
    assert (first["sent"], first["failed"]) == (0, 3)
    assert Worker(eng).deliver()["sent"] == 0  # backing off: not due yet
    smtp.start()
    clock.advance(seconds=outbox.backoff(1).total_seconds())
    assert Worker(eng).deliver()["sent"] == 3
    clock.advance(hours=3)
    assert Worker(eng).deliver()["sent"] == 0
    assert smtp.subjects() == [f"Low stock: P-item {i} (1 left)" for i in range(3)]


def test_backoff__doubles_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert outbox.backoff(30) == outbox.BACKOFF_CAP


def test_dead_letters__after_max_attempts_visible_and_retryable(eng, u, smtp, clock):
    smtp.stop()
    low_stock(eng, u, 1)
    for _ in range(outbox.MAX_ATTEMPTS):
        Worker(eng).deliver()
        clock.advance(hours=3)
    [dead] = eng.dead_letters()
    assert dead["attempts"] == outbox.MAX_ATTEMPTS and "Connection refused" in dead["last_error"]
    with pytest.raises(Exception):
        eng.dead_letters(u["pat"])  # admins only
    smtp.start()
    assert Worker(eng).deliver()["sent"] == 0  # dead stays dead
    assert eng.retry_dead(dead["id"], u["root"]) is True
    assert eng.retry_dead(dead["id"]) is False  # no longer dead
    assert Worker(eng).deliver()["sent"] == 1
    assert eng.dead_letters() == [] and len(smtp.messages) == 1


def test_webhook__signed_json_post(eng, u, webhook):
    o = eng.create(u["sal"], "sales_order", {"customer": "ACME", "due_date": "2026-04-01"})
    eng.act(u["sal"], "sales_order", o.id, "submit")
    assert Worker(eng).deliver()["sent"] == 1
    [(headers, body)] = webhook.requests
    assert headers["content-type"] == "application/json"
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-loom-signature"], "sha256=" + expected)
    data = json.loads(body)
    assert (data["source"], data["record_id"], data["subject"]) == ("order_approved", o.id,
                                                                   f"{o.number} approved")
    assert data["record"]["state"] == "approved" and data["recipients"] == ["sal"]


def test_webhook__error_status_is_retried(eng, u, webhook, clock):
    webhook.status = 503
    o = eng.create(u["sal"], "sales_order", {"customer": "ACME", "due_date": "2026-04-01"})
    eng.act(u["sal"], "sales_order", o.id, "submit")
    assert Worker(eng).deliver()["failed"] == 1
    webhook.status = 200
    clock.advance(minutes=1)
    assert Worker(eng).deliver()["sent"] == 1
    assert len(webhook.requests) == 2 and eng.outbox_status() == {"sent": 1}


@pytest.mark.outbox_ok  # the failed webhook waits for its retry
def test_webhook__timeout_is_a_failed_attempt(eng, u, webhook, monkeypatch):
    monkeypatch.setenv("LOOM_WEBHOOK_TIMEOUT", "0.2")
    webhook.delay = 1.0
    o = eng.create(u["sal"], "sales_order", {"customer": "ACME", "due_date": "2026-04-01"})
    eng.act(u["sal"], "sales_order", o.id, "submit")
    assert Worker(eng).deliver()["failed"] == 1
    assert eng.outbox_status() == {"pending": 1}


@pytest.mark.outbox_ok  # the unsigned webhook waits for its retry
def test_webhook__refuses_to_send_unsigned(eng, u, webhook, monkeypatch):
    monkeypatch.delenv("LOOM_WEBHOOK_SECRET")
    o = eng.create(u["sal"], "sales_order", {"customer": "ACME", "due_date": "2026-04-01"})
    eng.act(u["sal"], "sales_order", o.id, "submit")
    assert Worker(eng).deliver()["failed"] == 1 and webhook.requests == []


class Recording:
    """A plugin channel that asks the worker to stop while delivering its first message."""

    outbox = True

    def __init__(self, worker_ref):
        self.delivered, self.worker_ref = [], worker_ref

    def payloads(self, message):
        return [{"to": r.name, "subject": message.subject} for r in message.recipients]

    def deliver(self, payload, outbox_id):
        self.worker_ref[0].stop()  # SIGTERM arrives mid-delivery
        self.delivered.append(outbox_id)


@pytest.mark.outbox_ok  # released rows are the point
def test_stop__finishes_the_inflight_delivery_and_releases_the_rest(eng, u):
    ref = []
    channel = eng.registries.channels.register("recording", Recording(ref))
    with eng.db.write() as conn:
        ids = eng.enqueue_notification(conn, channel="recording", users=["pat", "sal", "sid"],
                                       subject="hello")
    w = Worker(eng)
    ref.append(w)
    w.run()  # returns because the channel stopped it
    assert channel.delivered == [ids[0]]
    with eng.db.read() as conn:
        rows = {r.id: r for r in conn.execute(outbox.o.select())}
    assert rows[ids[0]].status == "sent"
    assert [(rows[i].status, rows[i].lease_owner, rows[i].attempts) for i in ids[1:]] == [
        ("pending", None, 0), ("pending", None, 0)]


def test_two_outbox_workers__each_row_delivered_once(eng, u, smtp, alerts_dir, database_url, clock):
    import threading

    from engine.clock import FrozenClock
    from tests.conftest import make_engine

    low_stock(eng, u, 40)
    engines = [make_engine(alerts_dir, database_url, FrozenClock(clock.now())) for _ in range(2)]
    barrier = threading.Barrier(2)

    def run(e):
        barrier.wait(timeout=30)
        Worker(e, batch=5).deliver()
    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for e in engines:
        e.close()
    assert len(smtp.messages) == 40 == len(set(smtp.subjects()))


def test_cli_worker_once__delivers_the_outbox(alerts_dir, database_url, smtp, tmp_path):
    from engine.clock import Clock
    from tests.conftest import make_engine

    from .conftest import add_users

    e = make_engine(alerts_dir, database_url, Clock())
    add_users(e)
    e.create(e.user("pat"), "product", {"sku": "Z", "name": "Zip", "stock_qty": 0})
    e.close()
    env = {**os.environ, "LOOM_DATABASE_URL": database_url, "LOOM_DEFINITIONS": str(alerts_dir),
           "LOOM_SMTP_URL": smtp.url}
    out = subprocess.run([sys.executable, "-m", "engine.cli", "worker", "--once"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1])["outbox"]["sent"] == 1
    assert smtp.subjects() == ["Low stock: Zip (0 left)"]


def test_cli_worker__stops_cleanly_on_sigterm(alerts_dir, database_url, tmp_path):
    import signal

    env = {**os.environ, "LOOM_DATABASE_URL": database_url, "LOOM_DEFINITIONS": str(alerts_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--interval", "60"],
                            env=env, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:  # wait for the worker to say it runs
            if "started" in line:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
