"""The built-in process sources a report may name with `insight:`, and their columns.

Here (not beside the SQL in engine/reports/insights.py) so `loom check` can
check a report's chart and order against them without loading the runtime.
"""
from __future__ import annotations

INSIGHT_COLUMNS: dict[str, tuple[str, ...]] = {
    "time_in_step": ("step", "kind", "visits", "finished", "median_hours", "avg_hours",
                     "max_hours", "in_step_now"),
    "approvers": ("approver", "decided", "median_hours", "overdue", "open"),
    "sla": ("step", "tasks", "breached", "breach_pct"),
    "returns": ("step", "returned", "rejected"),
    "throughput": ("week", "started", "finished"),
}
