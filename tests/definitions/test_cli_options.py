"""Every `loom` command that opens an engine takes --definitions and --database, the same way."""
from __future__ import annotations

from pathlib import Path

import click
from click.testing import CliRunner

from engine.cli import main

VALID = Path(__file__).resolve().parents[1] / "fixtures" / "valid"

OPENS_ENGINE = {"worker", "serve", "user add", "user token", "import", "template", "export"}
OPENS_DATABASE = {"db upgrade"}


def commands(group: click.Group, prefix: str = ""):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


def options(cmd: click.Command) -> dict[str, click.Option]:
    return {o.name: o for o in cmd.params if isinstance(o, click.Option)}


def test_engine_commands__take_definitions_and_database_with_one_help_text():
    by_name = dict(commands(main))
    assert OPENS_ENGINE | OPENS_DATABASE <= set(by_name)
    helps = set()
    for name in OPENS_ENGINE:
        opts = options(by_name[name])
        assert {"definitions", "database"} <= set(opts), name
        helps.add((opts["definitions"].help, opts["database"].help))
    assert len(helps) == 1
    assert set(options(by_name["db upgrade"])) & {"definitions", "database"} == {"database"}


def test_user_add_then_token__use_the_database_named_on_the_command_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    added = runner.invoke(main, ["user", "add", "ann", "--role", "sales", "--password", "pw-123456",
                                 "--definitions", str(VALID), "--database", url])
    assert added.exit_code == 0, added.output
    token = runner.invoke(main, ["user", "token", "ann", "--definitions", str(VALID),
                                 "--database", url])
    assert token.exit_code == 0 and token.stdout.startswith("loom_"), token.output
    missing = runner.invoke(main, ["user", "token", "ann", "--definitions", str(VALID),
                                   "--database", f"sqlite:///{tmp_path / 'other.db'}"])
    assert missing.exit_code == 1 and "no user 'ann'" in missing.stderr


def test_user_add__language_is_one_of_the_apps_languages(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    common = ["--definitions", str(VALID), "--database", url, "--password", "pw-123456"]
    ok = CliRunner().invoke(main, ["user", "add", "mei", "--role", "sales", "--language", "zh", *common])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(main, ["user", "add", "hans", "--language", "de", *common])
    assert bad.exit_code == 1
    assert "language 'de' is not one of the app's languages (en, zh); see app.yaml" in bad.stderr
