"""UI chrome strings in the user's language; definition labels come from `Label.get`.

Definitions carry their own translations (`{en: .., zh: ..}`); this table only
holds the words the UI itself prints. The engine's built-in words (built-in
actions, history events) live in one table, `engine/labels.py`, which the
workflow facade and these pages share. A missing key falls back to English,
then to the key, so a new string never breaks a page.
"""
from __future__ import annotations

from engine.labels import builtin_label

LANGUAGES = ("en", "zh")

TEXTS: dict[str, dict[str, str]] = {
    "app": {"en": "Loom", "zh": "Loom"},
    "home": {"en": "Home", "zh": "首页"},
    "inbox": {"en": "Inbox", "zh": "待办"},
    "reports": {"en": "Reports", "zh": "报表"},
    "notifications": {"en": "Notifications", "zh": "通知"},
    "admin": {"en": "Admin", "zh": "管理"},
    "account": {"en": "Account", "zh": "账户"},
    "log_in": {"en": "Log in", "zh": "登录"},
    "log_out": {"en": "Log out", "zh": "退出"},
    "username": {"en": "User name", "zh": "用户名"},
    "password": {"en": "Password", "zh": "密码"},
    "new_password": {"en": "New password", "zh": "新密码"},
    "current_password": {"en": "Current password", "zh": "当前密码"},
    "change_password": {"en": "Change password", "zh": "修改密码"},
    "language": {"en": "Language", "zh": "语言"},
    "save": {"en": "Save", "zh": "保存"},
    "create": {"en": "Create", "zh": "创建"},
    "new": {"en": "New", "zh": "新建"},
    "edit": {"en": "Edit", "zh": "编辑"},
    "search": {"en": "Search", "zh": "搜索"},
    "filter": {"en": "Filter", "zh": "筛选"},
    "clear": {"en": "Clear", "zh": "清除"},
    "any": {"en": "Any", "zh": "全部"},
    "sort": {"en": "Sort", "zh": "排序"},
    "previous": {"en": "Previous", "zh": "上一页"},
    "next": {"en": "Next", "zh": "下一页"},
    "of": {"en": "of", "zh": "共"},
    "records": {"en": "records", "zh": "条记录"},
    "no_records": {"en": "No records yet.", "zh": "暂无记录。"},
    "my_tasks": {"en": "My open tasks", "zh": "我的待办"},
    "no_tasks": {"en": "Nothing waiting for you.", "zh": "没有待办事项。"},
    "unread": {"en": "Unread notifications", "zh": "未读通知"},
    "no_notifications": {"en": "No notifications.", "zh": "没有通知。"},
    "mark_read": {"en": "Mark all read", "zh": "全部标为已读"},
    "forms_i_create": {"en": "Forms", "zh": "表单"},
    "state": {"en": "State", "zh": "状态"},
    "number": {"en": "Number", "zh": "编号"},
    "owner": {"en": "Owner", "zh": "创建人"},
    "created": {"en": "Created", "zh": "创建时间"},
    "updated": {"en": "Updated", "zh": "更新时间"},
    "history": {"en": "History", "zh": "历史"},
    "actions": {"en": "Actions", "zh": "操作"},
    "comment": {"en": "Comment", "zh": "意见"},
    "transfer_to": {"en": "Transfer to", "zh": "转交给"},
    "copy_to": {"en": "Copy to", "zh": "抄送给"},
    "add_row": {"en": "Add row", "zh": "添加行"},
    "remove_row": {"en": "Remove", "zh": "删除"},
    "fix_errors": {"en": "Some fields need attention.", "zh": "部分字段需要修改。"},
    "saved": {"en": "Saved.", "zh": "已保存。"},
    "done": {"en": "Done.", "zh": "已完成。"},
    "run": {"en": "Run", "zh": "运行"},
    "download_csv": {"en": "Download CSV", "zh": "下载 CSV"},
    "download_xlsx": {"en": "Download XLSX", "zh": "下载 XLSX"},
    "dashboards": {"en": "Dashboards", "zh": "看板"},
    "definitions": {"en": "Definitions", "zh": "定义"},
    "users": {"en": "Users", "zh": "用户"},
    "roles": {"en": "Roles", "zh": "角色"},
    "dead_letters": {"en": "Outbox dead letters", "zh": "发送失败的消息"},
    "no_problems": {"en": "No problems found.", "zh": "没有发现问题。"},
    "not_available": {"en": "Not available yet.", "zh": "暂不可用。"},
    "not_found": {"en": "Not found", "zh": "未找到"},
    "forbidden": {"en": "Not allowed", "zh": "无权访问"},
    "error": {"en": "Something went wrong", "zh": "出错了"},
    "bad_request": {"en": "Bad request", "zh": "请求无效"},
    "version_conflict": {"en": "Someone changed this record meanwhile; reload and try again.",
                         "zh": "记录已被他人修改，请刷新后重试。"},
    "task": {"en": "Task", "zh": "任务"},
    "step": {"en": "Step", "zh": "步骤"},
    "due": {"en": "Due", "zh": "截止"},
    "record": {"en": "Record", "zh": "记录"},
    "select": {"en": "— select —", "zh": "— 请选择 —"},
    "yes": {"en": "Yes", "zh": "是"},
    "no": {"en": "No", "zh": "否"},
    "explain": {"en": "What happens next", "zh": "后续流程"},
    "chart": {"en": "Chart", "zh": "图表"},
    "table": {"en": "Table", "zh": "表格"},
    "parameters": {"en": "Parameters", "zh": "参数"},
    "logged_out": {"en": "You are logged out.", "zh": "您已退出。"},
    "password_changed": {"en": "Password changed; other sessions have ended.",
                         "zh": "密码已修改，其他会话已失效。"},
    "wrong_password": {"en": "The current password is wrong.", "zh": "当前密码错误。"},
    "too_short": {"en": "At least 8 characters.", "zh": "至少 8 个字符。"},
    "import": {"en": "Import", "zh": "导入"},
    "import_upload": {"en": "Upload a file", "zh": "上传文件"},
    "import_file": {"en": "CSV or XLSX file", "zh": "CSV 或 XLSX 文件"},
    "import_limit": {"en": "Up to", "zh": "最大"},
    "import_check": {"en": "Check (dry run)", "zh": "检查（试运行）"},
    "import_run": {"en": "Import", "zh": "导入"},
    "import_template": {"en": "Template", "zh": "模板"},
    "import_help": {"en": "Columns are field names (or labels); a link column holds the linked record's title. All rows are imported, or none.",
                    "zh": "列名为字段名（或标签）；关联列填写关联记录的标题。全部导入或全部不导入。"},
    "import_lines_help": {"en": "Line items go on their own XLSX sheet (FORM.table), a first column naming the parent.",
                          "zh": "明细行放在单独的 XLSX 工作表（表单.明细）中，第一列为所属记录。"},
    "import_dry_ok": {"en": "All {n} rows are fine; nothing was saved yet.", "zh": "全部 {n} 行检查通过，尚未保存。"},
    "import_done": {"en": "Imported: {n} records created.", "zh": "已导入：新建 {n} 条记录。"},
    "import_updated": {"en": "records got line items", "zh": "条记录添加了明细"},
    "import_bad": {"en": "{e} problem(s) in {n} row(s); nothing was imported.", "zh": "{n} 行中有 {e} 个问题；未导入任何数据。"},
    "import_sheet": {"en": "Sheet", "zh": "工作表"},
    "import_row": {"en": "Row", "zh": "行"},
    "import_column": {"en": "Column", "zh": "列"},
    "import_reason": {"en": "Problem", "zh": "问题"},
    "export": {"en": "Export", "zh": "导出"},
    "out_of_office": {"en": "Out of office", "zh": "外出代理"},
    "away_from": {"en": "Away from", "zh": "开始日期"},
    "away_until": {"en": "Until", "zh": "结束日期"},
    "delegate": {"en": "Delegate", "zh": "代理人"},
    "away_saved": {"en": "Out of office saved: new tasks go to your delegate while you are away.",
                   "zh": "已保存：外出期间新的待办将转给代理人。"},
    "away_cleared": {"en": "Out of office cleared.", "zh": "已取消外出代理。"},
    "clear_away": {"en": "I am back", "zh": "取消外出"},
    "alerts": {"en": "Alerts", "zh": "预警"},
    "alert_why": {"en": "Why (not)?", "zh": "原因"},
    "condition_now": {"en": "Condition now", "zh": "当前条件"},
    "last_fired": {"en": "Last fired", "zh": "上次触发"},
    "retry": {"en": "Retry", "zh": "重试"},
    "requeued": {"en": "Queued again for delivery.", "zh": "已重新排队发送。"},
    "not_dead": {"en": "That delivery is not dead (already retried or sent).", "zh": "该消息不在失败列表中。"},
    "add_user": {"en": "Add user", "zh": "添加用户"},
    "manager": {"en": "Manager", "zh": "上级"},
    "email": {"en": "Email", "zh": "邮箱"},
    "deactivate": {"en": "Deactivate", "zh": "停用"},
    "reset_password": {"en": "Reset password", "zh": "重置密码"},
    "user_saved": {"en": "User saved.", "zh": "用户已保存。"},
    "user_added": {"en": "User added.", "zh": "用户已添加。"},
    "user_deactivated": {"en": "User deactivated; their sessions have ended.", "zh": "用户已停用，其会话已失效。"},
    "password_reset": {"en": "Password reset; the user's sessions have ended.", "zh": "密码已重置，该用户的会话已失效。"},
    "traces": {"en": "Alert traces", "zh": "预警记录"},
    "outcome": {"en": "Outcome", "zh": "结果"},
    "values_seen": {"en": "Values seen", "zh": "所见取值"},
}


def text(key: str, language: str | None = "en") -> str:
    """The UI string `key` in `language`, falling back to English, then the key."""
    entry = TEXTS.get(key)
    if entry is None:
        return key
    return entry.get(language or "en") or entry["en"]


def action_label(name: str, language: str | None, spec_label=None, workflow=None) -> str:
    """An action's label: the definition's own (`spec_label`, or the label `workflow`
    gives the action in any step, for history and "what happens next", which know
    only the name), then the engine's built-in words, then the name."""
    if not spec_label and workflow is not None:
        spec_label = next((step.actions[name].label for step in workflow.steps.values()
                           if name in step.actions), None)
    if spec_label:
        return spec_label.get(language)
    return builtin_label(name, language) or name.replace("_", " ").capitalize()
