"""The claims app (tests/fixtures/handover): role groups, hand-over, delete and restore."""
from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, make_engine
from web import create_app
from tests.api.conftest import Api

HANDOVER = FIXTURES / "handover"

CLAIM_USERS = {
    # name: (roles, manager)
    "dan": (["director"], None),
    "lea": (["lead"], "dan"),
    "sid": (["staff"], "lea"),
    "tom": (["staff"], "lea"),
    "ann": (["auditor"], None),
    "root": (["admin"], None),
}


@pytest.fixture
def claims(database_url, clock):
    """An engine over the claims app with its users."""
    eng = make_engine(HANDOVER, database_url, clock)
    for name, (roles, manager) in CLAIM_USERS.items():
        eng.add_user(name, roles, manager=manager, email=f"{name}@example.com",
                     password=f"{name}-pass-123", is_admin=name == "root")
    yield eng
    eng.close()


@pytest.fixture
def who(claims):
    return {name: claims.user(name) for name in CLAIM_USERS}


@pytest.fixture
def claims_app(claims):
    app = create_app(claims, secret_key="test-secret")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def http(claims, claims_app):
    """http('sid') → a JSON client authenticated as sid (http(None): not logged in)."""
    return lambda name: Api(claims_app, claims.create_token(name) if name else None)
