"""UI chrome strings in the user's language; definition labels come from `Label.get`.

Definitions carry their own translations (`{en: .., zh: ..}`); this table only
holds the words the UI itself prints. The engine's built-in words (built-in
actions, history events) live in one table, `engine/labels.py`, which the
workflow facade and these pages share. A missing key falls back to English,
then to the key, so a new string never breaks a page.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from flask import current_app, g, request
from flask_login import current_user
from babel.dates import format_date, format_time, format_timedelta
from babel.numbers import format_currency, format_decimal

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
    "task_count": {"en": "tasks", "zh": "项待办"},
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
    "line_added": {"en": "line added", "zh": "新增行"},
    "line_removed": {"en": "line removed", "zh": "删除行"},
    "line_at": {"en": "line {at}", "zh": "第 {at} 行"},
    "lines_moved": {"en": "lines reordered", "zh": "行顺序已调整"},
    "fix_errors": {"en": "Some fields need attention.", "zh": "部分字段需要修改。"},
    "make_from": {"en": "Create {form}", "zh": "生成{form}"},
    "made_from": {"en": "Made from {source}", "zh": "由 {source} 生成"},
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
    "password_reset": {"en": "Password reset; the account is unlocked and the user's sessions have ended.",
                       "zh": "密码已重置，账户已解锁，该用户的会话已失效。"},
    "unlock": {"en": "Unlock", "zh": "解锁"},
    "unlocked": {"en": "Account unlocked.", "zh": "账户已解锁。"},
    "locked_until": {"en": "Locked until", "zh": "锁定至"},
    "two_factor": {"en": "Two-factor login", "zh": "两步验证"},
    "two_factor_off": {"en": "Two-factor login turned off.", "zh": "两步验证已关闭。"},
    "two_factor_reset": {"en": "Two-factor login turned off for the user.", "zh": "已为该用户关闭两步验证。"},
    "forgot_password": {"en": "Forgot your password?", "zh": "忘记密码？"},
    "send_reset_link": {"en": "Send me a link", "zh": "发送重置链接"},
    "name_or_email": {"en": "User name or email", "zh": "用户名或邮箱"},
    "choose_password": {"en": "Choose a new password", "zh": "设置新密码"},
    "password_set": {"en": "Your new password is set; log in with it.", "zh": "新密码已设置，请登录。"},
    "code": {"en": "Code", "zh": "验证码"},
    "verify": {"en": "Verify", "zh": "验证"},
    "sessions": {"en": "Sessions", "zh": "登录会话"},
    "this_session": {"en": "this session", "zh": "当前会话"},
    "log_out_everywhere": {"en": "Log out everywhere else", "zh": "退出其他所有会话"},
    "sessions_ended": {"en": "Your other sessions have ended.", "zh": "其他会话已退出。"},
    "session_ended": {"en": "That session has ended.", "zh": "该会话已退出。"},
    "end_session": {"en": "Log out", "zh": "退出"},
    "traces": {"en": "Alert traces", "zh": "预警记录"},
    "outcome": {"en": "Outcome", "zh": "结果"},
    "values_seen": {"en": "Values seen", "zh": "所见取值"},
    # admin: reload without restart
    "definitions_version": {"en": "Running version", "zh": "运行版本"},
    "published_version": {"en": "Version the database asks for", "zh": "数据库要求的版本"},
    "reload_definitions": {"en": "Check and reload definitions", "zh": "检查并重新加载定义"},
    "definitions_reloaded": {"en": "Definitions reloaded; every process switches on its next look.",
                             "zh": "定义已重新加载；所有进程将在下次检查时切换。"},
    "definitions_unchanged": {"en": "The definitions have not changed.", "zh": "定义没有变化。"},
    "definitions_refused": {"en": "Not reloaded: the definitions have errors. The running ones stay.",
                            "zh": "未重新加载：定义有错误，继续使用当前定义。"},
    "definitions_waiting": {"en": "Waiting: the files here differ from the published version.",
                            "zh": "等待中：本机文件与已发布版本不同。"},
    # admin: process insights
    "process_insights": {"en": "Process insights", "zh": "流程洞察"},
    "where_time_goes": {"en": "Where the time goes", "zh": "时间花在哪里"},
    "process_map_help": {"en": "Each step coloured by its median time: green is quick, red is the bottleneck.",
                         "zh": "每个步骤按中位耗时着色：绿色快，红色为瓶颈。"},
    "last_days": {"en": "Period", "zh": "时间范围"},
    "all_time": {"en": "All time", "zh": "全部"},
    "insight_time_in_step": {"en": "Time in each step", "zh": "各步骤耗时"},
    "insight_approvers": {"en": "Approvers", "zh": "审批人"},
    "insight_sla": {"en": "SLA breaches", "zh": "超时情况"},
    "insight_returns": {"en": "Returns and rejections", "zh": "回退与拒绝"},
    "insight_throughput": {"en": "Throughput per week", "zh": "每周吞吐量"},
    "map_median": {"en": "median", "zh": "中位"},
    "map_hours": {"en": "h", "zh": "小时"},
    "map_now": {"en": "waiting now", "zh": "当前停留"},
    "map_final": {"en": "end", "zh": "结束"},
    # the trash and the audit log (issue 14)
    "trash": {"en": "Trash", "zh": "回收站"},
    "audit": {"en": "Audit log", "zh": "审计日志"},
    "restore": {"en": "Restore", "zh": "恢复"},
    "purge": {"en": "Delete for good", "zh": "彻底删除"},
    "restored": {"en": "Restored.", "zh": "已恢复。"},
    "purged": {"en": "Deleted for good.", "zh": "已彻底删除。"},
    "delete": {"en": "Delete", "zh": "删除"},
    "deleted": {"en": "Deleted: an administrator can restore it from the trash.", "zh": "已删除：管理员可从回收站恢复。"},
    "deleted_by": {"en": "Deleted by", "zh": "删除人"},
    "deleted_at": {"en": "Deleted at", "zh": "删除时间"},
    "form": {"en": "Form", "zh": "表单"},
    "since": {"en": "From", "zh": "开始日期"},
    "until": {"en": "To", "zh": "结束日期"},
    "when": {"en": "When", "zh": "时间"},
    "who": {"en": "Who", "zh": "操作人"},
    "action": {"en": "Action", "zh": "操作"},
    "address": {"en": "Address", "zh": "地址"},
    # uxi18n
    "lang_name_en": {"en": "English", "zh": "English"},
    "lang_name_zh": {"en": "中文", "zh": "中文"},
    "time_zone": {"en": "Time zone", "zh": "时区"},
    "notify_by": {"en": "Tell me about my work by", "zh": "工作通知方式"},
    "channel_inbox": {"en": "Notifications in Loom", "zh": "站内通知"},
    "channel_email": {"en": "Email", "zh": "邮件"},
    "preferences": {"en": "Preferences", "zh": "偏好设置"},
    "status_open": {"en": "Open", "zh": "待处理"},
    "status_waiting": {"en": "Waiting", "zh": "等待中"},
    "status_done": {"en": "Done", "zh": "已处理"},
    "status_transferred": {"en": "Transferred", "zh": "已转交"},
    "status_cancelled": {"en": "Closed", "zh": "已关闭"},
    "decision_approve": {"en": "Approved", "zh": "已同意"},
    "decision_reject": {"en": "Rejected", "zh": "已拒绝"},
    "decision_return": {"en": "Returned", "zh": "已回退"},
    "decision_cc": {"en": "Copied in", "zh": "抄送"},
    "decision": {"en": "Decision", "zh": "处理结果"},
    "kind_cc": {"en": "copy", "zh": "抄送"},
    "age": {"en": "Age", "zh": "已等待"},
    "overdue": {"en": "overdue", "zh": "已逾期"},
    "sort_newest": {"en": "Newest first", "zh": "最新优先"},
    "sort_oldest": {"en": "Oldest first", "zh": "最早优先"},
    "sort_due": {"en": "Due soonest", "zh": "最先到期"},
    "due_overdue": {"en": "Overdue", "zh": "已逾期"},
    "due_today": {"en": "Due within a day", "zh": "一天内到期"},
    "due_any": {"en": "Any due date", "zh": "任意截止时间"},
    "age_any": {"en": "Any age", "zh": "任意时长"},
    "age_1": {"en": "Older than 1 day", "zh": "超过 1 天"},
    "age_3": {"en": "Older than 3 days", "zh": "超过 3 天"},
    "age_7": {"en": "Older than a week", "zh": "超过一周"},
    "select_all": {"en": "Select all", "zh": "全选"},
    "bulk_comment": {"en": "One comment for all selected", "zh": "为所选任务填写同一意见"},
    "bulk_approve": {"en": "Approve selected", "zh": "同意所选"},
    "bulk_reject": {"en": "Reject selected", "zh": "拒绝所选"},
    "bulk_none": {"en": "Select the tasks to decide first.", "zh": "请先选择要处理的任务。"},
    "bulk_result": {"en": "{ok} of {n} decided.", "zh": "已处理 {ok} / {n} 项。"},
    "bulk_failed": {"en": "Not decided", "zh": "未处理"},
    "open_tasks": {"en": "open tasks", "zh": "项待办"},
    "transfer_label": {"en": "Transfer my task to…", "zh": "将我的任务转交给…"},
    "add_signer_label": {"en": "Add a signer", "zh": "加签"},
    "add_before": {"en": "before me (they decide first)", "zh": "在我之前（对方先审批）"},
    "add_after": {"en": "after me (they decide after I approve)", "zh": "在我之后（我同意后对方审批）"},
    "cc_label": {"en": "Copy someone in (read only)", "zh": "抄送他人（只读）"},
    "signer": {"en": "Signer", "zh": "加签人"},
    "return_label": {"en": "Return to step", "zh": "回退到步骤"},
    "who_can_take": {"en": "Only people who may take this task are listed.",
                     "zh": "仅列出可以接手此任务的人员。"},
    "nobody_to_offer": {"en": "Nobody else can take this task.", "zh": "没有其他人可以接手此任务。"},
    "already_in_step": {"en": "Already approving in this step: {names}", "zh": "已在本步骤审批：{names}"},
    "confirm_default": {"en": "Are you sure?", "zh": "确定吗？"},
    "then": {"en": "then", "zh": "随后"},
    "you": {"en": "you", "zh": "您"},
    "signer_first": {"en": "{who} decides first, then you", "zh": "{who} 先审批，然后由您审批"},
    "signer_after": {"en": "after you approve, {who} decides", "zh": "您同意后，由 {who} 审批"},
    "waits_for": {"en": "waits for {who}", "zh": "等待 {who}"},
    "history_transfer": {"en": "transferred the task to {to}", "zh": "将任务转交给 {to}"},
    "history_add_signer_before": {"en": "added {who} as signer before themselves", "zh": "在自己之前加签 {who}"},
    "history_add_signer_after": {"en": "added {who} as signer after themselves", "zh": "在自己之后加签 {who}"},
    "history_cc": {"en": "copied in {to}", "zh": "抄送给 {to}"},
    "history_waiting": {"en": "now waits for {who}", "zh": "现等待 {who}"},
    "error_404": {"en": "The page or record does not exist, or you may not see it.",
                  "zh": "页面或记录不存在，或您无权查看。"},
    "error_403": {"en": "You are not allowed to do this.", "zh": "您无权执行此操作。"},
    "error_400": {"en": "The request could not be understood.", "zh": "请求无法识别。"},
    "error_405": {"en": "This address cannot be used like that; go back and try again.",
                  "zh": "此地址不能这样访问，请返回后重试。"},
    "error_409": {"en": "That cannot be done now.", "zh": "当前无法执行该操作。"},
    "error_413": {"en": "What you sent is too large.", "zh": "提交的内容过大。"},
    "error_422": {"en": "Some values need attention.", "zh": "部分内容需要修改。"},
    "error_429": {"en": "Too many attempts; wait a moment and try again.", "zh": "尝试次数过多，请稍后再试。"},
    "error_500": {"en": "Something went wrong on our side; it has been logged.", "zh": "系统出错，已记录。"},
    "error_401": {"en": "Please log in.", "zh": "请登录。"},
    "bad_login": {"en": "Unknown user or wrong password.", "zh": "用户名或密码错误。"},
    "archive": {"en": "Archive", "zh": "归档"},
    "check_results": {"en": "Check results", "zh": "检查结果"},
    "kind": {"en": "Kind", "zh": "类型"},
    "id": {"en": "ID", "zh": "标识"},
    "title": {"en": "Title", "zh": "标题"},
    "file": {"en": "File", "zh": "文件"},
    "channel": {"en": "Channel", "zh": "渠道"},
    "status": {"en": "Status", "zh": "状态"},
    "attempts": {"en": "Attempts", "zh": "尝试次数"},
    "last_error": {"en": "Last error", "zh": "最后错误"},
    "at": {"en": "At", "zh": "时间"},
    "alert": {"en": "Alert", "zh": "预警"},
    "text_search": {"en": "Text", "zh": "文本"},
    "archive_hint": {"en": "number, owner or any value", "zh": "编号、创建人或任意值"},
    "archived_records": {"en": "archived record(s)", "zh": "条归档记录"},
    "last_change": {"en": "Last change", "zh": "最后修改"},
    "is_admin": {"en": "admin", "zh": "管理员"},
    "on": {"en": "on", "zh": "已开启"},
    "off": {"en": "off", "zh": "关闭"},
    "once": {"en": "once", "zh": "仅一次"},
    "active": {"en": "active", "zh": "生效中"},
    "outcome_fired": {"en": "Fired", "zh": "已触发"},
    "outcome_suppressed": {"en": "Not sent again: it fires once until its condition turns false",
                           "zh": "未重复发送：条件恢复为假之前只触发一次"},
    "outcome_condition_false": {"en": "Did not fire: its condition did not hold",
                                "zh": "未触发：条件不成立"},
    "outcome_no_recipients": {"en": "Did not fire: nobody to tell", "zh": "未触发：没有接收人"},
    "outcome_error": {"en": "Failed: see the log", "zh": "失败：请查看日志"},
    "outcome_tick": {"en": "Scheduled check ran", "zh": "定时检查已运行"},
    "kind_form": {"en": "form", "zh": "表单"},
    "kind_workflow": {"en": "workflow", "zh": "流程"},
    "kind_alert": {"en": "alert", "zh": "预警"},
    "kind_report": {"en": "report", "zh": "报表"},
    "kind_dashboard": {"en": "dashboard", "zh": "看板"},
    "kind_app": {"en": "app", "zh": "应用"},
    "reason_condition_false": {"en": "This action is not available now: the record does not meet its condition.",
                               "zh": "当前不能执行此操作：记录不满足条件。"},
    "reason_not_allowed": {"en": "You may not take this action in this step.", "zh": "您不能在此步骤执行该操作。"},
    "reason_self_approval": {"en": "The owner of a record may not approve it in this step.",
                             "zh": "记录的创建人不能在此步骤审批自己的记录。"},
    "reason_already_assignee": {"en": "That person already has a task in this step.", "zh": "此人已在本步骤有待办任务。"},
    "reason_not_assignee": {"en": "You have no open task in this step.", "zh": "您在此步骤没有待处理的任务。"},
    "reason_task_waiting": {"en": "Your task waits for the signer added before you.", "zh": "您的任务正在等待之前加签的人审批。"},
    "reason_not_in_step": {"en": "This action does not belong to the record's current step.", "zh": "该操作不属于记录当前的步骤。"},
    "reason_unknown_user": {"en": "There is no such active user.", "zh": "没有该有效用户。"},
    "reason_same_user": {"en": "Choose someone other than yourself.", "zh": "请选择您以外的其他人。"},
    "reason_no_approvers": {"en": "The next step has nobody to approve it; ask an administrator.",
                            "zh": "下一步骤没有审批人，请联系管理员。"},
    "reason_step_removed": {"en": "The record is in a step the workflow no longer has; an administrator must move it.",
                            "zh": "记录所在步骤已从流程中删除，需要管理员处理。"},
    "reason_not_visited": {"en": "The record never passed through that step.", "zh": "记录从未经过该步骤。"},
    "reason_unknown_step": {"en": "There is no such step.", "zh": "没有该步骤。"},
    "reason_not_owner": {"en": "Only the record's owner may do this.", "zh": "只有记录的创建人可以执行此操作。"},
    "reason_already_decided": {"en": "Someone already decided in this step; it can no longer be withdrawn.",
                               "zh": "本步骤已有人审批，不能再撤回。"},
    "reason_no_workflow": {"en": "This form has no workflow.", "zh": "该表单没有流程。"},
    "reason_not_available": {"en": "This action is not available now.", "zh": "当前不能执行此操作。"},
    "reason_final_step": {"en": "The record is finished; it cannot be handed over.", "zh": "记录已办结，不能转交。"},
    "reason_linked": {"en": "Other records link to this one; change or delete those first.",
                      "zh": "其他记录关联了此记录，请先修改或删除它们。"},
    "reason_not_deleted": {"en": "The record is not in the trash.", "zh": "该记录不在回收站中。"},
    "reason_unknown_step_action": {"en": "The step runs an action this installation does not have; ask an administrator.",
                                   "zh": "该步骤使用了本系统没有的动作，请联系管理员。"},
    "reason_conflict": {"en": "Someone else acted on this record meanwhile; reload it and try again.",
                        "zh": "他人已同时处理了此记录，请刷新后重试。"},
    "msg_required": {"en": "is required", "zh": "必填"},
    "msg_number": {"en": "expected a number", "zh": "请输入数字"},
    "msg_whole_number": {"en": "expected a whole number", "zh": "请输入整数"},
    "msg_too_large": {"en": "is too large", "zh": "数值过大"},
    "msg_places": {"en": "at most {n} decimal places", "zh": "最多 {n} 位小数"},
    "msg_chars": {"en": "at most {n} characters", "zh": "最多 {n} 个字符"},
    "msg_text": {"en": "expected text", "zh": "请输入文本"},
    "msg_date": {"en": "expected a date as YYYY-MM-DD", "zh": "请输入日期（年-月-日）"},
    "msg_datetime": {"en": "expected a date and time", "zh": "请输入日期和时间"},
    "msg_yes_no": {"en": "expected yes or no", "zh": "请选择是或否"},
    "msg_option": {"en": "is not one of the choices", "zh": "不是可选项之一"},
    "msg_record": {"en": "choose a record from the list", "zh": "请从列表中选择记录"},
    "msg_rows": {"en": "expected a list of rows", "zh": "明细格式不正确"},
    "msg_file": {"en": "expected a file", "zh": "请选择文件"},
    "msg_comment_required": {"en": "a comment is required", "zh": "必须填写意见"},
    "msg_name_user": {"en": "choose a person", "zh": "请选择人员"},
    "msg_before_after": {"en": "add a signer before or after you", "zh": "请选择在您之前或之后加签"},
    "msg_invalid": {"en": "is not valid", "zh": "内容无效"},
    "msg_nul": {"en": "contains a character that is not allowed", "zh": "包含不允许的字符"},
    "range_from": {"en": "from", "zh": "起"},
    "range_to": {"en": "to", "zh": "止"},
    "tf_required": {"en": "Your role requires two-factor login: set it up to continue.",
                    "zh": "您的角色要求两步验证：请先完成设置。"},
    "tf_recovery": {"en": "Recovery codes", "zh": "恢复码"},
    "tf_recovery_help": {"en": "Each works once instead of a code from your phone. Keep them somewhere safe: they are not shown again.",
                         "zh": "每个恢复码可代替手机验证码使用一次。请妥善保存：它们不会再次显示。"},
    "tf_on": {"en": "On. {n} recovery code(s) left.", "zh": "已开启。剩余 {n} 个恢复码。"},
    "tf_off": {"en": "Off.", "zh": "未开启。"},
    "tf_on_short": {"en": "On.", "zh": "已开启。"},
    "tf_new_codes": {"en": "New recovery codes", "zh": "生成新的恢复码"},
    "tf_turn_off": {"en": "Turn off", "zh": "关闭"},
    "tf_scan": {"en": "Scan this with an authenticator app (or type the key), then enter the 6-digit code it shows.",
                "zh": "用身份验证器应用扫描（或输入密钥），然后输入显示的 6 位验证码。"},
    "tf_key": {"en": "Key", "zh": "密钥"},
    "tf_set_up": {"en": "Set up two-factor login", "zh": "设置两步验证"},
    "tf_code_help": {"en": "The 6 digits your authenticator app shows, or one of your recovery codes.",
                     "zh": "身份验证器应用显示的 6 位数字，或一个恢复码。"},
    "msg_action_failed": {"en": "That could not be done.", "zh": "操作未能完成。"},
    # uxpages
    "keep_file": {"en": "Keep", "zh": "保留"},
    "replace_file": {"en": "Replace", "zh": "替换"},
    "search_list": {"en": "Search title, number or linked names", "zh": "搜索标题、编号或关联名称"},
    "type_to_find": {"en": "Type to find…", "zh": "输入以查找…"},
    "from": {"en": "from", "zh": "起"},
    "to": {"en": "to", "zh": "止"},
    "saved_views": {"en": "My views", "zh": "我的视图"},
    "save_view": {"en": "Save this view", "zh": "保存当前视图"},
    "view_name": {"en": "View name", "zh": "视图名称"},
    "delete_view": {"en": "Delete view", "zh": "删除视图"},
    "view_saved": {"en": "View saved.", "zh": "视图已保存。"},
    "view_needs_name": {"en": "Give the view a name.", "zh": "请为视图命名。"},
    "total_all": {"en": "Total (all matching)", "zh": "合计（全部符合条件）"},
    "totals_withheld": {"en": "Totals are added up for at most {n} records: narrow the filter to see them, or open a report.",
                        "zh": "符合条件的记录超过 {n} 条时不计算合计：请缩小筛选范围，或查看报表。"},
    "no_match": {"en": "Nothing matches these filters.", "zh": "没有符合条件的记录。"},
    "flow": {"en": "Approval flow", "zh": "流程图"},
    "now_at": {"en": "Now at", "zh": "当前步骤"},
    "held_by": {"en": "with", "zh": "处理人"},
    "comes_next": {"en": "Next", "zh": "下一步"},
    "flow_taken": {"en": "path taken", "zh": "已走过"},
    "flow_current": {"en": "current step", "zh": "当前步骤"},
    "flow_next": {"en": "can come next", "zh": "可能的下一步"},
    "enlarge": {"en": "Open the chart full size", "zh": "查看大图"},
    "print": {"en": "Print", "zh": "打印"},
    "back_to_record": {"en": "Back to the record", "zh": "返回记录"},
    "prepared_by": {"en": "Prepared by", "zh": "制单"},
    "approved_by": {"en": "Approved by", "zh": "审批"},
    "received_by": {"en": "Received by", "zh": "签收"},
    "signature_date": {"en": "Signature and date", "zh": "签字及日期"},
    "access_matrix": {"en": "Who can do what", "zh": "权限矩阵"},
    "hand_over_to": {"en": "Hand the record over to", "zh": "移交给"},
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



LANG_COOKIE = "loom_lang"


def current_language() -> str:
    """The reader's language: their setting once logged in; before that the login page's
    switch (`?lang=`, kept in a cookie), else Accept-Language, else the app's default."""
    if "lang" in g:
        return g.lang
    if current_user.is_authenticated:
        g.lang = current_user.language
        return g.lang
    app = current_app.extensions["loom.engine"].defs.app
    asked = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    g.lang = asked if asked in app.languages else \
        negotiate(request.accept_languages, app.languages, app.default_language)
    return g.lang


