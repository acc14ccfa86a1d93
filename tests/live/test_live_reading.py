"""Live reading of a cluster that lacks an API, hangs, or is slow: issue 20, "Live reading".

All through the real kubernetes.aio and Azure SDK clients against the local servers, on the ManualClock.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from migrator.commands.catalog import build_report
from migrator.sources.kube import ESSENTIAL_KINDS, OPTIONAL_KINDS
from tests.live.conftest import Served
from testkit import drop, error, hang


def _view(served: Served, fleet: Path, **settings: object) -> tuple[dict, bool]:
    report, partial = build_report(fleet, live=served.settings(**settings))
    return report.view(), partial


def _by_name(view: dict) -> dict[str, dict]:
    return {c["name"]: c for c in view["clusters"]}


# ----------------------------------------------------------------------------- a kind the cluster does not serve


def test_essential_and_optional_kinds_split_every_built_in_kind() -> None:
    assert ESSENTIAL_KINDS == {"pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs",
                               "serviceaccounts", "namespaces"}
    assert OPTIONAL_KINDS == {"customresourcedefinitions", "mutatingwebhookconfigurations",
                              "validatingadmissionpolicies", "validatingadmissionpolicybindings"}


def test_a_404_for_an_optional_kind_marks_it_not_captured_and_the_cluster_is_still_read(served: Served) -> None:
    # a cluster before Kubernetes 1.30 does not serve admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy
    kinds = ["validatingadmissionpolicies", "validatingadmissionpolicybindings"]
    for plural in kinds:
        served.kube["aks-prod-weu"].unserve(plural)
    view, partial = _view(served, served.live_fleet())
    assert not partial
    cluster = _by_name(view)["aks-prod-weu"]
    assert cluster["status"] == "ok" and cluster["notCaptured"] == kinds
    assert [r.status for r in served.kube.requests
            if r.cluster == "aks-prod-weu" and r.resource in kinds] == [404, 404]  # not retried
    not_captured = [f for f in view["findings"] if f["code"] == "SOURCE_NOT_CAPTURED" and f["cluster"] == "aks-prod-weu"]
    assert [f["object"] for f in not_captured] == ["ValidatingAdmissionPolicy/*", "ValidatingAdmissionPolicyBinding/*"]
    assert "were not captured, so" in not_captured[0]["message"]
    assert all(c["notCaptured"] == [] for n, c in _by_name(view).items() if n != "aks-prod-weu")


def test_absent_pod_identity_crds_are_none_not_unknown(served: Served) -> None:
    # a cluster without AAD Pod Identity: its groups answer 404, which is normal and means "there are none"
    cluster = served.kube["aks-prod-weu"]
    for plural in ("azureidentities", "azureidentitybindings", "azureassignedidentities", "azurepodidentityexceptions"):
        cluster.unserve(plural)
    view, partial = _view(served, served.live_fleet())
    assert not partial
    read = _by_name(view)["aks-prod-weu"]
    assert read["status"] == "ok" and read["notCaptured"] == []  # none, not unknown: no SOURCE_NOT_CAPTURED


def test_a_404_for_an_essential_kind_fails_that_cluster_only(served: Served) -> None:
    served.kube["aks-prod-eus"].unserve("cronjobs")
    view, partial = _view(served, served.live_fleet())
    assert partial
    failed = _by_name(view)["aks-prod-eus"]
    assert failed["status"] == "failed"
    assert "does not serve /apis/batch/v1/cronjobs" in failed["error"]
    assert "cannot judge a cluster without cronjobs" in failed["error"]
    assert all(c["status"] == "ok" for n, c in _by_name(view).items() if n != "aks-prod-eus")


# ----------------------------------------------------------------------------- a hanging or slow API server


def test_a_hanging_api_server_costs_two_timeouts_not_six(served: Served) -> None:
    # each hung LIST lets 31 s pass on the shared clock: the 30 s request timeout fires at once
    served.kube.faults.add(hang(times=None, advance_clock=31, cluster="aks-prod-weu", resource="namespaces"))
    try:
        view, partial = _view(served, served.live_fleet(), request_timeout=30)
    finally:
        served.kube.release_hangs()
    assert partial
    failed = _by_name(view)["aks-prod-weu"]
    assert failed["status"] == "failed"
    # the clock the hung LIST moves times out the cluster's other LISTs in flight too: whichever kind used up
    # its two timeouts first fails the cluster, and no kind was tried more than twice
    assert re.match(r"GET \S+ timed out after 2 attempts \(2 timeouts of 30 s\)", failed["error"])
    tries = Counter(r.resource for r in served.kube.requests if r.cluster == "aks-prod-weu" and r.status is None)
    assert 0 < tries["namespaces"] <= 2 and max(tries.values()) <= 2


def test_connection_resets_keep_the_full_retry_budget(served: Served) -> None:
    served.kube.faults.add(drop(times=4, cluster="aks-prod-weu", resource="namespaces"))
    view, partial = _view(served, served.live_fleet())
    assert not partial and _by_name(view)["aks-prod-weu"]["status"] == "ok"
    statuses = [r.status for r in served.kube.requests if r.cluster == "aks-prod-weu" and r.resource == "namespaces"]
    assert statuses == [0, 0, 0, 0, 200]


def test_the_deadline_runs_on_the_injected_clock_across_retries(served: Served) -> None:
    # 503 with Retry-After: 60 forever: 6 attempts would wait 5 minutes; a 100 s deadline stops the read
    # before the second wait, without sleeping through it
    served.kube.faults.add(error(503, times=None, retry_after=60, cluster="aks-prod-weu", resource="pods"))
    view, partial = _view(served, served.live_fleet(), cluster_deadline=100)
    assert partial
    failed = _by_name(view)["aks-prod-weu"]
    assert failed["status"] == "failed"
    assert failed["error"].startswith("not read within the 100 s deadline")
    assert "would start past" in failed["error"]
    assert [r.status for r in served.kube.requests if r.cluster == "aks-prod-weu" and r.resource == "pods"] == \
        [503, 503]
    assert all(c["status"] == "ok" for n, c in _by_name(view).items() if n != "aks-prod-weu")


def test_the_deadline_counts_the_time_arm_took(served: Served) -> None:
    # the managed cluster's GET is throttled for two minutes: the 100 s deadline has passed before
    # Kubernetes is reached, so not one LIST is sent
    served.arm.faults.add(error(429, times=1, retry_after=120, service="arm",
                                path=r"(?i)managedClusters/aks-prod-weu$"))
    view, partial = _view(served, served.live_fleet(), cluster_deadline=100)
    assert partial
    failed = _by_name(view)["aks-prod-weu"]
    assert failed["error"].startswith("not read within the 100 s deadline")
    assert not [r for r in served.kube.requests if r.cluster == "aks-prod-weu"]


def test_a_snapshot_of_a_cluster_that_lacks_a_kind_lacks_its_file_and_catalogs_the_same(served: Served) -> None:
    from migrator.commands.snapshot import run_snapshot

    served.kube["aks-prod-weu"].unserve("validatingadmissionpolicies")
    to = served.tmp / "snap"
    run_snapshot(served.live_fleet(), to, force=False, live=served.settings())
    assert not (to / "aks-prod-weu" / "kube" / "validatingadmissionpolicies.json").exists()
    assert (to / "aks-prod-eus" / "kube" / "validatingadmissionpolicies.json").is_file()
    live, _ = _view(served, served.live_fleet())
    offline, _ = build_report(to / "fleet.yaml")
    assert _by_name(offline.view())["aks-prod-weu"]["notCaptured"] == ["validatingadmissionpolicies"]
    assert offline.view()["findings"] == live["findings"]
