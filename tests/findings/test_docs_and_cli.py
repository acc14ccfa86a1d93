"""docs/findings.md is generated from the registry; ``migrate explain`` prints the same long form."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from migrator.cli import main
from migrator.findings.docs import render_findings_doc
from migrator.findings.registry import all_rules
from tests.conftest import REPO

DOC = REPO / "docs" / "findings.md"


def test_docs_findings_md_is_up_to_date() -> None:
    assert DOC.exists(), "generate it: python -m migrator.findings.docs > docs/findings.md"
    assert DOC.read_text(encoding="utf-8") == render_findings_doc(), (
        "docs/findings.md is stale: python -m migrator.findings.docs > docs/findings.md")


def test_the_doc_lists_every_code_with_its_long_form() -> None:
    text = render_findings_doc()
    for code, r in all_rules().items():
        assert f"### {code}" in text and f"| [`{code}`](#{code.lower()}) | {r.severity.value} |" in text


def test_the_doc_is_regenerated_by_the_module_entry_point() -> None:
    out = subprocess.run([sys.executable, "-m", "migrator.findings.docs"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0 and out.stdout == render_findings_doc()


def test_explain_without_a_code_lists_every_code_with_severity_and_title() -> None:
    result = CliRunner().invoke(main, ["explain"])
    assert result.exit_code == 0
    for code, r in all_rules().items():
        line = next(ln for ln in result.output.splitlines() if ln.startswith(code + " "))
        assert r.severity.value in line and r.title in line


def test_explain_a_code_prints_cause_risk_remediation_and_references() -> None:
    result = CliRunner().invoke(main, ["explain", "FLUX_WITHOUT_EXCEPTION"])
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("FLUX_WITHOUT_EXCEPTION (error)")
    for part in ("Cause:", "Risk:", "Remediation:", "References:", "https://github.com/Azure/AKS/issues/2860"):
        assert part in out


def test_explain_accepts_any_case() -> None:
    assert CliRunner().invoke(main, ["explain", "binding_stale"]).output.startswith("BINDING_STALE (warning)")


def test_every_code_can_be_explained() -> None:
    for code in all_rules():
        assert CliRunner().invoke(main, ["explain", code]).exit_code == 0


def test_an_unknown_code_exits_2_with_a_clear_message() -> None:
    result = CliRunner().invoke(main, ["explain", "BINDING"])
    assert result.exit_code == 2
    assert "unknown finding code: 'BINDING'" in result.output
    assert "BINDING_DANGLING" in result.output and "migrate explain" in result.output
