"""Apply the Alembic migrations of the fixed schema (`loom db upgrade`)."""
from __future__ import annotations

import os

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def alembic_config(connection=None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS)
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(database) -> None:
    """Bring the database to the newest revision; safe to run every start."""
    with database.engine.connect() as conn:
        conn = conn.execution_options(loom_write=True)
        with conn.begin():
            command.upgrade(alembic_config(conn), "head")


def current_revision(database) -> str | None:
    with database.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
