"""Fuzz the API from its own OpenAPI document: whatever is sent, no 500s.

Bounded: a few examples per operation (a few hundred requests in all), against
the app served by waitress on 127.0.0.1, authenticated with a bearer token.

Uses schemathesis' plain Python API (`operation.as_strategy()` under
hypothesis' `@given`) rather than its pytest plugin: the plugin reaches into
pytest internals (`Function._nodeid`) that pytest 9 removed, and this way the
test does not depend on how either project spells its node ids.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.web.conftest import serving


def fuzz(operation, headers: dict) -> None:
    """Send a few generated requests to one operation; any 5xx fails."""

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def run(case):
        response = case.call(headers=headers)
        case.validate_response(response, checks=(not_a_server_error,))

    run()


def fuzz_served(engine, headers: dict, *, exclude: str | None = None,
                path_regex: str | None = None) -> list[str]:
    """Serve `engine`'s app under waitress, read its OpenAPI document over HTTP and fuzz every
    operation (or those whose path matches `path_regex`, minus `exclude`); the operations fuzzed."""
    with serving(engine, "fuzz") as base:
        # the schema is public (no login needed to read it)
        schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
        schema.config.update(base_url=base, headers=headers)
        if path_regex:
            schema = schema.include(path_regex=path_regex)
        if exclude:
            schema = schema.exclude(path_regex=exclude)
        fuzzed = []
        for result in schema.get_all_operations():
            operation = result.ok()  # an operation the schema cannot describe is itself a failure
            fuzz(operation, headers)
            fuzzed.append(f"{operation.method.upper()} {operation.path}")
        return fuzzed


@pytest.mark.outbox_ok  # fuzzed records may trigger alerts that queue email
def test_api_never_answers_500(engine, users):
    engine.create(users["alice"], "customer", {"name": "Acme", "region": "north"})
    engine.create(users["pat"], "product", {"sku": "P-1", "name": "Widget", "price": "2.00"})
    headers = {"Authorization": f"Bearer {engine.create_token('alice')}"}
    fuzzed = fuzz_served(engine, headers, exclude=r"/import$|^/api/session$")
    assert len(fuzzed) >= 10, fuzzed
