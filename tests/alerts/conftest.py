"""Alert fixtures: the alerts app, a real SMTP server and a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import email
import email.policy
import json
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, make_engine

ALERTS = FIXTURES / "alerts"
SECRET = "test-webhook-secret"
USERS = {
    # name: (roles, manager)
    "boss": (["sales_manager"], None),
    "pat": (["purchasing"], "boss"),
    "sal": (["sales"], "boss"),
    "sid": (["sales"], "boss"),
    "root": (["admin"], None),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on a fixed free port; stop() and start() again simulate an outage."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.controller = None

    def start(self):
        from aiosmtpd.controller import Controller

        server = self

        class Handler:
            async def handle_DATA(self, _server, _session, envelope):
                server.messages.append(email.message_from_bytes(envelope.original_content or
                                                                envelope.content,
                                                                policy=email.policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def subjects(self) -> list[str]:
        return sorted(str(m["Subject"]) for m in self.messages)


class WebhookServer:
    """Collects POSTs; `status` is what it answers, `delay` how long it waits first."""

    def __init__(self):
        self.requests: list[tuple[dict, bytes]] = []
        self.status = 200
        self.delay = 0.0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if hook.delay:
                    time.sleep(hook.delay)  # the server being slow, not the test waiting
                hook.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def bodies(self) -> list[dict]:
        return [json.loads(b) for _, b in self.requests]


@pytest.fixture
def smtp(monkeypatch):
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("LOOM_SMTP_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def webhook(monkeypatch):
    server = WebhookServer()
    monkeypatch.setenv("LOOM_WEBHOOK_SECRET", SECRET)
    yield server
    server.close()


@pytest.fixture
def alerts_dir(tmp_path, webhook) -> Path:
    """The alerts app with its webhook URL pointing at the test's HTTP server."""
    target = tmp_path / "app"
    shutil.copytree(ALERTS, target)
    hook = target / "alerts" / "order_approved.yaml"
    hook.write_text(hook.read_text().replace("http://127.0.0.1:9/hook", webhook.url))
    return target


def add_users(eng) -> None:
    for name, (roles, manager) in USERS.items():
        eng.add_user(name, roles, manager=manager, email=f"{name}@example.com",
                     is_admin=name == "root")


@pytest.fixture
def eng(alerts_dir, database_url, clock, smtp):
    e = make_engine(alerts_dir, database_url, clock)
    add_users(e)
    yield e
    e.close()


@pytest.fixture
def u(eng):
    return {name: eng.user(name) for name in USERS}
