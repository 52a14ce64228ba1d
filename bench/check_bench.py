"""How long `loom check` takes on a large app: 200 forms, 100 workflows, 100 reports, 100 alerts.

Generates a valid tree in a temp dir (forms of 12-20 fields with a line-item
table, links, computed fields, rules; workflows of 6 steps with two approval
levels and on-enter actions; grouped reports; alerts that raise records),
then times the check in-process (`check_tree`) and as the CLI in a fresh
process (`python -m engine.cli check DIR`, imports included).

    python bench/check_bench.py [--forms 200] [--repeat 3] [--profile]

Target: < 2 s for the CLI on a 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

ROLES = ["sales", "sales_manager", "general_manager", "finance", "warehouse", "purchasing",
         "admin"]


def progress(label: str, done: int, total: int) -> None:
    if done == total or done % 50 == 0:
        print(f"\r{label}: {done}/{total}", end="\n" if done == total else "", file=sys.stderr,
              flush=True)


def form_yaml(i: int, rng: random.Random) -> str:
    other = f"form_{(i + 1) % 200:03d}" if i else "form_001"
    extra = []
    for k in range(rng.randint(6, 12)):
        kind = rng.choice(["text", "integer", "money", "date", "choice", "boolean", "email"])
        if kind == "choice":
            extra.append(f"  - {{name: f{k}, type: choice, options: [a, b, c]}}")
        else:
            extra.append(f"  - {{name: f{k}, type: {kind}}}")
    return f"""form: form_{i:03d}
title: {{en: Form {i}, zh: 表单 {i}}}
number: "F{i}-{{date:%Y%m}}-{{seq:05}}"
title_field: name
fields:
  - {{name: name, type: text, required: true, max_length: 120}}
  - {{name: partner, type: link, to: {other}}}
  - {{name: order_date, type: date, default: "today()"}}
  - name: due_date
    type: date
    validate:
      - {{rule: "due_date >= order_date", message: Due date is before the order date}}
  - {{name: handler, type: user, default: "user.name"}}
  - {{name: region, type: choice, options: [north, south, east, west]}}
  - name: lines
    type: table
    min_rows: 1
    fields:
      - {{name: item, type: text, required: true}}
      - {{name: qty, type: integer, min: 1}}
      - {{name: price, type: money}}
      - {{name: amount, type: money, compute: "qty * price"}}
  - {{name: total, type: money, compute: "sum(lines.amount)"}}
  - {{name: discount, type: percent, default: 0}}
  - {{name: discount_reason, type: text, visible_if: "discount > 0", required_if: "discount > 0"}}
  - {{name: approved_at, type: datetime}}
  - {{name: stock_qty, type: integer, default: 0}}
  - {{name: safety_stock, type: integer, default: 10}}
{chr(10).join(extra)}
indexes: [name, order_date]
permissions:
  create: [sales]
  read: [sales, sales_manager, general_manager, finance]
  update: [sales]
  rows: "owner == user.name or has_role('sales_manager')"
"""


def workflow_yaml(i: int) -> str:
    return f"""workflow: form_{i:03d}
form: form_{i:03d}
start: draft
steps:
  draft:
    edit: [owner]
    actions:
      submit: {{to: manager_review, by: [owner]}}
  manager_review:
    approvers: {{role: sales_manager}}
    due: 2d
    on_overdue: {{remind_every: 1d, escalate_to: {{role: general_manager}}, after: 3d}}
    actions:
      approve:
        - {{to: gm_review, if: "total >= 100000"}}
        - {{to: approved}}
      reject: {{to: rejected, comment: required}}
      return: {{to: draft}}
  gm_review:
    approvers: {{manager_of: owner}}
    actions:
      approve: {{to: approved}}
      reject: {{to: rejected}}
      return: {{to: manager_review}}
  approved:
    on_enter:
      - set: {{approved_at: "now()"}}
      - notify: {{to: {{field: handler}}, subject: "{{{{number}}}} approved"}}
    actions:
      ship: {{to: shipped, by: [warehouse], if: "count(lines) > 0"}}
  shipped:
    on_enter:
      - update:
          each: lines
          form: form_{(i + 1) % 200:03d}
          id: "partner"
          set: {{stock_qty: "target.stock_qty - line.qty"}}
  rejected: {{final: true}}
