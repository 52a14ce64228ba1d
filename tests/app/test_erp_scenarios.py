"""The bundled app's scenario tests (definitions/tests, run by `loom test`) pass, and the
coverage they report names real steps: the admins' own specification runs in our suite."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.outbox_ok  # scenarios queue emails nobody delivers, on purpose


def test_the_erp_scenarios_pass(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["test", "definitions/tests", "--format", "json"])
    data = json.loads(result.stdout)
    failures = [f"{s['file']}:{s['line']}: {s['message']}" for s in data["scenarios"]
                if s["status"] != "passed"]
    assert failures == [] and result.exit_code == 0
    assert {s["scenario"] for s in data["scenarios"]} >= {"order_approvals", "order_to_invoice"}
    sales = next(c for c in data["coverage"] if c["workflow"] == "sales_order")
    assert sales["steps"][0] >= 6  # draft, the three reviews, approved, rejected at least
