"""Loom's error types: one root, translated by the API and CLI and nothing else."""
from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True, order=True)
class Problem:
    """One mistake in a definition file, as `path:line:col: message [code]`."""

    file: str
    line: int
    col: int
    message: str
    code: str = "LOOM-E000"
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}:{self.col}: {prefix}{self.message} [{self.code}]"

    def as_json(self) -> dict:
        return {
            "file": self.file, "line": self.line, "col": self.col,
            "message": self.message, "code": self.code, "severity": self.severity,
        }


class LoomError(Exception):
    """Root of every error Loom raises on purpose; the API answers `status`, `code`,
    the message and `fields` (field or parameter name → what is wrong with it)."""

    status = 400
    code = "error"
    fields: Mapping[str, str] = MappingProxyType({})
    reason: str | None = None  # machine-readable why, for 403/409/422 (README: "Reasons")

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DefinitionError(LoomError):
    """Definitions that cannot be loaded; carries every problem found."""

    code = "definition_error"

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("<definitions>", 1, 1, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ValidationFailed(LoomError):
    """Input that breaks the form's rules; `fields` maps field path to message."""

    status = 422
    code = "validation_failed"

    def __init__(self, fields: dict[str, str], message: str = "Some fields need attention",
                 reason: str | None = None):
        super().__init__(message)
        self.fields = dict(fields)
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        details = "; ".join(f"{k}: {v}" for k, v in self.fields.items())
        return f"{self.message}: {details}" if details else self.message


class PermissionDenied(LoomError):
    """Not permitted: `reason` says which rule (not_permitted, step_locked,
    field_not_editable, field_not_readable, or an action's refusal)."""

    status = 403
    code = "permission_denied"
    reason = "not_permitted"

    def __init__(self, message: str, reason: str | None = None,
                 fields: Mapping[str, str] | None = None):
        super().__init__(message)
        if reason is not None:
            self.reason = reason
        if fields:
            self.fields = dict(fields)


class NotAuthenticated(LoomError):
    status = 401
    code = "not_authenticated"


class NotFound(LoomError):
    status = 404
    code = "not_found"


class Conflict(LoomError):
    """A stale write: someone else changed the record first (`stale_version`), or its
    state changed under the caller (`state_changed`: another approver decided first)."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, current_version: int | None = None,
                 reason: str | None = None):
        super().__init__(message)
        self.current_version = current_version
        self.reason = reason or ("stale_version" if current_version is not None
                                 else "state_changed")


class ActionRefused(LoomError):
    """An action the caller may not take now (403): `reason` says which rule refused it
    (not_allowed, not_assignee, self_approval, condition_false, not_in_step, ...).
    Only a stale version or a state that changed under the caller is a 409 (Conflict)."""

    status = 403
    code = "action_refused"
    # refusals that come from the record's current state, which others change (links to it,
    # its place in the trash): 409 like a stale version, "reload and look again"
    STATE_REASONS = frozenset({"linked", "not_deleted", "final_step", "source_not_ready"})

    def __init__(self, message: str, reason: str = "not_available"):
        super().__init__(message)
        self.reason = reason
        if reason in self.STATE_REASONS:
            self.status = 409


class Locked(LoomError):
    status = 429
    code = "locked"


class Throttled(Locked):
    """Too many failed logins or requests from one address: wait `retry_after` seconds."""

    code = "throttled"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class PasswordTooLong(LoomError):
    """Refused before hashing: hashing megabytes of "password" is a denial of service."""

    status = 400
    code = "password_too_long"


class SecondFactorRequired(NotAuthenticated):
    """The password was right; the account also needs its two-factor code.

    `pending` is a short-lived token naming the user, for a second step that
    does not resend the password (the login page); the API sends `otp` instead."""

    code = "second_factor_required"

    def __init__(self, message: str, pending: str | None = None):
        super().__init__(message)
        self.pending = pending


class BadParameter(LoomError):
    """A query or report parameter that is missing or malformed; `problem` is the
    short text shown beside the parameter (the message by default)."""

    status = 400
    code = "bad_parameter"

    def __init__(self, message: str, name: str | None = None, problem: str | None = None):
        super().__init__(message)
        self.name = name
        self.fields = {name: problem or message} if name else {}


class BadRequest(LoomError):
    """A request that cannot be read at all: no JSON object, no file, a missing credential."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None):
        super().__init__(message)
        self.fields = dict(fields or {})


@dataclass
class ExpressionError(LoomError):
    """An expression that does not parse, type-check or evaluate.

    `offset` is the column inside the expression text (0-based) so definition
    checks can point at the exact spot inside the YAML string.
    """

    message: str
    offset: int = 0
    code_: str = field(default="LOOM-E100")
    status = 400
    code = "expression_error"

    def __post_init__(self):
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        return self.message


class QueryTimeout(LoomError):
    """A database statement stopped by the statement timeout (the last fence)."""

    status = 503
    code = "query_timeout"


MAX_LOG_CHARS = 4096  # a log line longer than this keeps its head and tail only


def shorten(text: str, limit: int = MAX_LOG_CHARS) -> str:
    """`text` cut to about `limit` characters: its head and tail, saying how much went."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n... ({len(text) - 2 * half} characters cut) ...\n{text[-half:]}"


class ShortLogs(logging.Filter):
    """The one place log lines are bounded: a message or traceback carrying a whole
    expression or statement (SQLAlchemy puts the SQL in its errors) is cut to
    MAX_LOG_CHARS, so a hostile request cannot write megabytes to the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if len(message) > MAX_LOG_CHARS:
            record.msg, record.args = shorten(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = shorten("".join(traceback.format_exception(*record.exc_info))
                                      .rstrip("\n"))
        return True