def text_with(key: str, language: str | None, **values) -> str:
    """`text(key)` with `{name}` placeholders filled in."""
    return text(key, language).format(**values)


# --- choosing the language --------------------------------------------------------


def negotiate(accept, languages, default: str) -> str:
    """The app language an Accept-Language header (werkzeug `LanguageAccept`) asks for most,
    matching `zh-CN` to `zh`; `default` when none fits."""
    for value, _quality in (accept or ()):  # werkzeug keeps them best first
        value = value.replace("_", "-").lower()
        for lang in languages:
            if value == lang.lower() or value.split("-")[0] == lang.lower().split("-")[0]:
                return lang
    return default


# --- numbers, dates and times per locale (Babel's CLDR data) ------------------------------


@lru_cache(maxsize=32)
def locale(language: str | None) -> Locale:
    try:
        return Locale.parse((language or "en").replace("-", "_"))
    except (ValueError, LookupError):
        return Locale.parse("en")


@lru_cache(maxsize=64)
def zone(name: str | None):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def number(value, language: str | None, places: int | None = None, currency: str | None = None) -> str:
    """13500 → "13,500.00" (en) / "13,500.00" (zh), with the currency sign when given."""
    if value is None:
        return ""
    loc = locale(language)
    if currency:
        return format_currency(Decimal(value), currency, locale=loc)
    if places is None:
        return format_decimal(value, locale=loc)
    fmt = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=fmt, locale=loc, decimal_quantization=True)


