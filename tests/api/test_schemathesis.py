"""Fuzz the API from its own OpenAPI document: whatever is sent, no 500s.

Bounded: a few examples per operation (a few hundred requests in all), against
the app served by waitress on 127.0.0.1, authenticated with a bearer token.
"""
from __future__ import annotations

import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from web import create_app


@pytest.fixture
def api_schema(engine, users):
    from waitress.server import create_server

    engine.create(users["alice"], "customer", {"name": "Acme", "region": "north"})
    engine.create(users["pat"], "product", {"sku": "P-1", "name": "Widget", "price": "2.00"})
    app = create_app(engine, secret_key="fuzz")
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    token = engine.create_token("alice")
    base = f"http://127.0.0.1:{srv.effective_port}"
    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json",
                                           headers={"Authorization": f"Bearer {token}"})
    schema.config.update(base_url=base, headers={"Authorization": f"Bearer {token}"})
    yield schema.exclude(path_regex=r"/import$|^/api/session$")
    srv.close()
    thread.join(timeout=5)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.outbox_ok  # random writes fire alerts that queue email
@pytest.mark.outbox_ok  # fuzzed records may trigger alerts that queue emails
@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_never_answers_500(case):
    response = case.call()
    case.validate_response(response, checks=(not_a_server_error,))
