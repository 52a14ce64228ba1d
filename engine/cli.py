"""The `loom` command line. Every command goes through the Engine facade."""
from __future__ import annotations

import json
import os
import sys

import click

DEFAULT_DEFINITIONS = "./definitions"
DEFAULT_DATABASE = "sqlite:///loom.db"


def definitions_dir(value: str | None) -> str:
    return value or os.environ.get("LOOM_DEFINITIONS") or DEFAULT_DEFINITIONS


def database_url(value: str | None = None) -> str:
    return value or os.environ.get("LOOM_DATABASE_URL") or DEFAULT_DATABASE


@click.group()
def main() -> None:
    """Loom: forms, approvals, alerts and reports from YAML."""


@main.command()
@click.argument("directory", required=False)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option("--against", "against", default=None, metavar="DATABASE_URL",
              help="Also report records a changed workflow would strand in this database.")
def check(directory: str | None, fmt: str, against: str | None) -> None:
    """Check every definition under DIRECTORY; exit 1 if any error."""
    from .definitions.catalog import check_tree
    from .registry import default_registries

    root = definitions_dir(directory)
    show_progress = fmt == "text" and sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show_progress and (done == total or done % 50 == 0):
            click.echo(f"\rchecking {done}/{total} files", err=True, nl=done == total)

    defs, problems = check_tree(root, default_registries(), progress)
    if against and defs is not None and not [p for p in problems if p.severity == "error"]:
        from .engine import Engine

        engine = Engine(root, against, definitions=defs, migrate=False)
        problems = problems + engine.stranded_problems()
    errors = [p for p in problems if p.severity == "error"]
    if fmt == "json":
        click.echo(json.dumps({"problems": [p.as_json() for p in problems],
                               "errors": len(errors), "warnings": len(problems) - len(errors)},
                              indent=2))
    else:
        for p in problems:
            click.echo(str(p))
        files = len(defs.docs) if defs else 0
        if errors:
            click.echo(f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s) "
                       f"in {root}", err=True)
        else:
            click.echo(f"ok: {files} definition file(s) checked, "
                       f"{len(problems)} warning(s)", err=True)
    sys.exit(1 if errors else 0)


@main.command()
@click.argument("directory")
def schema(directory: str) -> None:
    """Write the JSON Schemas of the five kinds to DIRECTORY (for editors)."""
    from .definitions.schema_check import write_schemas

    os.makedirs(directory, exist_ok=True)
    for path in write_schemas(directory):
        click.echo(path)


@main.command()
@click.option("--definitions", "definitions", default=None, help="Definitions directory "
              "(default: $LOOM_DEFINITIONS or ./definitions).")
@click.option("--database", "database", default=None, help="Database URL (default: $LOOM_DATABASE_URL).")
@click.option("--once", is_flag=True, help="Run one pass (schedules, SLA, outbox) and exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes when idle.")
def worker(definitions: str | None, database: str | None, once: bool, interval: float) -> None:
    """Scheduled alerts, SLA escalation and outbox delivery (stops cleanly on SIGTERM)."""
    import logging

    from .alerts.worker import Worker
    from .engine import Engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = Engine(definitions_dir(definitions), database_url(database))
    w = Worker(engine, interval=interval)
    w.install_signal_handlers()
    try:
        if once:
            summary = w.run_once()
            click.echo(json.dumps(_worker_summary(summary), default=str))
        else:
            w.run()
    finally:
        engine.close()


def _worker_summary(summary: dict) -> dict:
    out = dict(summary)
    out["schedules"] = [{"alert": r.alert, "tick": r.tick, "matched": r.matched, "fired": r.fired,
                         "skipped": r.skipped} for r in summary.get("schedules", [])]
    return out


if __name__ == "__main__":  # pragma: no cover
    main()
