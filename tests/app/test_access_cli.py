"""`loom access`: who may do what, from the definitions alone (no database)."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from engine.cli import main

APP = str(Path(__file__).resolve().parents[2] / "definitions")


def run(*args):
    result = CliRunner().invoke(main, ["access", "--definitions", APP, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_access_json_lists_every_form_and_role_with_fields_and_steps():
    entries = json.loads(run("--format", "json"))
    roles = {e["role"] for e in entries}
    assert {"sales", "finance", "owner"} <= roles
    by = {(e["form"], e["role"]): e for e in entries}
    assert "cost" not in by[("product", "sales")]["fields"]["read"]
    assert "cost" in by[("product", "production")]["fields"]["read"]
    assert "credit_limit" not in by[("customer", "sales")]["fields"]["edit"]
    assert "credit_limit" in by[("customer", "finance")]["fields"]["edit"]
    finance = by[("sales_order", "finance")]["steps"]
    assert finance["finance_review"]["edit"] == ["notes"]
    assert "approve" in finance["finance_review"]["actions"]
    assert by[("sales_order", "owner")]["steps"]["approved"]["edit"] == []
    assert by[("sales_order", "owner")]["steps"]["approved"]["actions"] == [
        "request_change", "request_cancel", "reassign"]
    assert by[("sales_order", "owner")]["steps"]["draft"]["delete"] is True  # drafts: by their owner


def test_access_text_filters_by_role_and_form():
    out = run("--role", "sales", "--form", "customer").splitlines()
    assert out == ["form customer",
                   "  sales            create read update ------  read-only: credit_limit, "
                   "payment_days, balance, credit_available, over_credit"]
    out = run("--role", "finance", "--form", "sales_order")
    assert "    finance_review     edit: notes; actions: approve, reject, return, transfer, " \
           "add_signer, comment, cc" in out.splitlines()


def test_access_names_the_roles_when_one_is_unknown():
    result = CliRunner().invoke(main, ["access", "--definitions", APP, "--role", "sale"])
    assert result.exit_code == 1 and "no role 'sale'; the roles are sales," in result.output
