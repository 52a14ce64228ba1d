"""Accounts: logging in (lockout, throttling, two-factor), unlocking, password
resets by email, and a user's sessions. The Engine facade exposes one
`Accounts` as `engine.accounts`; the Directory still owns who users are.

Collaborators are handed in: the database, a `now()` callable, the Directory,
and `send_email(conn, user_name, subject, body)`, which queues a message on the
outbox inside the caller's transaction (the alerts package's email channel).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa

from ..errors import LoomError, NotAuthenticated, NotFound, SecondFactorRequired, Throttled
from ..store import audit
from ..store import tables as t
from . import lockout, policy, twofactor
from .passwords import hash_password, new_token, token_hash, verify_password
from .users import BAD_LOGIN, Directory, User, forget_users

BAD_CODE = "wrong or used two-factor code"
PENDING_FOR = timedelta(minutes=5)  # between the password and the two-factor code
RESET_VALID = timedelta(minutes=30)
RESET_WINDOW = timedelta(hours=1)
RESETS_PER_ACCOUNT = 3  # emails per account per RESET_WINDOW; more are dropped silently
RESETS_PER_ADDRESS = 10  # asks per address per RESET_WINDOW; more get 429
RESET_SENT = ("If that account exists and has an email address, a link to choose a new password "
              "is on its way. It works once, within 30 minutes.")
MAX_NAME = 256

u = t.users
_B = sa.bindparam
_LOGIN_ROW = sa.select(u.c.name, u.c.password_hash, u.c.active, u.c.totp_secret, u.c.totp_enabled_at,
                       u.c.totp_last_step).where(u.c.name == _B("b_name"))


@dataclass(frozen=True)
class AccountStatus:
    """What an admin sees of an account's security (admin page and API)."""

    name: str
    locked_until: datetime | None
    two_factor: bool
    sessions: int

    def as_json(self) -> dict:
        return {"name": self.name, "locked": self.locked_until is not None,
                "locked_until": self.locked_until.isoformat() if self.locked_until else None,
                "two_factor": self.two_factor, "sessions": self.sessions}


