"""UI chrome strings in the user's language; definition labels come from `Label.get`.

Definitions carry their own translations (`{en: .., zh: ..}`); this table only
holds the words the UI itself prints. A missing key falls back to English,
then to the key, so a new string never breaks a page.
"""
from __future__ import annotations

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
    "act_submit": {"en": "Submit", "zh": "提交"},
    "act_approve": {"en": "Approve", "zh": "同意"},
    "act_reject": {"en": "Reject", "zh": "拒绝"},
    "act_return": {"en": "Return", "zh": "退回"},
    "act_transfer": {"en": "Transfer", "zh": "转交"},
    "act_withdraw": {"en": "Withdraw", "zh": "撤回"},
    "act_comment": {"en": "Comment", "zh": "评论"},
    "act_cc": {"en": "Copy in", "zh": "抄送"},
    "act_add_signer": {"en": "Add signer", "zh": "加签"},
    "act_ship": {"en": "Ship", "zh": "发货"},
    "act_create": {"en": "Created", "zh": "创建"},
    "act_update": {"en": "Updated", "zh": "修改"},
}


def text(key: str, language: str | None = "en") -> str:
    """The UI string `key` in `language`, falling back to English, then the key."""
    entry = TEXTS.get(key)
    if entry is None:
        return key
    return entry.get(language or "en") or entry["en"]


def action_label(name: str, language: str | None, spec_label=None) -> str:
    """An action's label: the definition's own label first, then the UI table, then the name."""
    if spec_label:
        return spec_label.get(language)
    key = f"act_{name}"
    if key in TEXTS:
        return text(key, language)
    return name.replace("_", " ").capitalize()
