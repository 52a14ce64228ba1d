"""Delivery channels: inbox, email and webhook, in a per-Engine registry.

A channel turns one `Message` (an alert or notification that fired) into
deliveries. `inbox` writes `notifications` rows inside the write's own
transaction; `email` and `webhook` only write outbox rows there and deliver
later, from `loom worker` (see outbox.py), so a mail server that is down loses
nothing and a rolled-back change sends nothing. Plugins register more
channels exactly as the built-ins are registered here:

    registry.register("sms", MySmsChannel())

A channel has `outbox` (True: `payloads()` are queued and `deliver()` is
called by the worker; False: `write()` runs in the transaction) and
`per_recipient` (True: it gets one `Message` per recipient language, rendered
in that language; False: one `Message` for everyone, in the app's default
language). `unreachable()` names recipients it cannot deliver to and why; they
become `undeliverable` outbox rows, listed with the dead letters.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import sqlalchemy as sa

from ..errors import LoomError
from ..store import tables as t
from ..store.hot import Hot

WEBHOOK_TIMEOUT = 10.0  # seconds; LOOM_WEBHOOK_TIMEOUT overrides
SMTP_TIMEOUT = 20.0
DEFAULT_FROM = "loom@localhost"


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str | None = None
    full_name: str | None = None
    language: str = "en"
    roles: frozenset = frozenset()  # what they may see of the record (field `read` lists)
    is_admin: bool = False


@dataclass(frozen=True)
class Message:
    """One firing, rendered: who, what, about which record."""

    source: str  # alert id, or workflow step
    form: str | None
    record_id: int | None
    recipients: tuple[Recipient, ...]
    subject: str
    text: str
    html: str
    at: Any  # datetime
    record: dict = field(default_factory=dict)  # the record in its API (JSON) shape
    webhook: str | None = None
    language: str | None = None  # what subject and text are rendered in


class Channel:
    """Base class: an outbox channel unless `outbox = False`."""

    outbox = True
    per_recipient = True

    def unreachable(self, message: Message) -> list[tuple[Recipient, str]]:
        """Recipients this channel cannot deliver to, each with the reason."""
        return []

    def payloads(self, message: Message) -> list[dict]:  # pragma: no cover - abstract
        raise NotImplementedError

    def deliver(self, payload: dict, outbox_id: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def write(self, conn, message: Message) -> int:  # pragma: no cover - abstract
        raise NotImplementedError


_NOTIFY = Hot(t.notifications.insert())


class InboxChannel(Channel):
    """The in-app inbox: one `notifications` row per recipient, in the same transaction."""

    outbox = False

    def write(self, conn, message: Message) -> int:
        rows = [{"user_name": r.name, "created_at": message.at, "subject": message.subject,
                 "body": message.text, "form": message.form, "record_id": message.record_id,
                 "source": message.source} for r in message.recipients]
        if len(rows) == 1:  # the usual case (one assignee, one owner): a hot statement
            _NOTIFY.execute(conn, rows[0])
        elif rows:
            conn.execute(t.notifications.insert(), rows)
        return len(rows)


class EmailChannel(Channel):
    """SMTP (LOOM_SMTP_URL, like smtp://host:25 or smtps://user:pw@host:465), text + HTML."""

    def payloads(self, message: Message) -> list[dict]:
        return [{"to": r.email, "to_name": r.full_name or r.name, "user": r.name,
                 "subject": message.subject, "text": message.text, "html": message.html,
                 "source": message.source, "form": message.form, "record_id": message.record_id}
                for r in message.recipients if r.email]

    def unreachable(self, message: Message) -> list[tuple[Recipient, str]]:
        return [(r, f"user {r.name!r} has no email address") for r in message.recipients
                if not r.email]

    def deliver(self, payload: dict, outbox_id: int) -> None:
        url = os.environ.get("LOOM_SMTP_URL")
        if not url:
            raise LoomError("LOOM_SMTP_URL is not set; set it to smtp://host:port")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise LoomError(f"LOOM_SMTP_URL must start with smtp://, smtps:// or smtp+starttls://, "
                            f"not {parts.scheme}://")
        msg = EmailMessage()
        msg["From"] = os.environ.get("LOOM_MAIL_FROM", DEFAULT_FROM)
        msg["To"] = formataddr((payload.get("to_name") or "", payload["to"]))
        msg["Subject"] = " ".join(str(payload.get("subject", "")).split())  # no header injection
        # The outbox id makes the Message-ID stable across retries: receivers can de-duplicate.
        msg["Message-ID"] = make_msgid(idstring=f"loom-outbox-{outbox_id}", domain="loom")
        msg["X-Loom-Outbox-Id"] = str(outbox_id)
        msg.set_content(payload.get("text") or "")
        msg.add_alternative(payload.get("html") or "", subtype="html")
        host, port = parts.hostname or "localhost", parts.port
        if parts.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(host, port or 465, timeout=SMTP_TIMEOUT,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port or 25, timeout=SMTP_TIMEOUT)
        with smtp:
            if parts.scheme == "smtp+starttls":
                smtp.starttls(context=ssl.create_default_context())
            if parts.username:
                smtp.login(urllib.parse.unquote(parts.username),
                           urllib.parse.unquote(parts.password or ""))
            smtp.send_message(msg)


class WebhookChannel(Channel):
    """A JSON POST to the alert's `notify.webhook`, body signed with HMAC-SHA256."""

    per_recipient = False  # one POST per firing, not one per recipient language

    def payloads(self, message: Message) -> list[dict]:
        if not message.webhook:
            return []
        body = {"source": message.source, "form": message.form, "record_id": message.record_id,
                "subject": message.subject, "text": message.text,
                "recipients": [r.name for r in message.recipients],
                "at": message.at.isoformat(timespec="seconds") + "Z" if message.at else None,
                "record": message.record}
        return [{"url": message.webhook, "body": body}]

    def deliver(self, payload: dict, outbox_id: int) -> None:
        secret = os.environ.get("LOOM_WEBHOOK_SECRET")
        if not secret:
            raise LoomError("LOOM_WEBHOOK_SECRET is not set; webhooks are only sent signed")
        timeout = float(os.environ.get("LOOM_WEBHOOK_TIMEOUT") or WEBHOOK_TIMEOUT)
        data = json.dumps({**payload["body"], "delivery": outbox_id}, sort_keys=True,
                          default=str).encode()
        req = urllib.request.Request(payload["url"], data=data, method="POST", headers={
            "Content-Type": "application/json",
            "User-Agent": "loom-webhook/1",
            "X-Loom-Delivery": str(outbox_id),
            "X-Loom-Signature": "sha256=" + sign(secret, data),
        })
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only, checked by schema
                resp.read(1024)
        except urllib.error.HTTPError as exc:
            raise LoomError(f"webhook answered {exc.code} {exc.reason}") from None


def sign(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of the exact body bytes (receivers compare with hmac.compare_digest)."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def register_builtin_channels(registry) -> None:
    registry.register("inbox", InboxChannel())
    registry.register("email", EmailChannel())
    registry.register("webhook", WebhookChannel())


def unread_count(conn, user_name: str) -> int:
    n = t.notifications
    return conn.execute(sa.select(sa.func.count()).select_from(n)
                        .where(n.c.user_name == user_name, n.c.read_at.is_(None))).scalar_one()
