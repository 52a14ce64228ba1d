import pytest

from engine.definitions.model import FieldSpec, Label, Value
from engine.errors import DefinitionError
from engine.expr import Expr, parse
from engine.forms.computation import evaluation_order, field_deps


def spec(name, compute=None, default=None, visible_if=None, fields=()):
    return FieldSpec(name=name, type="table" if fields else "money", label=Label.of(name),
                     compute=parse(compute) if compute else None,
                     default=Value(expr=parse(default)) if default else None,
                     visible_if=parse(visible_if) if visible_if else None, fields=fields)


def order(specs):
    names = {s.name for s in specs}
    return [s.name for s in evaluation_order("f", specs, {s.name: field_deps(s, names)
                                                         for s in specs})]


def test_order__declaration_order_unless_a_dependency_forces_otherwise():
    specs = [spec("total", compute="sum(lines.amount)"),
             spec("lines", fields=(spec("amount", compute="qty * rate"),)),
             spec("rate", default="base * 2"), spec("base"), spec("qty")]
    assert order(specs) == ["base", "rate", "qty", "lines", "total"]


def test_order__visibility_waits_for_the_fields_it_names():
    specs = [spec("reason", visible_if="discount > 0"), spec("discount", default="0")]
    assert order(specs) == ["discount", "reason"]


def test_cycle__is_a_definition_error_naming_the_fields():
    specs = [spec("a", compute="b + 1"), spec("b", compute="a + 1"), spec("c")]
    with pytest.raises(DefinitionError, match="a, b depend on each other"):
        order(specs)


def test_prepare__never_compiles_or_parses_again(sales_order, services, alice, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("compiled at run time")

    monkeypatch.setattr(Expr, "compile_python", boom)
    monkeypatch.setattr("engine.expr.parser.parse", boom)
    raw = {"customer": 1, "due_date": "2024-04-01", "lines": [{"product": 1, "qty": 1}]}
    sales_order.prepare(raw, user=alice, services=services)
