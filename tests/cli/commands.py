"""Every command of ``migrate``, by its full name (``cutover status``): what the CLI tests walk."""

from __future__ import annotations

import click

from migrator.cli import main


def all_commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            found[f"{prefix}{name}"] = command
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")

    walk(main, "")
    return found
