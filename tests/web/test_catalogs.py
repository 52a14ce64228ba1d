"""The UI's word catalogs are complete: every key in every language, every key a page asks
for exists, every engine word (refusal reasons, alert outcomes, workflow news) is covered."""
from __future__ import annotations

import re
from pathlib import Path

from engine.alerts.traces import OUTCOMES
from engine.labels import BUILTIN_LABELS, NEWS
from web import i18n
from web.views.inbox import AGES, DUES, SORTS, STATUSES

WEB = Path(__file__).resolve().parents[2] / "web"
ENGINE = Path(__file__).resolve().parents[2] / "engine"
LANGUAGES = ("en", "zh")


def test_every_ui_word_has_every_language():
    missing = [f"{key}.{lang}" for key, entry in i18n.TEXTS.items() for lang in LANGUAGES
               if not (entry.get(lang) or "").strip()]
    assert not missing, missing


def test_every_engine_word_has_every_language():
    for table in (BUILTIN_LABELS, NEWS):
        missing = [f"{key}.{lang}" for key, entry in table.items() for lang in LANGUAGES
                   if not (entry.get(lang) or "").strip()]
        assert not missing, missing


def test_every_key_a_page_or_view_asks_for_exists():
    asked = set()
    for path in list(WEB.rglob("*.html")) + list(WEB.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        asked |= set(re.findall(r"""\bt\(\s*['"](\w+)['"]\s*[,)]""", text))
        asked |= set(re.findall(r"""\bflash\(\s*['"](\w+)['"]\s*\)""", text))
    assert asked, "the pattern finds the keys pages use"
    assert sorted(asked - set(i18n.TEXTS)) == []


def test_keys_pages_build_from_engine_values_exist():
    built = [f"status_{s}" for s in (*STATUSES, "cancelled")] + [f"sort_{s}" for s in SORTS] \
        + [f"age_{a}" for a in AGES] + [f"due_{d}" for d in DUES] \
        + [f"outcome_{o}" for o in OUTCOMES] + [f"decision_{d}" for d in ("approve", "reject", "return", "cc")] \
        + [f"lang_name_{lang}" for lang in LANGUAGES] + [f"error_{s}" for s in (400, 401, 403, 404, 405, 409, 413, 422, 429, 500)] \
        + ["transfer_label", "add_signer_label", "cc_label", "kind_cc"]
    assert sorted(k for k in built if k not in i18n.TEXTS) == []


def test_every_refusal_reason_the_engine_raises_has_a_sentence():
    reasons = set()
    for path in ENGINE.rglob("*.py"):
        reasons |= set(re.findall(r'ActionRefused\(.{0,300}?,\s*"(\w+)"\)', path.read_text(encoding="utf-8"),
                                  flags=re.S))
    assert {"condition_false", "already_assignee", "self_approval"} <= reasons
    assert sorted(r for r in reasons if f"reason_{r}" not in i18n.TEXTS) == []


def test_engine_validation_messages_are_said_in_chinese():
    for raw, said in [("is required", "必填"), ("expected a number", "请输入数字"),
                      ("at most 2 decimal places", "最多 2 位小数"),
                      ("'x' is not one of: a, b", "不是可选项之一"),
                      ("a comment is required to reject", "必须填写意见"),
                      ("something new the catalog does not know", "内容无效"),
                      ("交货日期不能早于下单日期", "交货日期不能早于下单日期")]:
        assert i18n.message(raw, "zh") == said
    assert i18n.message("is required", "en") == "is required"
