"""drop users.session_epoch: sessions are token rows, revoked server-side

Revision ID: 0003_drop_session_epoch
Revises: 0002_alert_traces_at
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_drop_session_epoch"
down_revision = "0002_alert_traces_at"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_epoch")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False))
