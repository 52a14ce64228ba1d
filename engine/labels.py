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
    "migrate": {"en": "Migrated", "zh": "迁移"},  # `loom db migrate-records`
}


def builtin_label(name: str, language: str | None = "en") -> str | None:
    """The built-in word `name` in `language` (English when missing); None if not built in."""
    entry = BUILTIN_LABELS.get(name)
    if entry is None:
        return None
    return entry.get(language or "en") or entry["en"]


# Phrases the engine puts into messages an end user reads (a broken rule on
# another record, an on-enter action that found nothing to update).
PHRASES: Mapping[str, Mapping[str, str]] = {
    "line_at": {"en": "line {n}", "zh": "第 {n} 行"},
    "new_record": {"en": "new {form}", "zh": "新{form}"},
    "no_target": {"en": "{form}: nothing to update was found for {what}",
                  "zh": "{form}：未找到 {what} 对应的记录"},
    "several_targets": {"en": "{form}: more than one record matches {what}",
                        "zh": "{form}：{what} 对应的记录不止一条"},
    "no_line": {"en": "{doc} has no such line (it may have been removed)",
                "zh": "{doc} 中没有这一行（可能已被删除）"},
}


def phrase(key: str, language: str | None = "en", **values) -> str:
    """An engine phrase in `language` (English when missing), filled with `values`."""
    return _filled(PHRASES[key], language, values)


def _filled(entry: Mapping[str, str], language: str | None, values: Mapping) -> str:
    return (entry.get(language or "en") or entry["en"]).format(**values)


# What the workflow tells people about their work (engine/workflow/news.py): subject
# templates per event, and the body's lines. `{form}` is the form's label, `{title}` the
# record's number or title, `{step}` a step's label, `{actor}` who acted.
NEWS: Mapping[str, Mapping[str, str]] = {
    "assigned": {"en": "New task: {form} {title} ({step})", "zh": "新待办：{form} {title}（{step}）"},
    "transferred": {"en": "{actor} transferred a task to you: {form} {title} ({step})",
                    "zh": "{actor} 将任务转交给您：{form} {title}（{step}）"},
    "added": {"en": "{actor} added you as a signer: {form} {title} ({step})",
              "zh": "{actor} 为您加签：{form} {title}（{step}）"},
    "approved": {"en": "Approved: {form} {title}", "zh": "已通过：{form} {title}"},
    "rejected": {"en": "Rejected: {form} {title}", "zh": "已拒绝：{form} {title}"},
    "returned": {"en": "Returned to {step}: {form} {title}", "zh": "已回退到{step}：{form} {title}"},
    "copied": {"en": "{actor} copied you in: {form} {title}", "zh": "{actor} 抄送给您：{form} {title}"},
    # SLAs (engine/workflow/sla.py): `{due}` is when the decision was due
    "overdue": {"en": "Overdue: your decision on {form} {title} ({step}) was due {due}",
                "zh": "已超时：{form} {title}（{step}）的审批应于 {due} 前完成"},
    "escalated": {"en": "Escalated to you: {form} {title} is overdue ({step})",
                  "zh": "超时升级给您：{form} {title}（{step}）已超时"},
    "by": {"en": "By {actor}.", "zh": "处理人：{actor}。"},
    "comment": {"en": "Comment: {comment}", "zh": "意见：{comment}"},
    "open": {"en": "Open it: {link}", "zh": "查看：{link}"},
}


def news_text(key: str, language: str | None, **values) -> str:
    """A NEWS template in `language` (English when missing), filled in."""
    return _filled(NEWS[key], language, values)
