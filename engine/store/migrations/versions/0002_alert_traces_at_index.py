"""index alert_traces.at

The worker prunes traces older than 30 days (`DELETE ... WHERE at < ?`) on
every pass; without an index that is a full scan of a table that grows by a
row per alert evaluation.

Revision ID: 0002_alert_traces_at
Revises: 0001
"""
from alembic import op

revision = '0002_alert_traces_at'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_traces', schema=None) as batch_op:
        batch_op.create_index('ix_alert_traces_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_traces', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_traces_at')
