"""saved_views: a user's named list filters per form (uxpages)

Revision ID: 0012_saved_views
Revises: 0011_user_preferences
"""
from alembic import op
import sqlalchemy as sa

revision = "0012_saved_views"
down_revision = "0011_user_preferences"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("user_name", sa.String(128), nullable=False),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_saved_views"),
        sa.UniqueConstraint("user_name", "form", "name", name="uq_saved_views_user_name_form_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
