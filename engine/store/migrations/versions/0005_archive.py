"""archive tables: archived_records, archived_events, archived_tasks

Final records a form's `archive:` rule selects move here (engine/archive):
out of lists, reports and alert scans, still readable by id and searchable
by admins. Ids are kept, so links and history still point at them.

Revision ID: 0005_archive
Revises: 0004_accounts
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0005_archive"
down_revision = "0004_accounts"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "archived_records",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=128), nullable=True),
        sa.Column("state", sa.String(length=64), nullable=True),
        sa.Column("data", Json, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("definition_version", sa.String(length=64), nullable=True),
        sa.Column("archived_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_records")),
    )
    op.create_index("ix_archived_records_form_number", "archived_records", ["form", "number"])
    op.create_index("ix_archived_records_form_updated", "archived_records", ["form", "updated_at"])
    op.create_table(
        "archived_events",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("from_state", sa.String(length=64), nullable=True),
        sa.Column("to_state", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("diff", Json, nullable=True),
        sa.Column("detail", Json, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_events")),
    )
    op.create_index("ix_archived_events_record", "archived_events", ["record_id", "id"])
    op.create_table(
        "archived_tasks",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.Column("form", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("visit", sa.Integer(), server_default="1", nullable=False),
        sa.Column("kind", sa.String(length=16), server_default="approve", nullable=False),
        sa.Column("assignee", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decision", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("delegated_from", sa.String(length=128), nullable=True),
        sa.Column("transferred_from", sa.String(length=128), nullable=True),
        sa.Column("escalated", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archived_tasks")),
    )
    op.create_index("ix_archived_tasks_record", "archived_tasks", ["record_id"])
    op.create_index("ix_archived_tasks_assignee", "archived_tasks", ["assignee"])


def downgrade() -> None:
    op.drop_table("archived_tasks")
    op.drop_table("archived_events")
    op.drop_table("archived_records")