"""


def report_yaml(i: int) -> str:
    src = f"form_{i:03d}" + (".lines" if i % 2 else "")
    measure = "amount" if i % 2 else "total"
    return f"""report: report_{i:03d}
title: Report {i}
source: {src}
filter: "state in ['approved', 'shipped']"
params:
  - {{name: since, type: date, default: "start_of_year(today())"}}
where: "order_date >= since"
group_by:
  - {{name: month, expr: "month_start(order_date)"}}
  - {{name: region, expr: "partner.region"}}
measures:
  - {{name: orders, agg: count}}
  - {{name: revenue, agg: sum, expr: {measure}}}
  - {{name: average, expr: "revenue / orders if orders > 0 else 0"}}
having: "orders > 0"
order_by: [-revenue, month]
chart: {{type: bar, x: month, y: revenue, series: region}}
"""


def alert_yaml(i: int) -> str:
    form = f"form_{i:03d}"
    on = "change" if i % 3 else 'enter:approved' if i < 100 else "change"
    if i % 5 == 0:
        on = '\n  schedule: "0 8 * * 1-5"'
    return f"""alert: alert_{i:03d}
form: {form}
on: {on}
if: "stock_qty < safety_stock"
once: true
notify:
  to: {{role: purchasing}}
  channels: [inbox, email]
  subject: "Low stock: {{{{name}}}} ({{{{stock_qty}}}} left)"
create:
  form: form_{(i + 1) % 200:03d}
  values: {{name: "name", partner: "id", stock_qty: "safety_stock * 2 - stock_qty"}}
"""


def generate(root: str, forms: int = 200, workflows: int = 100, reports: int = 100,
             alerts: int = 100, seed: int = 7) -> int:
    rng = random.Random(seed)
    for sub in ("forms", "workflows", "reports", "alerts"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    with open(os.path.join(root, "app.yaml"), "w") as fh:
        fh.write("app: bench\ntitle: Bench\nroles: [" + ", ".join(ROLES) + "]\n"
                 "languages: [en, zh]\n")
    jobs = ([("forms", f"form_{i:03d}", form_yaml(i, rng)) for i in range(forms)]
            + [("workflows", f"form_{i:03d}", workflow_yaml(i)) for i in range(workflows)]
            + [("reports", f"report_{i:03d}", report_yaml(i)) for i in range(reports)]
            + [("alerts", f"alert_{i:03d}", alert_yaml(i)) for i in range(alerts)])
    for n, (sub, name, text) in enumerate(jobs, 1):
        with open(os.path.join(root, sub, name + ".yaml"), "w") as fh:
            fh.write(text)
        progress("generating", n, len(jobs))
    return len(jobs) + 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forms", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one in-process check")
    args = ap.parse_args()
    from engine.definitions.catalog import check_tree
    from engine.bootstrap import default_registries

    with tempfile.TemporaryDirectory() as tmp:
        n = generate(tmp, forms=args.forms)
        regs = default_registries()
        best = None
        for r in range(args.repeat):
            t0 = time.perf_counter()
            defs, problems = check_tree(tmp, regs, lambda d, t: progress(f"check {r + 1}", d, t))
            dt = time.perf_counter() - t0
            best = dt if best is None else min(best, dt)
        errors = [p for p in problems if p.severity == "error"]
        for p in problems[:10]:
            print(p, file=sys.stderr)
        if args.profile:
            import cProfile
            import pstats

            prof = cProfile.Profile()
            prof.enable()
            check_tree(tmp, regs)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        cli = None
        for r in range(args.repeat):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "engine.cli", "check", tmp],
                                  cwd=ROOT, capture_output=True, text=True)
            dt = time.perf_counter() - t0
            cli = dt if cli is None else min(cli, dt)
            print(f"cli run {r + 1}: {dt:.2f} s (exit {proc.returncode})", file=sys.stderr)
        print(f"files: {n}  problems: {len(problems)} ({len(errors)} errors)")
        print(f"check_tree in-process: {best:.3f} s (best of {args.repeat})")
        print(f"loom check CLI process: {cli:.3f} s (best of {args.repeat}, imports included)")
        print("target: < 2 s -", "ok" if cli < 2 else "SLOW")
        return 1 if errors or proc.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
