"""The fixed schema every Loom app shares (managed by Alembic).

Per-form typed tables (`t_<form>`, `t_<form>__<table>`) are not here: the
engine creates them from the definitions, see typed.py.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

# JSONB on PostgreSQL, JSON text on SQLite.
Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PRIMARY KEY = rowid on SQLite
Stamp = sa.DateTime()  # naive UTC everywhere

records = sa.Table(
    "records", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("number", sa.String(128)),
    sa.Column("state", sa.String(64)),
    sa.Column("data", Json, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("definition_version", sa.String(64)),
    # soft delete (the trash): set while the record is deleted; its typed rows are gone meanwhile
    sa.Column("deleted_at", Stamp),
    sa.Column("deleted_by", sa.String(128)),
    sa.UniqueConstraint("form", "number"),
    sa.Index("ix_records_form_id", "form", "id"),
)

# Append-only: nothing in the engine updates or deletes these rows, except an import
# undone (engine/io/journal.py) taking its records' history with them.
events = sa.Table(
    "events", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("from_state", sa.String(64)),
    sa.Column("to_state", sa.String(64)),
    sa.Column("comment", sa.Text),
    sa.Column("task_id", sa.BigInteger),
    sa.Column("version", sa.Integer),
    sa.Column("diff", Json),
    sa.Column("detail", Json),
    sa.Index("ix_events_record", "record_id", "id"),
)

counters = sa.Table(
    "counters", metadata,
    sa.Column("form", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("full_name", sa.String(256)),
    sa.Column("password_hash", sa.String(256)),
    sa.Column("email", sa.String(256)),
    sa.Column("language", sa.String(16), nullable=False, server_default="en"),
    sa.Column("manager", sa.String(128)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
    sa.Column("locked_until", Stamp),
    sa.Column("away_from", sa.Date),
    sa.Column("away_until", sa.Date),
    sa.Column("delegate", sa.String(128)),
    sa.Column("created_at", Stamp, nullable=False),
    # failed logins up to here do not count (after a success, an unlock, a password reset)
    sa.Column("login_failures_cleared", sa.BigInteger),  # the last login_failures.id that no longer counts
    sa.Column("totp_secret", sa.String(64)),  # set while enrolling; 2FA is on once enabled
    sa.Column("totp_enabled_at", Stamp),
    sa.Column("totp_last_step", sa.BigInteger),  # a TOTP code is accepted once (no replay)
)

user_roles = sa.Table(
    "user_roles", metadata,
    sa.Column("user_name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Index("ix_user_roles_role", "role"),
)

tokens = sa.Table(
    "tokens", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False, server_default="api"),  # api | session
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp),
    sa.Column("last_used_at", Stamp),
    sa.Column("revoked_at", Stamp),
    sa.Column("address", sa.String(64)),  # where a session was started (the sessions list)
    sa.Column("user_agent", sa.String(256)),
)

# Forgot-password links: single use, expiring, only the SHA-256 of the token is kept.
password_resets = sa.Table(
    "password_resets", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("token_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("expires_at", Stamp, nullable=False),
    sa.Column("used_at", Stamp),
)

# Two-factor recovery codes, stored hashed; each works once.
recovery_codes = sa.Table(
    "recovery_codes", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("code_hash", sa.String(128), nullable=False),
    sa.Column("used_at", Stamp),
    sa.Index("ix_recovery_codes_user", "user_name"),
)

# Rate-limited account requests (password reset asks, per account and per address).
auth_requests = sa.Table(
    "auth_requests", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("key", sa.String(256), nullable=False),
    sa.Column("at", Stamp, nullable=False),
    sa.Index("ix_auth_requests_key", "kind", "key", "at"),
)

login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(128)),
    sa.Column("address", sa.String(64)),
    sa.Column("at", Stamp, nullable=False),
    sa.Index("ix_login_failures_user", "user_name", "at"),
    sa.Index("ix_login_failures_address", "address", "at"),
)

tasks = sa.Table(
    "tasks", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("step", sa.String(64), nullable=False),
    sa.Column("visit", sa.Integer, nullable=False, server_default="1"),  # nth entry into the step
    sa.Column("kind", sa.String(16), nullable=False, server_default="approve"),  # approve | cc
    sa.Column("assignee", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # open | waiting | done | cancelled | transferred
    sa.Column("decision", sa.String(64)),
    sa.Column("comment", sa.Text),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),  # add_signer order
    sa.Column("delegated_from", sa.String(128)),
    sa.Column("transferred_from", sa.String(128)),
    sa.Column("escalated", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("due_at", Stamp),
    sa.Column("reminded_at", Stamp),
    sa.Column("decided_at", Stamp),
    sa.Index("ix_tasks_inbox", "assignee", "status", "id"),
    sa.Index("ix_tasks_record", "record_id", "status"),
    sa.Index("ix_tasks_due", "status", "due_at"),
)

notifications = sa.Table(
    "notifications", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text),
    sa.Column("form", sa.String(64)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("source", sa.String(128)),  # alert id, workflow step, ...
    sa.Column("read_at", Stamp),
    sa.Index("ix_notifications_inbox", "user_name", "read_at", "id"),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),  # pending | sent | dead | undeliverable
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Stamp, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", Stamp),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("sent_at", Stamp),
    sa.Index("ix_outbox_due", "status", "next_attempt_at"),
)

alert_state = sa.Table(
    "alert_state", metadata,
    sa.Column("alert", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.BigInteger, primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("last_fired_at", Stamp),
    sa.Column("last_tick", Stamp),
)

alert_traces = sa.Table(
    "alert_traces", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("alert", sa.String(64), nullable=False),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),  # fired | condition_false | suppressed | no_recipients | error
    sa.Column("detail", Json),
    sa.Index("ix_alert_traces_alert", "alert", "id"),
    sa.Index("ix_alert_traces_record", "record_id", "id"),
    sa.Index("ix_alert_traces_at", "at"),  # the worker's prune: DELETE ... WHERE at < ?
)

leases = sa.Table(
    "leases", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("owner", sa.String(64)),
    sa.Column("until", Stamp),
    sa.Column("last_tick", Stamp),
)

# An import writes its records in short batches; until it is `done` every record it
# made is listed here, so a failed or crashed import can be undone (engine/io/journal.py).
imports = sa.Table(
    "imports", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | done | undone
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", Stamp, nullable=False),
    sa.Column("alive_at", Stamp, nullable=False),  # wall clock, renewed by every batch
    sa.Column("finished_at", Stamp),
    sa.Index("ix_imports_status", "status"),
)

import_records = sa.Table(
    "import_records", metadata,
    sa.Column("import_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("record_id", sa.BigInteger, primary_key=True, autoincrement=False),
)

typed_tables = sa.Table(
    "typed_tables", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("signature", sa.String(64), nullable=False),
    sa.Column("indexes", sa.Text),
)

# --- the archive (migration 0005): final records moved out of lists and reports ---------
# Same columns as their live tables plus when they were archived; `data` keeps the whole
# record, line items included, so the typed and line rows (a projection of it) are not kept.

archived_records = sa.Table(
    "archived_records", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("form", sa.String(64), nullable=False),
    sa.Column("number", sa.String(128)),
    sa.Column("state", sa.String(64)),
    sa.Column("data", Json, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("owner", sa.String(128), nullable=False),
    sa.Column("created_at", Stamp, nullable=False),
    sa.Column("updated_at", Stamp, nullable=False),
    sa.Column("definition_version", sa.String(64)),
    sa.Column("archived_at", Stamp, nullable=False),
    sa.Index("ix_archived_records_form_number", "form", "number"),
    sa.Index("ix_archived_records_form_updated", "form", "updated_at"),
)

archived_events = sa.Table(
    "archived_events", metadata,
    *[sa.Column(c.name, sa.BigInteger if c.name == "id" else c.type, primary_key=c.primary_key,
                autoincrement=False, nullable=c.nullable) for c in events.columns],
    sa.Index("ix_archived_events_record", "record_id", "id"),
)

archived_tasks = sa.Table(
    "archived_tasks", metadata,
    *[sa.Column(c.name, sa.BigInteger if c.name == "id" else c.type, primary_key=c.primary_key,
                autoincrement=False, nullable=c.nullable) for c in tasks.columns],
    sa.Index("ix_archived_tasks_record", "record_id"),
    sa.Index("ix_archived_tasks_assignee", "assignee"),
)


# Who did what to accounts and records, for administrators: logins (success and failure),
# role and permission changes, password resets, deactivation, unlocks, deletes, restores,
# purges and hand-overs. Append-only.
audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", Stamp, nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),  # who did it ("system", or the name tried)
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(128)),  # the user acted on (a login's name, a role change's user)
    sa.Column("form", sa.String(64)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("address", sa.String(64)),
    sa.Column("detail", Json),
    sa.Index("ix_audit_log_at", "at", "id"),
    sa.Index("ix_audit_log_actor", "actor", "at"),
    sa.Index("ix_audit_log_subject", "subject", "at"),
)
