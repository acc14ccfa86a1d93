"""Hostile fleet files: expansion bombs, deep nesting, merge keys, things that are not files, names that are
paths. Each is exit 2 with the file, the place and the reason; none hangs, exhausts memory or shows a traceback."""

from __future__ import annotations

import os
import time
from itertools import pairwise
from pathlib import Path

import pytest

from tests.security.helpers import fleet_text, migrate, migrate_process

MAX_FLEET_BYTES = 10 * 1024 * 1024  # migrator.inputs: the limits docs/fleet-file.md states
MAX_YAML_DEPTH = 64


def _escaped(value: str) -> str:
    """``value`` inside a double-quoted YAML scalar."""
    return value.encode("unicode_escape").decode().replace('"', '\\"')


def _billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in pairwise("abcdefghijklmnop"[:levels]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\ntenantId: x\nclusters: []\n"


def test_an_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """A 400-byte file whose aliases expand to 9^10 values ran for minutes and took gigabytes."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(_billion_laughs(10))
    assert fleet.stat().st_size < 600
    started = time.monotonic()
    migrate_process("catalog", "--fleet", fleet, timeout=30).refused("fleet.yaml:", "aliases are expanded")
    assert time.monotonic() - started < 20


def test_too_many_aliases_are_refused(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("x: &x 1\ny: [" + ",".join(["*x"] * 10_001) + "]\n" + fleet_text())
    migrate("catalog", "--fleet", fleet).refused("fleet.yaml:2:", "more than 10000 aliases")


def test_a_fleet_file_larger_than_the_limit_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_text() + "# padding\n" * (MAX_FLEET_BYTES // 10 + 1))
    # in a child: an unbounded parser takes minutes over 10 MB of YAML
    migrate_process("catalog", "--fleet", fleet, timeout=30).refused(
        "fleet.yaml: cannot read the fleet file: larger than 10 MB")


@pytest.mark.parametrize("shape", ["flow", "block"])
def test_deep_nesting_is_refused_naming_the_line(tmp_path: Path, shape: str) -> None:
    """100,000 nested arrays overflowed the stack (RecursionError, exit 4)."""
    fleet = tmp_path / "fleet.yaml"
    if shape == "flow":
        fleet.write_text("tenantId: x\nclusters: " + "[" * 100_000 + "]" * 100_000 + "\n")
        where = "fleet.yaml:2:"
    else:
        fleet.write_text("tenantId: x\nclusters:\n" + "".join("  " * i + "- \n" for i in range(200)) + "\n")
        where = "fleet.yaml:"
    migrate("catalog", "--fleet", fleet).refused(where, f"nested deeper than {MAX_YAML_DEPTH} levels")


@pytest.mark.parametrize("merged", ["*base", "{colour: blue}"])
def test_a_merge_key_bringing_an_unknown_key_names_it(tmp_path: Path, merged: str) -> None:
    """``<<: *base`` with a key the model does not know raised KeyError (exit 4) while locating it."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("base: &base\n  colour: blue\n" + fleet_text().replace(
        "  - name: aks-dev-weu\n", f"  - <<: {merged}\n    name: aks-dev-weu\n"))
    migrate("catalog", "--fleet", fleet).refused("fleet.yaml:5:5", "unknown key 'colour'", "at clusters[0].colour")


def test_a_fifo_as_the_fleet_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "fleet.yaml"
    os.mkfifo(fifo)
    migrate_process("catalog", "--fleet", fifo, timeout=20).refused("not a regular file: it is a FIFO")


def test_dev_zero_as_the_fleet_file_is_refused_not_read(tmp_path: Path) -> None:
    migrate_process("catalog", "--fleet", "/dev/zero", timeout=20).refused(
        "/dev/zero", "not a regular file: it is a character device")


@pytest.mark.parametrize("name", ["..", ".", "../../x", "a/b", "aks\x1b[2Jx", "aks\nx", "aks\rx", "a" * 64, "-aks",
                                  "aks.prod", "aks x"])
def test_a_cluster_name_that_is_not_an_aks_name_is_refused(tmp_path: Path, name: str) -> None:
    """Cluster names become folder names (migrate snapshot) and ARM path segments: '../../x' wrote outside --to."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_text().replace("name: aks-dev-weu", f'name: "{_escaped(name)}"'))
    run = migrate("catalog", "--fleet", fleet).refused("fleet.yaml:3:5", "clusters[0].name", "not an AKS cluster name")
    assert "\x1b" not in run.stderr and "\r" not in run.stderr


@pytest.mark.parametrize(("key", "value", "needle"), [
    ("resourceGroup", "../../providers/x", "not an Azure resource group name"),
    ("resourceGroup", "rg.", "not an Azure resource group name"),
    ("subscriptionId", "00000000-0000-0000-0000-000000000002/resourceGroups/x", "cannot be part of an Azure resource ID"),
    ("subscriptionId", "..", "cannot be part of an Azure resource ID"),
    ("region", "west\teurope", "control character"),
    ("group", "dev\x1b]0;owned\x07", "control character"),
])
def test_names_that_reach_arm_paths_or_terminals_are_checked(tmp_path: Path, key: str, value: str,
                                                              needle: str) -> None:
    fleet = tmp_path / "fleet.yaml"
    text = fleet_text()
    start = text.index(f"    {key}: ")
    end = text.index("\n", start)
    fleet.write_text(text[:start] + f'    {key}: "{_escaped(value)}"' + text[end:])
    run = migrate("catalog", "--fleet", fleet).refused(f"clusters[0].{key}", needle)
    assert "\x1b" not in run.stderr and "\x07" not in run.stderr


def test_a_snapshot_path_with_a_nul_is_refused(tmp_path: Path) -> None:
    """A NUL in a path made os.stat raise ValueError (exit 4)."""
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(fleet_text(snapshot='"snap\\0shot"'))
    migrate("catalog", "--fleet", fleet).refused("clusters[0].snapshot", "control character")