def local(value: datetime, zone_name: str | None) -> datetime:
    """A stored (naive UTC) timestamp in the reader's time zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(zone(zone_name))


def moment(value, language: str | None, zone_name: str | None = None) -> str:
    """A date ("2026年11月26日" / "Nov 26, 2026") or a timestamp in the reader's zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value or ":" in value \
                else date.fromisoformat(value)
        except ValueError:
            return value
    loc = locale(language)
    if isinstance(value, datetime):
        at = local(value, zone_name)
        return f"{format_date(at, 'medium', locale=loc)} {format_time(at, 'short', locale=loc)}"
    return format_date(value, "medium", locale=loc)


def age(since: datetime, now: datetime, language: str | None) -> str:
    """How long ago, in words: "3 days" / "3天"."""
    if since is None:
        return ""
    delta = max(now - since, timedelta(0))
    return format_timedelta(delta, threshold=1.1, locale=locale(language))


# --- the engine's English messages, said in the reader's language ------------------------

# Field and action messages the engine raises (engine/fields, engine/workflow): each pattern
# names the catalog key that says it; `{n}` carries a number over. Messages a definition
# wrote itself (rule messages, pattern problems) pass through as they are.
MESSAGES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^is required$", "msg_required"),
    (r"^expected a number$", "msg_number"),
    (r"^expected a whole number$", "msg_whole_number"),
    (r"^is too large$", "msg_too_large"),
    (r"^at most (?P<n>\d+) decimal places$", "msg_places"),
    (r"^at most (?P<n>\d+) characters$", "msg_chars"),
    (r"^expected text$", "msg_text"),
    (r"^expected a date as ", "msg_date"),
    (r"^expected a date and time", "msg_datetime"),
    (r"^expected yes or no", "msg_yes_no"),
    (r"is not one of: ", "msg_option"),
    (r"^(expected a record id|expected the id of a |no \w+ |more than one \w+ is called)", "msg_record"),
    (r"^expected a list of rows$", "msg_rows"),
    (r"^expected a file$", "msg_file"),
    (r"^(a comment is required|write the comment|\w+ needs a comment)", "msg_comment_required"),
    (r"^name the user to ", "msg_name_user"),
    (r"^add a signer before or after you$", "msg_before_after"),
    (r"NUL character", "msg_nul"),
))
_CJK = re.compile(r"[\u3400-\u9fff]")


def message(raw: str | None, language: str | None) -> str:
    """An engine message in the reader's language: English as raised, other languages through
    MESSAGES, and a general sentence for one the catalog does not know (never English)."""
    if not raw:
        return ""
    if (language or "en") == "en" or _CJK.search(raw):
        return raw
    for pattern, key in MESSAGES:
        m = pattern.search(raw)
        if m:
            return text_with(key, language, **m.groupdict())
    return text("msg_invalid", language)


def refusal(exc, language: str | None) -> str:
    """Why an action was refused, in the reader's language (by the refusal's `reason`)."""
    if (language or "en") == "en":
        return exc.message
    reason = getattr(exc, "reason", None) or "conflict"
    key = f"reason_{reason}"
    return text(key, language) if key in TEXTS else text("msg_action_failed", language)
