"""The engine's built-in words (engine/labels.py) are one table: the API's action list,
the record page's buttons, its "what happens next" list and its history say the
same word, and `return` is 回退 in Chinese everywhere."""
from __future__ import annotations


from engine.labels import BUILTIN_LABELS, builtin_label
from web import i18n

from .conftest import logged_in, order_data

def test_return__is_回退_in_the_api_the_buttons_and_the_history_for_a_chinese_speaker(
        app, api, engine, users, catalog):
    engine.users.update("sam", language="zh")
    order = engine.create(users["alice"], "sales_order", order_data(catalog))
    engine.act(users["alice"], "sales_order", order.id, "submit")
    url = f"/api/forms/sales_order/records/{order.id}"
    actions = {a["name"]: a["label"] for a in api("sam").get(url).get_json()["actions"]}
    assert (actions["return"], actions["approve"], actions["reject"]) == ("回退", "同意", "拒绝")
    page = logged_in(app, "sam").get(f"/f/sales_order/{order.id}").get_data(as_text=True)
    assert 'id="act-return" class="">回退</button>' in page  # the button
    assert "<strong>回退</strong> → Draft" in page  # what happens next
    assert api("sam").post(url + "/actions/return", json={"comment": "date?"}).status_code == 200
    page = logged_in(app, "sam").get(f"/f/sales_order/{order.id}").get_data(as_text=True)
    history = page[page.index('id="history"'):]
    assert "<strong>sam</strong> 回退" in history and "<strong>alice</strong> 提交" in history


def test_builtin_words__one_table_read_by_the_pages_with_english_as_the_fallback():
    assert builtin_label("return", "zh") == "回退" and builtin_label("return", "de") == "Return"
    assert builtin_label("no_such_word", "zh") is None
    for name, words in BUILTIN_LABELS.items():
        assert i18n.action_label(name, "zh") == words["zh"]
    assert not [k for k in i18n.TEXTS if k.startswith("act_")]  # no second table in web/
