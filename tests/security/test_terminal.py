"""Text printed to a terminal never carries the control characters of cluster data: an AzureIdentity's
resourceID or a binding's selector with ESC/BEL/CR sequences is shown escaped in the table, the Markdown
report, the plan summary and error lines; a newline in a value never splits an error line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.security.helpers import fleet_text, migrate

TITLE = "\x1b]0;owned\x07"  # sets the terminal's title
CLEAR = "\x1b[2J\x1b[H"  # clears the screen
CR = "\rfake line"
CONTROLS = ("\x1b", "\x07", "\r", "\x9b")


def _hostile_fleet(tmp_path: Path) -> Path:
    snap = tmp_path / "aks-prod-weu"
    shutil.copytree(EXAMPLES / "snapshots" / "aks-prod-weu", snap)
    identities = json.loads((snap / "kube/azureidentities.json").read_text())
    for item in identities["items"]:
        item["spec"]["resourceID"] += TITLE
        item["spec"]["clientID"] = item["spec"].get("clientID", "") + CLEAR
    (snap / "kube/azureidentities.json").write_text(json.dumps(identities))
    bindings = json.loads((snap / "kube/azureidentitybindings.json").read_text())
    for item in bindings["items"]:
        item["spec"]["selector"] = item["spec"].get("selector", "x") + CR + "\x9b31m"
        item["spec"]["azureIdentity"] = item["spec"].get("azureIdentity", "x") + CLEAR
    (snap / "kube/azureidentitybindings.json").write_text(json.dumps(bindings))
    text = fleet_text("aks-prod-weu", snapshot=snap)
    (tmp_path / "fleet.yaml").write_text(text)
    return tmp_path / "fleet.yaml"


def _clean(text: str) -> None:
    for control in CONTROLS:
        assert control not in text, f"{control!r} reached the terminal: {text[text.index(control) - 80:][:200]!r}"


@pytest.mark.parametrize("output", ["table", "markdown"])
def test_the_catalog_shows_cluster_data_escaped(tmp_path: Path, output: str) -> None:
    """The table printed an AzureIdentity's resourceID with its escape sequences: the terminal obeyed them."""
    fleet = _hostile_fleet(tmp_path)
    run = migrate("catalog", "--fleet", fleet, "-o", output, "--fail-on", "never")
    assert run.code == 0, run.stderr
    _clean(run.stdout + run.stderr)
    assert "\\x1b" in run.stdout  # shown, not hidden


def test_the_table_escapes_data_on_a_real_terminal_too(tmp_path: Path) -> None:
    from migrator.commands.catalog import build_report
    from migrator.report.table import render

    report, _ = build_report(_hostile_fleet(tmp_path))
    text = render(report, color=True)
    assert "\x1b[" in text  # the table's own colours
    for control in ("\x07", "\r", "\x9b", "\x1b]", "\x1b[2J"):
        assert control not in text


def test_the_plan_summary_shows_cluster_data_escaped(tmp_path: Path) -> None:
    fleet = _hostile_fleet(tmp_path)
    run = migrate("plan", "--fleet", fleet, "--out", tmp_path / "plan.json")
    assert run.code == 0, run.stderr
    _clean(run.stdout + run.stderr)


def test_an_error_line_stays_one_line_whatever_the_values_hold(tmp_path: Path) -> None:
    """A newline in a name split the error line; an escape sequence in it reached the terminal."""
    missing = tmp_path / f"fleet\nerror: forged line{CLEAR}.yaml"
    run = migrate("catalog", "--fleet", missing)
    run.refused("fleet file not found")
    lines = run.stderr.splitlines()
    assert [line.split(":")[0] for line in lines] == ["error", "  hint"], lines
    _clean(run.stderr)


def test_an_error_renders_each_value_escaped() -> None:
    from migrator.errors import InputError, visible

    error = InputError(f"bad{CLEAR}\nvalue", details=(f"one{TITLE}", "two\nlines"), hint=f"do{CR}")
    lines = error.render().split("\n")
    assert lines == ["bad\\x1b[2J\\x1b[H\\nvalue", "  one\\x1b]0;owned\\x07", "  two\\nlines", "  hint: do\\rfake line"]
    assert visible("é ✓ 日本") == "é ✓ 日本"  # printable text is left alone


def test_a_failed_cluster_s_reason_is_escaped_in_the_table(tmp_path: Path) -> None:
    fleet = _hostile_fleet(tmp_path)
    (tmp_path / "aks-prod-weu" / "kube" / "pods.json").unlink()
    (tmp_path / "aks-prod-weu" / "kube" / "pods.json").mkdir()
    run = migrate("catalog", "--fleet", fleet, "-o", "table")
    assert run.code == 3, run.stderr
    _clean(run.stdout)
    assert "NOT READ" in run.stdout
