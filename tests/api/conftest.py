"""API fixtures: a Flask app over the shared `engine` fixture, clients per user."""
from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import VALID
from web import create_app


@pytest.fixture
def app(engine):
    app = create_app(engine, secret_key="test-secret")
    app.config["TESTING"] = True
    return app


@pytest.fixture
def tree(tmp_path):
    """A copy of the valid definitions tree, for a test that edits it."""
    root = tmp_path / "defs"
    shutil.copytree(VALID, root)
    return root


@pytest.fixture
def client(app):
    return app.test_client()


class Api:
    """A test client speaking JSON with a bearer token."""

    def __init__(self, app, token: str | None):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __getattr__(self, method):
        def call(path, json=None, **kw):
            headers = {**self.headers, **kw.pop("headers", {})}
            return getattr(self.client, method)(path, json=json, headers=headers, **kw)
        return call


@pytest.fixture
def api(app, engine):
    """api('alice') → a JSON client authenticated as alice with a bearer token."""
    return lambda name: Api(app, engine.create_token(name) if name else None)


@pytest.fixture
def catalog(engine, users):
    """A customer and two products, created by users who may."""
    cust = engine.create(users["alice"], "customer", {"name": "Acme", "region": "north"})
    p1 = engine.create(users["pat"], "product", {"sku": "P-1", "name": "Widget", "price": "12.50",
                                                 "stock_qty": 100})
    p2 = engine.create(users["pat"], "product", {"sku": "P-2", "name": "Gadget", "price": "3.20",
                                                 "stock_qty": 100})
    return {"customer": cust, "products": [p1, p2]}


def order_data(catalog, **over):
    p1, p2 = catalog["products"]
    data = {"customer": catalog["customer"].id, "order_date": "2026-03-02", "due_date": "2026-03-20",
            "channel": "phone",
            "lines": [{"product": p1.id, "qty": 2, "price": "12.50"}, {"product": p2.id, "qty": 5}]}
    data.update(over)
    return data


TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def logged_in(app, name: str):
    """A cookie client of `app` logged in as `name` (password `<name>-pass-123`) through the
    login form, CSRF token and all; `.token` is its CSRF token for posting pages."""
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    r = c.post("/login", data={"username": name, "password": f"{name}-pass-123",
                               "csrf_token": TOKEN_RE.search(page).group(1)})
    assert r.status_code == 302, r.get_data(as_text=True)
    c.token = TOKEN_RE.search(c.get("/account").get_data(as_text=True)).group(1)
    return c
