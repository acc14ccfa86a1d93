"""One CLI grammar (issue 20): shared options mean the same everywhere, --out is the destination, -o the
format, snapshot says what it wrote, the table uses the width it gets, and the wrong file for --plan is named."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from migrator.cli import main
from migrator.errors import ExitCode
from tests.cli.commands import all_commands
from tests.conftest import EXAMPLES

_commands = all_commands


SHARED = ("--fleet", "--force", "--kubeconfig", "--arm-endpoint", "--ca-bundle", "--request-timeout",
          "--concurrency", "--cluster-deadline", "--output")


def test_options_with_the_same_name_mean_the_same_thing_everywhere() -> None:
    """Same flag, same help and type: the shared options are defined once (cli.py)."""
    by_flag: dict[str, dict[tuple[str, str | None], list[str]]] = {}
    for name, command in _commands().items():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for flag in set(param.opts) & set(SHARED):
                    what = (json.dumps(param.type.to_info_dict(), sort_keys=True, default=str), param.help)
                    by_flag.setdefault(flag, {}).setdefault(what, []).append(name)
    assert {flag: variants for flag, variants in by_flag.items() if len(variants) > 1} == {}
    assert len(by_flag["--kubeconfig"][next(iter(by_flag["--kubeconfig"]))]) == 9  # catalog ... finalize


def test_out_is_the_destination_and_output_the_format_in_every_command() -> None:
    for name, command in _commands().items():
        flags = {flag: param for param in command.params if isinstance(param, click.Option) and not param.hidden
                 for flag in param.opts}
        if "--output" in flags:
            assert isinstance(flags["--output"].type, click.Choice), name
            assert "-o" in flags["--output"].opts, name
        for flag in ("--to", "--dest", "--output-dir", "--folder"):
            assert flag not in flags, f"{name} {flag}: the destination is --out"


def _example_fleet(tmp: Path) -> Path:
    """The example fleet with absolute snapshot paths, so a test may write next to it."""
    text = (EXAMPLES / "fleet.yaml").read_text(encoding="utf-8").replace("snapshot: snapshots/",
                                                                          f"snapshot: {EXAMPLES / 'snapshots'}/")
    fleet = tmp / "fleet.yaml"
    fleet.write_text(text, encoding="utf-8")
    return fleet


def test_snapshot_out_prints_what_it_wrote(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    result = CliRunner().invoke(main, ["snapshot", "--fleet", str(_example_fleet(tmp_path)), "--out", str(target)])
    assert result.exit_code == ExitCode.OK, result.stderr
    files = [p for p in target.rglob("*") if p.is_file()]
    assert result.stdout.startswith(f"wrote {target}: 5 cluster(s), {len(files)} files, ")
    assert "object(s) redacted" in result.stdout
    assert result.stderr == ""


def test_snapshot_to_still_works_and_warns(tmp_path: Path) -> None:
    target = tmp_path / "snap"
    result = CliRunner().invoke(main, ["snapshot", "--fleet", str(_example_fleet(tmp_path)), "--to", str(target)])
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stderr == "warning: --to is deprecated and will be removed: use --out\n"
    assert (target / "fleet.yaml").is_file()
    both = CliRunner().invoke(main, ["snapshot", "--fleet", "f.yaml", "--to", "a", "--out", "b"])
    assert both.exit_code == ExitCode.BAD_INPUT and "--out only" in both.stderr
    neither = CliRunner().invoke(main, ["snapshot", "--fleet", "f.yaml"])
    assert neither.exit_code == ExitCode.BAD_INPUT and "Missing option '--out'" in neither.stderr
