"""Server-rendered pages, generated from the definitions (no page is written per form)."""
from __future__ import annotations

from . import (account_security, admin, admin_records, common, forms, home, imports, inbox,
               notifications, preview, reports)


def register(app) -> None:
    common.install(app)
    account_security.install(app)
    for module in (home, forms, preview, imports, inbox, reports, notifications, admin,
                   admin_records, account_security):
        app.register_blueprint(module.bp)
