"""The engine and the web UI know no app: no ERP word (the bundled app's forms, fields
and roles) in their code, messages, hints, JSON Schema descriptions or UI tables.
Examples there use neutral names (expense_claim, project.region, item.kit.parts)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (".py", ".html", ".js", ".json", ".css")
ERP = re.compile(
    r"\b(sales|orders|products?|stock|customers?|ship|ships|shipped|shipping|shipments?|"
    r"invoices?|invoiced|warehouses?|suppliers?|sku|bom|requisitions?|payments?|inventory|erp|"
    r"(sales|purchase|work)_orders?|delivery_notes?)\b"
    r"|订单|发货|客户|库存|采购|供应商|仓库|发票|产品|销售", re.IGNORECASE)


def erp_words(folder: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / folder).rglob("*")):
        if path.suffix not in SOURCES or "__pycache__" in path.parts:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.relative_to(root)}:{n}: {m.group(0)}" for m in ERP.finditer(line)]
    return found


def test_engine_sources__name_no_erp_word():
    assert erp_words("engine") == []


def test_web_sources__name_no_erp_word():
    assert erp_words("web") == []


def test_the_scan__finds_an_erp_word_where_there_is_one(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "hint.py").write_text('HINT = "like target.product == line.product"\n')
    (tmp_path / "pkg" / "sorting.py").write_text('"""Rows in order, sort_order, ordered."""\n')
    assert erp_words("pkg", tmp_path) == ["pkg/hint.py:1: product", "pkg/hint.py:1: product"]
