"""imports and import_records: imports written in batches can be undone after a crash

Revision ID: 0006_imports
Revises: 0005_archive
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_imports"
down_revision = "0005_archive"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("form", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("alive_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_imports"),
    )
    op.create_index("ix_imports_status", "imports", ["status"])
    op.create_table(
        "import_records",
        sa.Column("import_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("import_id", "record_id", name="pk_import_records"),
    )


def downgrade() -> None:
    op.drop_table("import_records")
    op.drop_index("ix_imports_status", table_name="imports")
    op.drop_table("imports")
