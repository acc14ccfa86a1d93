"""The example fleet end to end: every binding resolved to exactly the triples worked out by hand.

``tests/data/example_expected.json`` was written by reasoning over the example's documents with
AAD Pod Identity's rules, independently of the resolver; this test holds the two to each other.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, REPO

EXPECTED = json.loads((REPO / "tests/data/example_expected.json").read_text())


@pytest.fixture(scope="module")
def catalog_json() -> dict:
    result = subprocess.run([sys.executable, "-m", "migrator.cli", "catalog", "--fleet", str(EXAMPLES / "fleet.yaml"),
                             "-o", "json"], capture_output=True, text=True, cwd=REPO)
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    # exit 1: every cluster was read (3 otherwise) and the example has error findings on purpose
    assert result.returncode == 1, result.stderr
    assert report["summary"]["clustersRead"] == report["summary"]["clusters"] == 5
    assert report["summary"]["clustersFailed"] == 0
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors and report["summary"]["findings"]["error"] == len(errors)
    return report


def _key(use: dict, resource_id: str | None, client_id: str | None, workloads: list[str]) -> tuple:
    return (use["cluster"], use["namespace"], use["serviceAccount"], (resource_id or "").lower() or None,
            client_id if not resource_id else None, tuple(sorted(workloads)))


def _actual(uses: list[dict]) -> list[tuple]:
    return sorted(_key(u, u["identity"]["resourceId"], u["identity"]["clientId"], u["workloads"]) for u in uses)


def _expected(uses: list[dict]) -> list[tuple]:
    return sorted(_key(u, u.get("identityResourceId"), u.get("identityClientId"), u["workloads"]) for u in uses)


@pytest.mark.parametrize("cluster", sorted(EXPECTED["clusters"]))
def test_every_binding_resolves_to_the_expected_triples(catalog_json: dict, cluster: str) -> None:
    expected = EXPECTED["clusters"][cluster]
    got = next(c for c in catalog_json["clusters"] if c["name"] == cluster)
    assert got["status"] == "ok"
    assert _actual(got["uses"]) == _expected(expected["uses"])
    assert _actual(got["inactiveUses"]) == _expected(expected.get("inactiveLegacy", []))
    assert (got["oidcIssuer"] or {}).get("url") == expected["issuer"]


def test_fleet_level_uses_list_every_cluster_use(catalog_json: dict) -> None:
    per_cluster = sum(len(c["uses"]) for c in catalog_json["clusters"] if c["status"] == "ok")
    assert len(catalog_json["uses"]) == per_cluster == catalog_json["summary"]["uses"]
    assert sum(len(c["uses"]) for c in EXPECTED["clusters"].values()) == per_cluster


def test_not_captured_kinds_are_reported_not_treated_as_empty(catalog_json: dict) -> None:
    dev = next(c for c in catalog_json["clusters"] if c["name"] == "aks-dev-weu")
    assert "pods" in dev["notCaptured"]


def test_table_and_markdown_reports_run_on_the_example(tmp_path, catalog_json: dict) -> None:
    counts = catalog_json["summary"]["findings"]
    for fmt in ("table", "markdown"):
        out = tmp_path / f"report.{fmt}"
        result = subprocess.run([sys.executable, "-m", "migrator.cli", "catalog", "--fleet",
                                 str(EXAMPLES / "fleet.yaml"), "-o", fmt, "--out", str(out)],
                                capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 1, result.stderr  # the same error findings as the JSON report
        assert "Traceback" not in result.stderr
        text = out.read_text()
        assert "aks-prod-weu" in text and "payments-api" in text
        assert f"{counts['error']} error, {counts['warning']} warning, {counts['info']} info" in text
        assert "BINDING_DANGLING" in text and "FLUX_WITHOUT_EXCEPTION" in text


def test_the_example_fleet_triggers_every_finding_code(catalog_json: dict) -> None:
    from migrator.findings.registry import all_rules

    fired = {f["code"] for f in catalog_json["findings"]}
    assert sorted(set(all_rules()) - fired) == []
    for f in catalog_json["findings"]:
        assert f["message"] and f["remediation"] and f["severity"] in ("error", "warning", "info")
        assert "/" in f["object"]


def test_exit_code_follows_fail_on(tmp_path) -> None:
    codes = {}
    for fail_on in ("error", "warning", "never"):
        result = subprocess.run([sys.executable, "-m", "migrator.cli", "catalog", "--fleet",
                                 str(EXAMPLES / "fleet.yaml"), "-o", "json", "--fail-on", fail_on],
                                capture_output=True, text=True, cwd=REPO)
        codes[fail_on] = result.returncode
    assert codes == {"error": 1, "warning": 1, "never": 0}
    ignored = subprocess.run([sys.executable, "-m", "migrator.cli", "catalog", "--fleet", str(EXAMPLES / "fleet.yaml"),
                              "-o", "json", "--ignore", "FLUX_WITHOUT_EXCEPTION,DRIFT_BETWEEN_PEERS"],
                             capture_output=True, text=True, cwd=REPO)
    view = json.loads(ignored.stdout)
    assert view["summary"]["ignoredFindings"] > 0
    assert not {"FLUX_WITHOUT_EXCEPTION", "DRIFT_BETWEEN_PEERS"} & {f["code"] for f in view["findings"]}


def test_the_json_report_is_byte_for_byte_what_the_standard_encoder_writes() -> None:
    """msgspec writes the report; the layout users diff is json.dumps(indent=2, ensure_ascii=False)'s."""
    import json

    from migrator.commands.catalog import build_report
    from migrator.report.json import render

    report, _ = build_report(EXAMPLES / "fleet.yaml")
    assert render(report) == json.dumps(report.view(), indent=2, ensure_ascii=False) + "\n"


def test_the_json_report_view_holds_no_floats() -> None:
    """Floats are the one value whose spelling differs between msgspec (1e16) and json (1e+16)."""
    from migrator.commands.catalog import build_report

    report, _ = build_report(EXAMPLES / "fleet.yaml")

    def floats(value: object) -> list[object]:
        if isinstance(value, float):
            return [value]
        if isinstance(value, dict):
            return [f for v in value.values() for f in floats(v)]
        if isinstance(value, list):
            return [f for v in value for f in floats(v)]
        return []

    assert floats(report.view()) == []
