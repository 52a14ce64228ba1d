"""The built-in functions, one module per family: Python, type rule and SQL for each.

They register exactly as a plugin's functions would (`Functions.register`).
Python implementations treat None like SQL does: it propagates through
scalar functions and is skipped by aggregates. The table below keeps every
built-in in one place, in a stable order.
"""
from __future__ import annotations

from ..functions import Functions
from .aggregates import py_avg, py_count, py_max, py_min, py_sum, rule_avg, rule_count
from .aggregates import rule_min_max, rule_sum, sql_min_max
from .arithmetic import py_abs, py_ratio, py_round, rule_abs, rule_ratio, rule_round, sql_abs
from .arithmetic import sql_round
from .dates import py_add_days, py_days_between, py_month_start, py_part, py_quarter
from .dates import py_week_start, py_year_start, rule_add_days, rule_date_part
from .dates import rule_date_to_date, rule_days_between, sql_add_days, sql_days_between
from .dates import sql_now, sql_part, sql_quarter, sql_today, sql_trunc
from .rules import DATE, DATETIME, constant
from .text import py_contains, py_len, py_lower, py_upper, rule_contains, rule_len, rule_text
from .text import sql_contains, sql_len, sql_text_fn
from .values import py_coalesce, py_has_role, rule_coalesce, rule_has_role, sql_coalesce
from .values import sql_has_role


def register_builtins(functions) -> None:
    r = functions.register
    r("today", lambda ctx: ctx.today(), constant(DATE), sql_today, uses_context=True)
    r("now", lambda ctx: ctx.now(), constant(DATETIME), sql_now, uses_context=True)
    r("has_role", py_has_role, rule_has_role, sql_has_role, uses_context=True)
    r("sum", py_sum, rule_sum, aggregate=True)
    r("count", py_count, rule_count, aggregate=True)
    r("min", py_min, rule_min_max, sql_min_max("min"), aggregate=True)
    r("max", py_max, rule_min_max, sql_min_max("max"), aggregate=True)
    r("avg", py_avg, rule_avg, aggregate=True)
    r("round", py_round, rule_round, sql_round)
    r("abs", py_abs, rule_abs, sql_abs)
    r("ratio", py_ratio, rule_ratio)
    r("len", py_len, rule_len, sql_len)
    r("coalesce", py_coalesce, rule_coalesce, sql_coalesce)
    r("days_between", py_days_between, rule_days_between, sql_days_between)
    r("add_days", py_add_days, rule_add_days, sql_add_days)
    r("month_start", py_month_start, rule_date_to_date,
      sql_trunc("month", ("start of month",)))
    r("week_start", py_week_start, rule_date_to_date, sql_trunc("week", ("-6 days", "weekday 1")))
    r("year_start", py_year_start, rule_date_to_date, sql_trunc("year", ("start of year",)))
    r("start_of_year", py_year_start, rule_date_to_date, sql_trunc("year", ("start of year",)))
    r("year", py_part("year"), rule_date_part, sql_part("year", "%Y"))
    r("month", py_part("month"), rule_date_part, sql_part("month", "%m"))
    r("quarter", py_quarter, rule_date_part, sql_quarter)
    r("upper", py_upper, rule_text, sql_text_fn("upper"))
    r("lower", py_lower, rule_text, sql_text_fn("lower"))
    r("contains", py_contains, rule_contains, sql_contains)


def default_functions() -> Functions:
    """A fresh registry holding the built-ins."""
    functions = Functions()
    register_builtins(functions)
    return functions