class Accounts:
    def __init__(self, db, now: Callable[[], datetime], directory: Directory,
                 send_email: Callable[..., None]):
        self.db, self.now, self.users, self.send_email = db, now, directory, send_email

    # --- logging in ------------------------------------------------------------------

    def login(self, name: str, password: str, address: str | None = None,
              code: str | None = None) -> User:
        """Password (and, when the account has 2FA, `code`: TOTP or a recovery code) → User.

        Without `code` on a 2FA account: SecondFactorRequired carrying a pending token
        for `login_second_factor`. Every failure answers like an unknown user."""
        policy.check_size(password)
        now = self.now()
        with self.db.read() as conn:
            lockout.guard(conn, name, address, now)
            row = conn.execute(_LOGIN_ROW, {"b_name": name}).mappings().first()
        # hashed outside any transaction: scrypt takes tens of ms, and unknown names
        # pay the same (verify_password hashes a dummy)
        ok = verify_password(password, row["password_hash"] if row is not None else None)
        if not ok or not row["active"]:
            self._failed(name, address, now)
            raise NotAuthenticated(BAD_LOGIN)
        if row["totp_enabled_at"] is not None:
            if code is None:
                raise SecondFactorRequired("enter the code from your authenticator app (or a recovery code)",
                                           self.users.create_token(name, kind="pending_2fa",
                                                                   expires_at=now + PENDING_FOR))
            self._second_factor(name, code, address, now)
        return self._succeeded(name, address)

    def login_second_factor(self, pending: str, code: str, address: str | None = None) -> User:
        """The second step of a login whose password was right (`pending` from SecondFactorRequired)."""
        try:
            name = self.users.user_for_token(pending, kind="pending_2fa").name
        except NotAuthenticated:
            raise NotAuthenticated("the login took too long; enter your password again") from None
        now = self.now()
        with self.db.read() as conn:
            lockout.guard(conn, name, address, now)
        self._second_factor(name, code, address, now)
        self.users.revoke_token(pending)
        return self._succeeded(name, address)

    def _failed(self, name: str, address: str | None, now: datetime) -> None:
        with self.db.write() as conn:
            lockout.record_failure(conn, name, address, now)
            # the name tried, known or not: a guessing run shows in the audit log either way
            audit.write(conn, now, name[:128], "login_failed", subject=name[:128], address=address)

    def _succeeded(self, name: str, address: str | None = None) -> User:
        with self.db.write() as conn:
            lockout.clear(conn, name)
            audit.write(conn, self.now(), name, "login", subject=name, address=address)
        return self.users.get(name)

    def _second_factor(self, name: str, code: str, address: str | None, now: datetime) -> None:
        with self.db.write() as conn:
            row = conn.execute(_LOGIN_ROW, {"b_name": name}).mappings().first()
            if row is None or row["totp_enabled_at"] is None:
                raise NotAuthenticated(BAD_LOGIN)
            step = twofactor.matching_step(row["totp_secret"], code, now, row["totp_last_step"])
            if step is not None:
                forget_users(conn)
                conn.execute(u.update().where(u.c.name == name).values(totp_last_step=step))
                return
            rc = t.recovery_codes
            used = conn.execute(rc.update().where(rc.c.user_name == name, rc.c.used_at.is_(None),
                                                  rc.c.code_hash == twofactor.recovery_hash(code))
                                .values(used_at=now)).rowcount
            if used:
                return
        self._failed(name, address, now)
        raise NotAuthenticated(BAD_CODE)

    # --- locks (admins) ----------------------------------------------------------------

    def locked_until(self, name: str) -> datetime | None:
        with self.db.read() as conn:
            return lockout.locked_until(conn, name, self.now())

    def unlock(self, name: str, actor: str = "system") -> None:
        """Forget the account's failed logins: it can log in again at once."""
        with self.db.write() as conn:
            if not lockout.clear(conn, name):
                raise NotFound(f"no user {name!r}")
            audit.write(conn, self.now(), actor, "unlock", subject=name)

    def status(self, name: str) -> AccountStatus:
        now = self.now()
        with self.db.read() as conn:
            row = conn.execute(sa.select(u.c.totp_enabled_at).where(u.c.name == name)).first()
            if row is None:
                raise NotFound(f"no user {name!r}")
            tk = t.tokens
            sessions = conn.execute(sa.select(sa.func.count()).select_from(tk).where(
                tk.c.user_name == name, tk.c.kind == "session", tk.c.revoked_at.is_(None))).scalar()
            return AccountStatus(name, lockout.locked_until(conn, name, now), row[0] is not None, sessions)

    # --- passwords -----------------------------------------------------------------------

    @staticmethod
    def password_problem(password: str, name: str | None = None) -> str | None:
        """Why the password policy refuses a new password, or None."""
        return policy.problem(password, name)

    def set_password(self, name: str, password: str, actor: str | None = None) -> None:
        """A new password chosen by a person (policy checked); it also unlocks the account and
        ends every session, in one transaction. `actor`: who set it (the user by default)."""
        policy.check_new(password, name)
        digest = hash_password(password)
        with self.db.write() as conn:
            forget_users(conn)
            if not conn.execute(u.update().where(u.c.name == name).values(password_hash=digest)).rowcount:
                raise NotFound(f"no user {name!r}")
            self._after_new_password(conn, name)
            audit.write(conn, self.now(), actor or name, "password_set", subject=name)

    def _after_new_password(self, conn, name: str) -> None:
        now = self.now()
        lockout.clear(conn, name)
        tk, pr = t.tokens, t.password_resets
        conn.execute(tk.update().where(tk.c.user_name == name, tk.c.kind.in_(("session", "pending_2fa")),
                                       tk.c.revoked_at.is_(None)).values(revoked_at=now))
        conn.execute(pr.update().where(pr.c.user_name == name, pr.c.used_at.is_(None)).values(used_at=now))

    def request_reset(self, who: str, address: str | None, link: Callable[[str], str]) -> str:
        """Email a reset link to the user named `who` (or with that email address).

        Answers the same text whether or not such a user exists; 429 only for an address
        asking too often (that says nothing about accounts)."""
        who = (who or "").strip()[:MAX_NAME]
        now = self.now()
        since = now - RESET_WINDOW
        with self.db.write() as conn:
            if address:
                if self._count(conn, "reset:address", address, since) >= RESETS_PER_ADDRESS:
                    raise Throttled("too many password reset requests from your address; try again later",
                                    int(RESET_WINDOW.total_seconds()))
                self._note(conn, "reset:address", address, now)
            if not who:
                return RESET_SENT
            row = conn.execute(sa.select(u.c.name, u.c.email).where(
                u.c.active, sa.or_(u.c.name == who, sa.func.lower(u.c.email) == who.lower()))
                .order_by(u.c.id).limit(1)).first()
            if row is None or not row.email:
                return RESET_SENT
            if self._count(conn, "reset:account", row.name, since) >= RESETS_PER_ACCOUNT:
                return RESET_SENT  # dropped silently: a 429 here would say the account exists
            self._note(conn, "reset:account", row.name, now)
            token = new_token()
            conn.execute(t.password_resets.insert().values(user_name=row.name, token_hash=token_hash(token),
                                                           created_at=now, expires_at=now + RESET_VALID))
            self.send_email(conn, row.name, "Choose a new Loom password",
                            f"Someone (hopefully you) asked to reset the password of {row.name}.\n\n"
                            f"Choose a new password here (the link works once, for 30 minutes):\n"
                            f"{link(token)}\n\nIf it was not you, ignore this email; "
                            "your password stays as it is.")
        return RESET_SENT

    def reset_user(self, token: str) -> str:
        """The user a reset link is for (404-like NotAuthenticated when used or expired)."""
        with self.db.read() as conn:
            return self._reset_row(conn, token).user_name

    def reset_password(self, token: str, password: str) -> User:
        """Use a reset link: set the new password (policy checked), unlock, end all sessions."""
        policy.check_size(password)
        name = self.reset_user(token)
        policy.check_new(password, name)
        digest = hash_password(password)
        with self.db.write() as conn:
            row = self._reset_row(conn, token)  # again: another request may have used it meanwhile
            claimed = conn.execute(t.password_resets.update().where(
                t.password_resets.c.id == row.id, t.password_resets.c.used_at.is_(None))
                .values(used_at=self.now())).rowcount
            if not claimed:
                raise NotAuthenticated(_RESET_DEAD)
            forget_users(conn)
            conn.execute(u.update().where(u.c.name == row.user_name).values(password_hash=digest))
            self._after_new_password(conn, row.user_name)
            audit.write(conn, self.now(), row.user_name, "password_reset", subject=row.user_name)
        return self.users.get(name)

    def _reset_row(self, conn, token: str):
        pr = t.password_resets
        row = conn.execute(sa.select(pr.c.id, pr.c.user_name).where(
            pr.c.token_hash == token_hash(token or ""), pr.c.used_at.is_(None),
            pr.c.expires_at > self.now())).first()
        if row is None or self.users.find(row.user_name, conn) is None:
            raise NotAuthenticated(_RESET_DEAD)
        return row

    @staticmethod
    def _count(conn, kind: str, key: str, since: datetime) -> int:
        ar = t.auth_requests
        return conn.execute(sa.select(sa.func.count()).select_from(ar).where(
            ar.c.kind == kind, ar.c.key == key[:256], ar.c.at > since)).scalar()

    @staticmethod
    def _note(conn, kind: str, key: str, now: datetime) -> None:
        conn.execute(t.auth_requests.insert().values(kind=kind, key=key[:256], at=now))

    # --- two-factor ------------------------------------------------------------------------

    def two_factor_on(self, name: str) -> bool:
        with self.db.read() as conn:
            return conn.execute(sa.select(u.c.totp_enabled_at).where(u.c.name == name)).scalar() is not None

    def must_enrol(self, user: User, required_roles) -> bool:
        """A user in a role listed in app.yaml `require_2fa` ("admin": administrators) without 2FA."""
        required = set(required_roles)
        if not required or not ((user.roles & required) or (user.is_admin and "admin" in required)):
            return False
        return not self.two_factor_on(user.name)

    def start_enrolment(self, name: str, issuer: str = "Loom") -> dict:
        """A new secret (until confirmed, 2FA stays off): {"secret", "uri", "svg"}."""
        secret = twofactor.new_secret()
        with self.db.write() as conn:
            row = conn.execute(sa.select(u.c.totp_enabled_at).where(u.c.name == name)).first()
            if row is None:
                raise NotFound(f"no user {name!r}")
            if row[0] is not None:
                raise LoomError("two-factor login is already on; turn it off first to enrol a new device")
            forget_users(conn)
            conn.execute(u.update().where(u.c.name == name).values(totp_secret=secret))
        return self.enrolment(name, issuer)

    def enrolment(self, name: str, issuer: str = "Loom") -> dict | None:
        """The pending (unconfirmed) enrolment, or None."""
        with self.db.read() as conn:
            row = conn.execute(sa.select(u.c.totp_secret, u.c.totp_enabled_at).where(u.c.name == name)).first()
        if row is None or row.totp_secret is None or row.totp_enabled_at is not None:
            return None
        uri = twofactor.provisioning_uri(row.totp_secret, name, issuer)
        return {"secret": row.totp_secret, "uri": uri, "svg": twofactor.qr_svg(uri)}

    def confirm_enrolment(self, name: str, code: str) -> list[str]:
        """Turn 2FA on with a first valid code; returns the recovery codes (shown once)."""
        now = self.now()
        with self.db.write() as conn:
            row = conn.execute(sa.select(u.c.totp_secret, u.c.totp_enabled_at).where(u.c.name == name)).first()
            if row is None or row.totp_secret is None or row.totp_enabled_at is not None:
                raise LoomError("start the two-factor enrolment first")
            step = twofactor.matching_step(row.totp_secret, code, now, None)
            if step is None:
                raise NotAuthenticated("that code does not match; check the time on your phone and try again")
            forget_users(conn)
            conn.execute(u.update().where(u.c.name == name).values(totp_enabled_at=now, totp_last_step=step))
            return self._new_recovery_codes(conn, name)

    def new_recovery_codes(self, name: str) -> list[str]:
        """Replace the user's recovery codes (the old ones stop working)."""
        with self.db.write() as conn:
            return self._new_recovery_codes(conn, name)

    def _new_recovery_codes(self, conn, name: str) -> list[str]:
        rc = t.recovery_codes
        conn.execute(rc.delete().where(rc.c.user_name == name))
        codes = twofactor.new_recovery_codes()
        conn.execute(rc.insert(), [{"user_name": name, "code_hash": twofactor.recovery_hash(c)} for c in codes])
        return codes

    def recovery_codes_left(self, name: str) -> int:
        rc = t.recovery_codes
        with self.db.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(rc).where(
                rc.c.user_name == name, rc.c.used_at.is_(None))).scalar()

    def disable_two_factor(self, name: str, actor: str | None = None) -> None:
        """Turn 2FA off (the user, with their password; or an admin for a lost phone)."""
        with self.db.write() as conn:
            forget_users(conn)
            if not conn.execute(u.update().where(u.c.name == name).values(
                    totp_secret=None, totp_enabled_at=None, totp_last_step=None)).rowcount:
                raise NotFound(f"no user {name!r}")
            audit.write(conn, self.now(), actor or name, "two_factor_off", subject=name)
            conn.execute(t.recovery_codes.delete().where(t.recovery_codes.c.user_name == name))

    # --- sessions ----------------------------------------------------------------------------

    def start_session(self, name: str, address: str | None = None, user_agent: str | None = None) -> str:
        token = new_token()
        with self.db.write() as conn:
            conn.execute(t.tokens.insert().values(user_name=name, token_hash=token_hash(token), kind="session",
                                                  created_at=self.now(), address=lockout.address_key(address),
                                                  user_agent=(user_agent or "")[:256] or None))
        return token

    def sessions(self, name: str, current: str | None = None) -> list[dict]:
        """The user's live sessions, newest first; `current` marks the caller's own."""
        tk = t.tokens
        mine = token_hash(current) if current else None
        with self.db.read() as conn:
            rows = conn.execute(sa.select(tk.c.id, tk.c.token_hash, tk.c.created_at, tk.c.address, tk.c.user_agent)
                                .where(tk.c.user_name == name, tk.c.kind == "session", tk.c.revoked_at.is_(None))
                                .order_by(tk.c.id.desc())).mappings().all()
        return [{"id": r["id"], "created_at": r["created_at"].isoformat(), "address": r["address"],
                 "user_agent": r["user_agent"], "current": r["token_hash"] == mine} for r in rows]

    def end_sessions(self, name: str, keep: str | None = None, session_id: int | None = None) -> int:
        """Log out everywhere (but `keep`, the caller's own session), or only session `session_id`."""
        tk = t.tokens
        q = tk.update().where(tk.c.user_name == name, tk.c.kind == "session", tk.c.revoked_at.is_(None))
        if keep:
            q = q.where(tk.c.token_hash != token_hash(keep))
        if session_id is not None:
            q = q.where(tk.c.id == session_id)
        with self.db.write() as conn:
            return conn.execute(q.values(revoked_at=self.now())).rowcount


_RESET_DEAD = "this password reset link is not valid any more (used or expired); ask for a new one"
