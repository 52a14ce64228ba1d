"""Process insights: built-in report sources over workflow history and tasks, all in SQL.

    report: where_claims_wait
    insight: time_in_step        # one of INSIGHTS
    workflow: expense_claim
    days: 90                     # only what started in the last 90 days (optional)
    chart: {type: bar, x: step, y: median_hours}

A step visit is the time between a record entering a step (an event whose
state differs from the one before) and entering the next one, from the
`events` table with window functions (LEAD over each record's history).
Medians are computed in SQL too (the middle row numbers of each group), so
no insight reads all history into Python. Final steps have no time in them.

    time_in_step  step, kind (approval: approvers hold it; waiting: its owner or a
                  later action does), visits, finished, median_hours, avg_hours,
                  max_hours, in_step_now
    approvers     approver, decided, median_hours (task open → decided), overdue, open
    sla           step, tasks, breached (decided after due, or open past due), breach_pct
    returns       step, returned, rejected
    throughput    week (Monday), started, finished (entered a final step)

An insight report compiles to the same `Query` a form report does, so its
result, chart, export and dashboard tile work the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable, Mapping

import sqlalchemy as sa

from ..definitions import model as m
from ..definitions.insights import INSIGHT_COLUMNS
from ..expr import SqlTerm
from ..expr import types as T
from ..store import tables as t
from .compiler import OutputColumn, Query
from .params import ParamSet

TEXT, COUNT, HOURS, PCT, DAY = (T.t(T.TEXT), T.t(T.INTEGER), T.t(T.DECIMAL), T.t(T.PERCENT),
                               T.t(T.DATE))
KINDS = {"approval": {"en": "Approval", "zh": "审批"}, "waiting": {"en": "Waiting", "zh": "等待"}}
HEADINGS = {
    "step": {"en": "Step", "zh": "步骤"}, "kind": {"en": "Kind", "zh": "类型"},
    "visits": {"en": "Visits", "zh": "经过次数"}, "finished": {"en": "Finished", "zh": "已完成"},
    "median_hours": {"en": "Median hours", "zh": "中位耗时（小时）"},
    "avg_hours": {"en": "Average hours", "zh": "平均耗时（小时）"},
    "max_hours": {"en": "Longest hours", "zh": "最长耗时（小时）"},
    "in_step_now": {"en": "Waiting now", "zh": "当前停留"},
    "approver": {"en": "Approver", "zh": "审批人"}, "decided": {"en": "Decided", "zh": "已处理"},
    "overdue": {"en": "Overdue", "zh": "超时"}, "open": {"en": "Open", "zh": "待处理"},
    "tasks": {"en": "Tasks", "zh": "任务数"}, "breached": {"en": "SLA breached", "zh": "超出时限"},
    "breach_pct": {"en": "Breach rate", "zh": "超时率"},
    "returned": {"en": "Returned", "zh": "回退"}, "rejected": {"en": "Rejected", "zh": "拒绝"},
    "week": {"en": "Week", "zh": "周"}, "started": {"en": "Started", "zh": "发起"},
}


@dataclass(frozen=True)
class Insight:
    name: str
    columns: tuple[tuple[str, T.Type, int | None], ...]  # (name, type, scale)
    build: Callable  # (context) -> select whose columns are `columns`, in order


def hours(dialect: str, start, end):
    """Hours between two timestamps, in SQL, to one decimal."""
    if dialect == "postgresql":
        raw = sa.extract("epoch", end - start) / 3600.0
    else:
        raw = (sa.func.julianday(end) - sa.func.julianday(start)) * 24.0
    return sa.func.round(sa.cast(raw, sa.Numeric(18, 4)), 1)


def week_of(dialect: str, at):
    if dialect == "postgresql":
        return sa.cast(sa.func.date_trunc("week", at), sa.Date)
    return sa.func.date(at, "weekday 0", "-6 days")


def median(value, group, where=None, label: str = "median"):
    """The median of `value` per `group` in SQL: the mean of the middle row numbers."""
    ranked = sa.select(group.label("g"), value.label("v"),
                       sa.func.row_number().over(partition_by=group, order_by=value).label("rn"),
                       sa.func.count().over(partition_by=group).label("n"))
    if where is not None:
        ranked = ranked.where(where)
    ranked = ranked.subquery()
    return (sa.select(ranked.c.g, sa.func.round(sa.cast(sa.func.avg(ranked.c.v), sa.Numeric(18, 4)), 1)
                      .label(label))
            .where(ranked.c.rn.in_([(ranked.c.n + 1) / 2, (ranked.c.n + 2) / 2]))
            .group_by(ranked.c.g).subquery())


@dataclass
class Context:
    wf: m.WorkflowSpec
    dialect: str
    now: Any
    since: Any  # only history from here on (or None)
    language: str
    raw_steps: bool = False  # step names instead of their titles (the process map's keys)

    @property
    def finals(self) -> list[str]:
        return [s.name for s in self.wf.steps.values() if s.final]

    def step_label(self, col):
        if self.raw_steps:
            return col
        return sa.case({name: s.title.get(self.language) or name for name, s in self.wf.steps.items()},
                       value=col, else_=col)

    def visits(self):
        """One row per step visit: record_id, step, entered_at, left_at (None while there)."""
        ev = t.events
        entered = sa.select(ev.c.record_id, ev.c.to_state.label("step"), ev.c.at.label("entered_at"),
                            ev.c.id).where(
            ev.c.form == self.wf.form, ev.c.to_state.is_not(None),
            sa.or_(ev.c.from_state.is_(None), ev.c.from_state != ev.c.to_state))
        if self.since is not None:
            entered = entered.where(ev.c.at >= self.since)
        entered = entered.subquery()
        return sa.select(entered.c.record_id, entered.c.step, entered.c.entered_at,
                         sa.func.lead(entered.c.entered_at).over(
                             partition_by=entered.c.record_id,
                             order_by=(entered.c.entered_at, entered.c.id)).label("left_at")
                         ).subquery("visits")


def _time_in_step(c: Context):
    v = c.visits()
    spent = hours(c.dialect, v.c.entered_at, v.c.left_at)
    timed = sa.select(v.c.step, v.c.left_at, spent.label("h")).where(v.c.step.not_in(c.finals)
                                                                      if c.finals else sa.true()
                                                                      ).subquery("timed")
    mid = median(timed.c.h, timed.c.step, timed.c.left_at.is_not(None), "median_hours")
    approval = [n for n, s in c.wf.steps.items() if s.is_approval]
    kind = sa.case((timed.c.step.in_(approval), KINDS["approval"].get(c.language, "Approval")),
                   else_=KINDS["waiting"].get(c.language, "Waiting")) if approval else \
        sa.literal(KINDS["waiting"].get(c.language, "Waiting"))
    stats = (sa.select(timed.c.step, kind.label("kind"), sa.func.count().label("visits"),
                       sa.func.count(timed.c.left_at).label("finished"),
                       sa.func.round(sa.cast(sa.func.avg(timed.c.h), sa.Numeric(18, 4)), 1).label("avg_hours"),
                       sa.func.max(timed.c.h).label("max_hours"),
                       sa.func.sum(sa.case((timed.c.left_at.is_(None), 1), else_=0)).label("in_step_now"))
             .group_by(timed.c.step).subquery("stats"))
    order = sa.case({name: i for i, name in enumerate(c.wf.steps)}, value=stats.c.step, else_=999)
    return (sa.select(c.step_label(stats.c.step), stats.c.kind, stats.c.visits, stats.c.finished,
                      mid.c.median_hours, stats.c.avg_hours, stats.c.max_hours, stats.c.in_step_now)
            .select_from(stats.outerjoin(mid, mid.c.g == stats.c.step)).order_by(order))


def _approver_tasks(c: Context):
    tk = t.tasks
    q = sa.select(tk).where(tk.c.form == c.wf.form, tk.c.kind == "approve")
    if c.since is not None:
        q = q.where(tk.c.created_at >= c.since)
    return q.subquery("tk")


def _overdue(c: Context, tk):
    return sa.and_(tk.c.due_at.is_not(None), sa.or_(
        tk.c.decided_at > tk.c.due_at, sa.and_(tk.c.decided_at.is_(None), tk.c.status.in_(("open", "waiting")),
                                               sa.literal(c.now) > tk.c.due_at)))


def _approvers(c: Context):
    tk = _approver_tasks(c)
    spent = hours(c.dialect, tk.c.created_at, tk.c.decided_at)
    timed = sa.select(tk.c.assignee, tk.c.status, tk.c.decided_at, spent.label("h"),
                      _overdue(c, tk).label("late")).subquery("timed")
    mid = median(timed.c.h, timed.c.assignee, timed.c.decided_at.is_not(None), "median_hours")
    stats = (sa.select(timed.c.assignee, sa.func.count(timed.c.decided_at).label("decided"),
                       sa.func.sum(sa.case((timed.c.late, 1), else_=0)).label("overdue"),
                       sa.func.sum(sa.case((timed.c.status == "open", 1), else_=0)).label("open"))
             .group_by(timed.c.assignee).subquery("stats"))
    return (sa.select(stats.c.assignee, stats.c.decided, mid.c.median_hours, stats.c.overdue,
                      stats.c.open)
            .select_from(stats.outerjoin(mid, mid.c.g == stats.c.assignee))
            .order_by(mid.c.median_hours.desc().nulls_last(), stats.c.assignee))


def _sla(c: Context):
    tk = _approver_tasks(c)
    late = sa.func.sum(sa.case((_overdue(c, tk), 1), else_=0))
    with_due = sa.func.sum(sa.case((tk.c.due_at.is_not(None), 1), else_=0))
    pct = sa.case((with_due > 0, sa.cast(late, sa.Numeric(18, 4)) * 10000 / with_due), else_=None)
    order = sa.case({name: i for i, name in enumerate(c.wf.steps)}, value=tk.c.step, else_=999)
    return (sa.select(c.step_label(tk.c.step), sa.func.count(), late, sa.cast(sa.func.round(pct), sa.Integer))
            .group_by(tk.c.step).order_by(sa.func.min(order)))


def _returns(c: Context):
    ev = t.events
    q = sa.select(c.step_label(ev.c.from_state),
                  sa.func.sum(sa.case((ev.c.action == "return", 1), else_=0)),
                  sa.func.sum(sa.case((ev.c.action == "reject", 1), else_=0))).where(
        ev.c.form == c.wf.form, ev.c.action.in_(("return", "reject")), ev.c.from_state.is_not(None))
    if c.since is not None:
        q = q.where(ev.c.at >= c.since)
    order = sa.case({name: i for i, name in enumerate(c.wf.steps)}, value=ev.c.from_state, else_=999)
    return q.group_by(ev.c.from_state).order_by(sa.func.min(order))


def _throughput(c: Context):
    ev = t.events
    week = week_of(c.dialect, ev.c.at)
    started = sa.case((sa.and_(ev.c.action == "create", ev.c.from_state.is_(None)), 1), else_=0)
    done = sa.case((sa.and_(ev.c.to_state.in_(c.finals), sa.or_(
        ev.c.from_state.is_(None), ev.c.from_state != ev.c.to_state)), 1), else_=0) \
        if c.finals else sa.literal(0)
    q = sa.select(week.label("week"), sa.func.sum(started), sa.func.sum(done)).where(
        ev.c.form == c.wf.form)
    if c.since is not None:
        q = q.where(ev.c.at >= c.since)
    return q.group_by(week).order_by(week)


INSIGHTS: dict[str, Insight] = {i.name: i for i in (  # columns as in INSIGHT_COLUMNS
    Insight("time_in_step", (("step", TEXT, 0), ("kind", TEXT, 0), ("visits", COUNT, 0),
                             ("finished", COUNT, 0), ("median_hours", HOURS, None),
                             ("avg_hours", HOURS, None), ("max_hours", HOURS, None),
                             ("in_step_now", COUNT, 0)), _time_in_step),
    Insight("approvers", (("approver", T.t(T.USER), 0), ("decided", COUNT, 0),
                          ("median_hours", HOURS, None), ("overdue", COUNT, 0), ("open", COUNT, 0)),
            _approvers),
    Insight("sla", (("step", TEXT, 0), ("tasks", COUNT, 0), ("breached", COUNT, 0),
                    ("breach_pct", PCT, 4)), _sla),
    Insight("returns", (("step", TEXT, 0), ("returned", COUNT, 0), ("rejected", COUNT, 0)), _returns),
    Insight("throughput", (("week", DAY, 0), ("started", COUNT, 0), ("finished", COUNT, 0)),
            _throughput),
)}


class InsightReport:
    """An `insight:` report, with the same surface as CompiledReport (spec, params, build)."""

    def __init__(self, spec: m.ReportSpec, defs, registries, forms, raw_steps: bool = False):
        self.spec, self.raw_steps = spec, raw_steps
        self.insight = INSIGHTS[spec.insight]
        self.workflow = defs.workflows[spec.workflow]
        self.params = ParamSet(spec.params, registries, forms)

    def build(self, *, dialect: str, user, params: Mapping, clock, visibility=None,
              link_rule=None) -> Query:
        now = clock.now()
        since = now - timedelta(days=self.spec.days) if self.spec.days else None
        language = getattr(user, "language", None) or "en"
        select = self.insight.build(Context(self.workflow, dialect, now, since, language,
                                            self.raw_steps))
        cols = list(select.selected_columns)
        out = []
        labelled = []
        for (name, typ, scale), col in zip(self.insight.columns, cols):
            labelled.append(col.label(name))
            term = SqlTerm(col, typ, scale)
            role = "group" if typ.kind in (T.TEXT, T.USER, T.DATE) else "measure"
            out.append(OutputColumn(name, m.Label.of(HEADINGS.get(name), name), term, role))
        statement = select.with_only_columns(*labelled, maintain_column_froms=True)
        if self.spec.limit:
            statement = statement.limit(self.spec.limit)
        return Query(statement, out)
