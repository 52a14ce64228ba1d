"""Server-rendered pages, generated from the definitions (no page is written per form)."""
from __future__ import annotations


def register(app) -> None:
    from . import account_security, admin, common, forms, home, imports, inbox, notifications, reports

    common.install(app)
    account_security.install(app)
    for module in (home, forms, imports, inbox, reports, notifications, admin, account_security):
        app.register_blueprint(module.bp)
