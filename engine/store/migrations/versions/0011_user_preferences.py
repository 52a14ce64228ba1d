"""users.time_zone and users.notify_by: where a user's times are shown and how they hear of work

Revision ID: 0011_user_preferences
Revises: 0010_trash_and_audit
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_user_preferences"
down_revision = "0010_trash_and_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(64)))
        batch.add_column(sa.Column("notify_by", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("notify_by")
        batch.drop_column("time_zone")
