"""Every bad input named in issue 3: a clear message naming the place, exit code 2, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import main
from tests.conftest import FIXTURES

GOOD_FLEET = """\
tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
clusters:
  - name: aks-a
    region: westeurope
    subscriptionId: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg-a
    group: prod
    snapshot: snap/aks-a
azure:
  snapshot: snap/azure
"""


def _tree(root: Path, fleet: str | None = GOOD_FLEET) -> Path:
    (root / "snap" / "aks-a" / "kube").mkdir(parents=True)
    (root / "snap" / "azure").mkdir(parents=True)
    shutil.copy(FIXTURES / "kube/synthetic/azureidentitybindinglist.json", root / "snap/aks-a/kube/azureidentitybindings.json")
    shutil.copy(FIXTURES / "arm/synthetic/managedCluster-get-podidentity-oidc-wi.json", root / "snap/aks-a/managedcluster.json")
    (root / "snap/azure/identities.json").write_text('{"value": []}')
    if fleet is not None:
        (root / "fleet.yaml").write_text(fleet)
    return root / "fleet.yaml"


def _run(fleet: Path, tmp: Path) -> tuple[int, str, Path]:
    out = tmp / "report.json"
    result = CliRunner().invoke(main, ["catalog", "--fleet", str(fleet), "-o", "json", "--out", str(out)])
    return result.exit_code, result.stderr, out


def _expect_bad(tmp: Path, fleet: Path, *needles: str) -> str:
    code, err, out = _run(fleet, tmp)
    assert code == 2, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    assert "Traceback" not in err
    assert not out.exists(), "nothing may be written on bad input"
    assert not list(tmp.glob(".report.json.*")), "no temporary file may be left behind"
    return err


def test_good_input_writes_the_report(tmp_path: Path) -> None:
    fleet = _tree(tmp_path)
    code, err, out = _run(fleet, tmp_path)
    assert code == 0, err  # warnings and info only (legacy CRD fields, kinds not captured): below --fail-on error
    report = json.loads(out.read_text())
    assert report["schemaVersion"] == 1
    assert report["summary"]["clustersRead"] == 1 and report["summary"]["findings"]["error"] == 0
    assert report["summary"]["bindings"] == 4  # the four bindings of the fixture list, both field casings


def test_missing_fleet_file(tmp_path: Path) -> None:
    _expect_bad(tmp_path, tmp_path / "nope.yaml", "nope.yaml", "fleet file not found")


def test_yaml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    fleet = _tree(tmp_path, GOOD_FLEET.replace("  - name: aks-a\n", "  - name: [aks-a\n"))
    _expect_bad(tmp_path, fleet, "fleet.yaml:4:", "YAML syntax error")


def test_unknown_key_names_line_and_key(tmp_path: Path) -> None:
    fleet = _tree(tmp_path, GOOD_FLEET.replace("    group: prod\n", "    group: prod\n    colour: blue\n"))
    _expect_bad(tmp_path, fleet, "fleet.yaml:8:5", "unknown key 'colour'", "clusters[0].colour")


def test_missing_key_names_the_mapping_and_key(tmp_path: Path) -> None:
    fleet = _tree(tmp_path, GOOD_FLEET.replace("    region: westeurope\n", ""))
    _expect_bad(tmp_path, fleet, "fleet.yaml:3:5", "missing required key 'region'", "clusters[0]")


def test_missing_top_level_key(tmp_path: Path) -> None:
    fleet = _tree(tmp_path, GOOD_FLEET.replace("tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47\n", ""))
    _expect_bad(tmp_path, fleet, "missing required key 'tenantId'")


def test_duplicate_cluster_names(tmp_path: Path) -> None:
    second = GOOD_FLEET.split("clusters:\n")[1].split("azure:")[0]
    fleet = _tree(tmp_path, GOOD_FLEET.replace("azure:", second + "azure:"))
    _expect_bad(tmp_path, fleet, "fleet.yaml:9:5", "duplicate cluster name 'aks-a'")


def test_snapshot_folder_that_does_not_exist(tmp_path: Path) -> None:
    fleet = _tree(tmp_path, GOOD_FLEET.replace("snapshot: snap/aks-a", "snapshot: snap/aks-missing"))
    _expect_bad(tmp_path, fleet, "fleet.yaml:8:5", "snapshot folder of cluster 'aks-a' does not exist")


def test_malformed_json_names_file_and_position(tmp_path: Path) -> None:
    fleet = _tree(tmp_path)
    (tmp_path / "snap/aks-a/kube/pods.json").write_text('{"kind": "PodList",\n  "items": [\n    {"metadata": }\n  ]}\n')
    _expect_bad(tmp_path, fleet, "pods.json:3:18", "malformed JSON")


def test_list_of_the_wrong_kind(tmp_path: Path) -> None:
    fleet = _tree(tmp_path)
    shutil.copy(FIXTURES / "kube/synthetic/deploymentlist.json", tmp_path / "snap/aks-a/kube/pods.json")
    _expect_bad(tmp_path, fleet, "pods.json", "expected a PodList", "DeploymentList", "kubectl get pods -A -o json")


def test_kubectl_list_with_items_of_the_wrong_kind(tmp_path: Path) -> None:
    fleet = _tree(tmp_path)
    doc = {"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                           "metadata": {"name": "x", "namespace": "y"}}]}
    (tmp_path / "snap/aks-a/kube/pods.json").write_text(json.dumps(doc))
    _expect_bad(tmp_path, fleet, "pods.json", "item 0 is a Deployment")


def test_managed_cluster_of_neither_shape(tmp_path: Path) -> None:
    fleet = _tree(tmp_path)
    (tmp_path / "snap/aks-a/managedcluster.json").write_text('{"name": "aks-a", "something": {"else": 1}}')
    _expect_bad(tmp_path, fleet, "managedcluster.json", "neither shape", "az aks show")


def test_wrong_type_in_a_document_names_its_path(tmp_path: Path) -> None:
    fleet = _tree(tmp_path)
    (tmp_path / "snap/aks-a/kube/pods.json").write_text(
        '{"kind": "PodList", "items": [{"metadata": {"name": "p", "labels": ["not", "a", "map"]}}]}')
    _expect_bad(tmp_path, fleet, "pods.json", "$.items[0].metadata.labels")


@pytest.mark.parametrize("bad", ["ignore-code", "fail-on"])
def test_bad_arguments(tmp_path: Path, bad: str) -> None:
    fleet = _tree(tmp_path)
    out = tmp_path / "r.json"
    args = ["catalog", "--fleet", str(fleet), "--out", str(out)]
    args += ["--ignore", "NOT_A_CODE"] if bad == "ignore-code" else ["--fail-on", "sometimes"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert not out.exists()


def test_existing_output_is_untouched_on_bad_input(tmp_path: Path) -> None:
    fleet = _tree(tmp_path)
    out = tmp_path / "report.json"
    out.write_text("previous report\n")
    (tmp_path / "snap/aks-a/kube/pods.json").write_text("{not json")
    result = CliRunner().invoke(main, ["catalog", "--fleet", str(fleet), "-o", "json", "--out", str(out)])
    assert result.exit_code == 2
    assert out.read_text() == "previous report\n"


def test_a_misspelt_key_suggests_the_key_it_resembles(tmp_path: Path) -> None:
    fleet = _tree(tmp_path, GOOD_FLEET.replace("    region: westeurope", "    regoin: westeurope"))
    err = _expect_bad(tmp_path, fleet, "fleet.yaml:4:5: unknown key 'regoin' (did you mean 'region'?) at clusters[0].regoin")
    assert "missing" not in err
    fleet.write_text(GOOD_FLEET.replace("tenantId:", "tenantID:"))
    _expect_bad(tmp_path, fleet, "unknown key 'tenantID' (did you mean 'tenantId'?)")
    fleet.write_text(GOOD_FLEET.replace("    region: westeurope", "    colour: red"))  # nothing close: both said
    _expect_bad(tmp_path, fleet, "unknown key 'colour' at clusters[0].colour; missing required key 'region' in "
                                 "clusters[0]")
