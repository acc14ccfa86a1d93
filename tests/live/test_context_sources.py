"""A ``context:`` cluster's managed cluster and scale sets: from ARM, from files, or not captured (issue 20)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.commands.catalog import build_report
from migrator.commands.snapshot import run_snapshot
from migrator.errors import FleetFileError
from migrator.fleet import load_fleet
from tests.conftest import EXAMPLES
from tests.live.conftest import Served

SNAPSHOTS = EXAMPLES / "snapshots"


def _fleet(served: Served, cluster_keys: str, *, snapshot: bool = False) -> Path:
    """aks-prod-weu through its kubeconfig context with ``cluster_keys``; Azure identities from the snapshot."""
    source = f"snapshot: {SNAPSHOTS / 'aks-prod-weu'}" if snapshot else "context: aks-prod-weu"
    path = served.tmp / "fleet.yaml"
    path.write_text(f"""tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
clusters:
  - name: aks-prod-weu
    region: westeurope
    subscriptionId: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg-aks-prod-weu
    group: prod
    {source}
{cluster_keys}azure:
  snapshot: {SNAPSHOTS / 'azure'}
""")
    return path


def _cluster(served: Served, fleet: Path) -> tuple[dict, dict]:
    report, partial = build_report(fleet, live=served.settings())
    view = report.view()
    assert not partial
    return view, view["clusters"][0]


def _snapshot_view() -> dict:
    fleet = EXAMPLES / "fleet.yaml"
    report, _ = build_report(fleet)
    view = report.view()
    return next(c for c in view["clusters"] if c["name"] == "aks-prod-weu")


def test_a_context_cluster_takes_its_managed_cluster_and_scale_sets_from_arm(served: Served) -> None:
    view, cluster = _cluster(served, _fleet(served, "    managedCluster: arm\n    scaleSets: arm\n"))
    assert cluster["status"] == "ok" and cluster["notCaptured"] == []
    assert cluster == _snapshot_view() | {"notCaptured": []}  # the same as the snapshot of the same state
    arm = [r.path.lower() for r in served.arm.requests if r.method == "GET"]
    assert any(p.endswith("/managedclusters/aks-prod-weu") for p in arm)
    assert any(p.endswith("/virtualmachinescalesets") for p in arm)
    assert not any("managedidentity" in p for p in arm)  # identities came from azure.snapshot
    assert view["azure"]["captured"]
    assert not any(r.path.lower().endswith("/listclusterusercredential") for r in served.arm.requests)


def test_a_context_cluster_takes_them_from_files_without_arm(served: Served) -> None:
    keys = (f"    managedCluster: {SNAPSHOTS / 'aks-prod-weu' / 'managedcluster.json'}\n"
            f"    scaleSets: {SNAPSHOTS / 'aks-prod-weu' / 'vmss.json'}\n")
    _, cluster = _cluster(served, _fleet(served, keys))
    assert cluster["status"] == "ok" and cluster["notCaptured"] == []
    assert cluster == _snapshot_view()
    assert served.arm.requests == []  # no ARM credential was even built


def test_relative_files_are_read_from_the_fleet_files_folder(served: Served) -> None:
    (served.tmp / "mc").mkdir()
    (served.tmp / "mc" / "weu.json").write_bytes((SNAPSHOTS / "aks-prod-weu" / "managedcluster.json").read_bytes())
    _, cluster = _cluster(served, _fleet(served, "    managedCluster: mc/weu.json\n"))
    assert cluster["notCaptured"] == ["vmss"]  # no ARM, no file: not captured, and said so


def test_a_missing_file_fails_that_cluster_naming_it(served: Served) -> None:
    report, partial = build_report(_fleet(served, "    managedCluster: nowhere.json\n"), live=served.settings())
    assert partial
    error = report.view()["clusters"][0]["error"]
    assert "managedCluster file of cluster 'aks-prod-weu': cannot read" in error and "nowhere.json" in error


def test_without_the_keys_or_arm_the_managed_cluster_is_not_captured(served: Served) -> None:
    view, cluster = _cluster(served, _fleet(served, ""))
    assert cluster["notCaptured"] == ["managedcluster", "vmss"]
    assert served.arm.requests == []
    assert {f["object"] for f in view["findings"] if f["code"] == "SOURCE_NOT_CAPTURED"} >= {
        "ManagedCluster/aks-prod-weu", "VirtualMachineScaleSet/*"}


def test_migrate_snapshot_keeps_the_files_in_the_snapshot_folder(served: Served) -> None:
    keys = (f"    managedCluster: {SNAPSHOTS / 'aks-prod-weu' / 'managedcluster.json'}\n"
            f"    scaleSets: {SNAPSHOTS / 'aks-prod-weu' / 'vmss.json'}\n")
    to = served.tmp / "snap"
    run_snapshot(_fleet(served, keys), to, force=False, live=served.settings())
    assert json.loads((to / "aks-prod-weu" / "managedcluster.json").read_text()) == \
        json.loads((SNAPSHOTS / "aks-prod-weu" / "managedcluster.json").read_text())
    assert (to / "aks-prod-weu" / "vmss.json").is_file()
    fleet = load_fleet(to / "fleet.yaml")
    assert fleet.clusters[0].managed_cluster is None and fleet.clusters[0].scale_sets is None
    _, cluster = _cluster(served, to / "fleet.yaml")
    assert cluster["notCaptured"] == []


def test_the_keys_are_refused_on_a_snapshot_cluster(served: Served) -> None:
    with pytest.raises(FleetFileError, match="'managedCluster' and 'scaleSets' are for a 'context' cluster"):
        load_fleet(_fleet(served, "    managedCluster: arm\n", snapshot=True))


def test_a_live_read_without_arm_recognises_the_add_on_by_its_label(served: Served) -> None:
    # aks-prod-weu runs the add-on's NMI (labelled kubernetes.azure.com/managedby: aks) next to a chart's
    view, cluster = _cluster(served, _fleet(served, ""))
    assert cluster["notCaptured"] == ["managedcluster", "vmss"]
    assert cluster["podIdentity"]["addonEnabled"]
    mine = [f for f in view["findings"] if f["cluster"] == "aks-prod-weu"]
    assert not [f["message"] for f in mine if "by hand" in f["message"]]
    managed = [f for f in mine if f["code"] == "POD_IDENTITY_MANAGED_MODE"]
    assert [(f["object"], f["message"][:36]) for f in managed] == [
        ("ManagedCluster/aks-prod-weu", "The AKS pod-identity add-on runs NMI")]
    # the same add-on findings as when ARM says the add-on is on
    with_arm, _ = _cluster(served, _fleet(served, "    managedCluster: arm\n    scaleSets: arm\n"))
    assert [f for f in with_arm["findings"] if f["code"] in ("POD_IDENTITY_MANAGED_MODE", "POD_IDENTITY_ADDON_AND_HELM")] \
        == [f for f in mine if f["code"] in ("POD_IDENTITY_MANAGED_MODE", "POD_IDENTITY_ADDON_AND_HELM")]
