"""definitions_state: the definitions version every process converges on (`loom reload`)

Revision ID: 0014_definitions_state
Revises: 0012_saved_views
"""
from alembic import op
import sqlalchemy as sa

revision = "0014_definitions_state"
down_revision = "0012_saved_views"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "definitions_state",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("loaded_at", sa.DateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_definitions_state"),
    )


def downgrade() -> None:
    op.drop_table("definitions_state")
