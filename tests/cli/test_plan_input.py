"""A file that is not a plan, given where a plan is expected, is named for what it is (issue 20)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import main
from migrator.errors import ExitCode
from tests.conftest import EXAMPLES, REPO


@pytest.mark.parametrize(("given", "says"), [
    ("sample_output/catalog.json", "this is a catalog report (schemaVersion 1), not a plan: run migrate plan"),
    ("examples/fleet.yaml", "this is a fleet file, not a plan: run migrate plan"),
    ("sample_output/migration", "this is a folder written by migrate render, not a plan: run migrate plan"),
    ("sample_output/migration/.wi-migrator-manifest", "this is the manifest of a folder written by migrate render"),
])
def test_the_wrong_file_for_plan_is_named(tmp_path: Path, given: str, says: str) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", "--plan", str(REPO / given), "--out", str(out)])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert says in result.stderr
    assert "migrate plan --fleet fleet.yaml --out plan.json" in result.stderr
    assert not out.exists()


def test_a_snapshot_folder_for_plan_is_named(tmp_path: Path) -> None:
    snap = tmp_path / "snap"
    shutil.copytree(EXAMPLES / "snapshots" / "aks-dev-weu", snap / "aks-dev-weu")
    (snap / "fleet.yaml").write_text("tenantId: x\n")
    result = CliRunner().invoke(main, ["render", "--plan", str(snap), "--out", str(tmp_path / "out")])
    assert "this is a snapshot folder (migrate snapshot), not a plan" in result.stderr


@pytest.mark.parametrize("command", [
    ["cutover", "--cluster", "aks-prod-weu", "--namespace", "payments", "--dry-run"],
    ["cutover", "status"],
    ["rollback", "--cluster", "aks-prod-weu", "--namespace", "payments", "--dry-run"],
    ["unbind", "--cluster", "aks-prod-weu", "--dry-run"],
    ["finalize", "--cluster", "aks-prod-weu", "--dry-run"],
])
def test_the_cluster_commands_name_the_wrong_file_too_before_reaching_anything(command: list[str]) -> None:
    given = REPO / "sample_output" / "catalog.json"
    result = CliRunner().invoke(main, [*command, "--plan", str(given)])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "this is a catalog report (schemaVersion 1), not a plan: run migrate plan" in result.stderr
