"""The runbooks of the example fleet name the cutover commands, and every such line parses as this CLI
defines them (options and all), so a reader can paste them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click

from migrator.cli import main
from migrator.plan.model import Plan

COMMAND = re.compile(r"^\s*(migrate (?:cutover|rollback|unbind|finalize)\b.*)$", re.M)


def test_rendered_runbooks_name_every_command_and_each_line_parses(tmp_path: Path,
                                                                   example_plan: tuple[Plan, Path]) -> None:
    from migrator.commands.render import run_render

    out = tmp_path / "out"
    run_render(plan_path=example_plan[1], fleet_path=None, out=out)
    lines = sorted({m.group(1).strip() for p in out.rglob("*.md") for m in COMMAND.finditer(p.read_text())})
    verbs = {" ".join(shlex.split(line)[1:3]) if shlex.split(line)[1:3] == ["cutover", "status"]
             else shlex.split(line)[1] for line in lines}
    assert {"cutover", "cutover status", "rollback", "unbind", "finalize"} <= verbs
    for line in lines:
        args = shlex.split(line)[1:]
        ctx = main.make_context("migrate", list(args), resilient_parsing=False)
        with ctx:
            sub = main.get_command(ctx, args[0])
            assert sub is not None, line
            rest = args[1:]
            if isinstance(sub, click.Group) and rest and rest[0] == "status":
                sub, rest = sub.get_command(ctx, "status"), rest[1:]  # type: ignore[assignment]
            sub.make_context(args[0], list(rest), parent=ctx)  # raises on an unknown or malformed option
