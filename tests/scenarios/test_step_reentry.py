"""The bundled ERP app: coming back into `approved` (a rejected change or cancel request)
does not reserve the stock again nor raise a second work order (issue 13, item 8)."""
from __future__ import annotations

import pytest

from tests.scenarios.test_order_to_cash import World, erp  # noqa: F401  (fixture)

pytestmark = pytest.mark.outbox_ok  # the app's alerts email users without an address


@pytest.fixture
def world(erp):  # noqa: F811
    return World(erp)


@pytest.mark.parametrize("request_action", ["request_change", "request_cancel"])
def test_a_rejected_request_does_not_reserve_twice_or_make_a_second_work_order(
        world, request_action):
    erp, u = world.erp, world.u
    sofa = erp.create(u["pat"], "product", {"sku": "SF-900", "name": "Custom sofa",
                                            "price": "8000", "made_to_order": True})
    order = world.order([{"product": sofa.id, "size": "220x95", "material": "linen",
                          "colour": "sage", "qty": 1},
                         {"product": world.lamp.id, "qty": 3}])
    erp.act(u["alice"], "sales_order", order.id, "submit")
    erp.act(u["sam"], "sales_order", order.id, "approve")
    assert world.stock(world.lamp_sh)["reserved"] == 3
    assert erp.list(u["root"], "work_order").total == 1
    for _ in range(2):
        erp.act(u["alice"], "sales_order", order.id, request_action, comment="please")
        erp.act(u["sam"], "sales_order", order.id, "reject", comment="no")
        assert world.get("sales_order", order.id).state == "approved"
        assert world.stock(world.lamp_sh)["reserved"] == 3
        assert erp.list(u["root"], "work_order").total == 1
