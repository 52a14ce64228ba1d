"""Labels of the built-in words the engine and the UI both show: the built-in
workflow actions and the events of a record's history.

One table, so an action button, the "what happens next" list and the history
say the same word. Definitions label their own actions and steps; these are
only the engine's words. Chinese: 回退 for `return` (back to a step the record
passed through, as DESIGN.md names it), never 退回 (send goods back).
"""
from __future__ import annotations

from typing import Mapping

BUILTIN_LABELS: Mapping[str, Mapping[str, str]] = {
    # actions every workflow has (or every approval step)
    "submit": {"en": "Submit", "zh": "提交"},
    "approve": {"en": "Approve", "zh": "同意"},
    "reject": {"en": "Reject", "zh": "拒绝"},
    "return": {"en": "Return", "zh": "回退"},
    "transfer": {"en": "Transfer", "zh": "转交"},
    "withdraw": {"en": "Withdraw", "zh": "撤回"},
    "comment": {"en": "Comment", "zh": "评论"},
    "cc": {"en": "Copy in", "zh": "抄送"},
    "add_signer": {"en": "Add signer", "zh": "加签"},
    "reassign": {"en": "Hand over", "zh": "移交"},
    "delete": {"en": "Delete", "zh": "删除"},
    "restore": {"en": "Restore", "zh": "恢复"},
    # history events that are no action
    "create": {"en": "Created", "zh": "创建"},
    "update": {"en": "Updated", "zh": "修改"},
    "enter": {"en": "Entered", "zh": "进入"},
    "escalate": {"en": "Escalated", "zh": "升级"},
}


def builtin_label(name: str, language: str | None = "en") -> str | None:
    """The built-in word `name` in `language` (English when missing); None if not built in."""
    entry = BUILTIN_LABELS.get(name)
    if entry is None:
        return None
    return entry.get(language or "en") or entry["en"]
