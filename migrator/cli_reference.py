"""docs/cli.md, generated from the command line itself: every command's ``--help``, as ``migrate`` prints it.

Regenerate with::

    python -m migrator.cli_reference > docs/cli.md

A test fails when the committed file differs from what this module renders.
"""

from __future__ import annotations

import sys

import click

from migrator.cli import main

WIDTH = 110
HEAD = """# Command reference

Every command's `--help`, as `migrate` prints it. Generated from the command line itself
(`python -m migrator.cli_reference > docs/cli.md`); a test keeps it in step. The README's table
says which document explains each command.
"""


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command, click.Context]]:
    found = []
    for name in sorted(group.list_commands(ctx)):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        sub = click.Context(command, info_name=name, parent=ctx, terminal_width=WIDTH, max_content_width=WIDTH)
        found.append((sub.command_path, command, sub))
        if isinstance(command, click.Group):
            found.extend(_commands(command, sub))
    return found


def render() -> str:
    root = click.Context(main, info_name="migrate", terminal_width=WIDTH, max_content_width=WIDTH)
    out = [HEAD, "\n## migrate\n\n```text\n", main.get_help(root), "\n```\n"]
    for path, command, ctx in _commands(main, root):
        out += [f"\n## {path}\n\n```text\n", command.get_help(ctx), "\n```\n"]
    return "".join(out)


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
