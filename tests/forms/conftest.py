from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from engine.auth.users import User
from engine.clock import FrozenClock
from engine.definitions.catalog import load_definitions
from engine.forms.runtime import FormRuntime
from engine.bootstrap import default_registries

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOW = datetime(2024, 3, 5, 10, 30)


class FakeServices:
    """Records by (form, id) that the user may read; known usernames; a frozen clock."""

    def __init__(self, records=None, users=("alice", "bob")):
        self.records = dict(records or {})
        self.users = set(users)
        self.clock = FrozenClock(NOW)
        self.loads: list = []

    def load(self, form, id):
        self.loads.append((form, id))
        return self.records.get((form, id))

    def user_exists(self, name):
        return name in self.users


@pytest.fixture(scope="session")
def registries():
    return default_registries(load_plugins=False)


@pytest.fixture(scope="session")
def erp(registries):
    return load_definitions(str(FIXTURES / "valid"), registries)


@pytest.fixture(scope="session")
def kitchen_defs(registries):
    return load_definitions(str(FIXTURES / "forms"), registries)


@pytest.fixture(scope="session")
def sales_order(erp, registries):
    return FormRuntime(erp.forms["sales_order"], erp, registries)


@pytest.fixture(scope="session")
def kitchen(kitchen_defs, registries):
    return FormRuntime(kitchen_defs.forms["kitchen"], kitchen_defs, registries)


@pytest.fixture
def services():
    return FakeServices({
        ("customer", 1): {"name": "ACME", "region": "north"},
        ("product", 1): {"name": "Widget", "price": Decimal("19.99")},
        ("product", 2): {"name": "Gadget", "price": Decimal("5.00")},
        ("contact", 1): {"name": "Ann", "region": "south", "discount": Decimal("0.1250")},
    })


@pytest.fixture
def alice():
    return User("alice", frozenset({"sales"}))
