"""Every `wb` command and sub-command shows an example in its --help (the house rule for a mature tool)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from workbench.cli import main


def _commands(group: click.Group, path: list[str]):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield path + [name]
        if isinstance(command, click.Group):
            yield from _commands(command, path + [name])


def test_every_command_has_an_example_in_its_help():
    runner = CliRunner()
    missing = []
    for path in _commands(main, []):
        shown = runner.invoke(main, [*path, "--help"])
        if shown.exit_code != 0 or "Example" not in shown.output or "wb " not in shown.output:
            missing.append(" ".join(path))
    assert not missing, f"--help without an example: {missing}"
