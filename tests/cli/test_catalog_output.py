"""The catalog's output (issue 20): every cluster not read is named on stderr whatever --out says (render --fleet too), and the
table uses the width it gets instead of wrapping at 140 columns in a pipe."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from migrator.cli import main
from migrator.errors import ExitCode
from tests.conftest import EXAMPLES, REPO

UNREADABLE_FLEET = """\
tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
clusters:
  - name: aks-gone
    region: westeurope
    subscriptionId: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg-a
    context: nowhere
"""


def test_catalog_to_a_file_still_names_every_cluster_not_read(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(UNREADABLE_FLEET)
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["catalog", "--fleet", str(fleet), "--kubeconfig",
                                       str(_empty_kubeconfig(tmp_path)), "-o", "json", "--out", str(out)])
    assert result.exit_code == ExitCode.PARTIAL
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: cluster aks-gone (westeurope) not read: kubeconfig context 'nowhere'")
    assert str(out) in lines[1] and "1 cluster(s) not read" in lines[1]
    assert out.exists()


def _empty_kubeconfig(tmp: Path) -> Path:
    path = tmp / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    return path


def _table(env: dict[str, str] | None = None) -> list[str]:
    result = CliRunner().invoke(main, ["catalog", "--fleet", str(EXAMPLES / "fleet.yaml")], env=env)
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    return result.stdout.splitlines()


def test_the_piped_table_uses_the_width_it_needs_one_line_per_finding() -> None:
    lines = _table({"COLUMNS": ""})
    report = json.loads((REPO / "sample_output" / "catalog.json").read_text(encoding="utf-8"))
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["severity", "┃"])
    rows = lines[header + 2:]
    assert len(rows) == len(report["findings"])  # no message wrapped onto a second line
    assert all(any(f["message"] in row for row in rows) for f in report["findings"])
    assert len(lines) < 200  # 668 when the table wrapped at 140 columns


def test_the_table_follows_columns() -> None:
    lines = _table({"COLUMNS": "120"})
    assert max(len(line) for line in lines if "┃" in line or "│" in line) <= 120


def test_a_table_written_to_a_file_ignores_columns(tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    result = CliRunner().invoke(main, ["catalog", "--fleet", str(EXAMPLES / "fleet.yaml"), "--out", str(out)],
                                env={"COLUMNS": "80"})
    assert result.exit_code == ExitCode.FINDINGS, result.stderr
    assert out.read_text(encoding="utf-8").splitlines() == _table({"COLUMNS": ""})



def test_render_from_a_fleet_names_every_cluster_not_read(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(UNREADABLE_FLEET)
    result = CliRunner().invoke(main, ["render", "--fleet", str(fleet), "--kubeconfig", str(_empty_kubeconfig(tmp_path)),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == ExitCode.PARTIAL, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: cluster aks-gone (westeurope) not read: kubeconfig context 'nowhere'")
    assert lines[1] == "  1 cluster(s) not read (exit code 3); the details are above; the plan blocks them, and " \
                       "nothing is rendered for them"
