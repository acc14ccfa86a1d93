"""Unbind: bindings go only when nothing in any namespace still matches them; the add-on path through ARM."""

from __future__ import annotations

from typing import Any

from tests.cutover.conftest import Served, ok


def _binding(served: Served, ns: str, name: str) -> Any:
    return served.state.get("azureidentitybindings", ns, name)


def test_unbind_refused_while_a_matched_workload_in_another_namespace_is_not_cut_over(lab: Served) -> None:
    ok(lab.cutover("demo"))
    refused = lab.unbind("demo")
    assert refused.code == 1
    assert "AzureIdentityBinding demo/demo-azure-id-binding (selector demo) still serves other/Deployment/reporter" \
        in refused.message
    assert "namespace other is not cut over" in refused.message
    assert _binding(lab, "demo", "demo-azure-id-binding") is not None
    # once the other namespace is cut over, the binding can go
    lab.apply_credentials("other")
    ok(lab.cutover("other"))
    result = ok(lab.unbind("demo"))
    assert "- selector demo → demo-aad1 (kept in the record of demo, other)" in result.output
    assert _binding(lab, "demo", "demo-azure-id-binding") is None
    for ns in ("demo", "other"):
        record = lab.state.get("configmaps", ns, "wi-migrator-record")["data"]
        assert '"selector": "demo"' in record["removed.AzureIdentityBinding.demo.demo-azure-id-binding"]
    removed = {j["object"]: j["document"] for j in lab.journal_lines() if j["event"] == "removed"}
    assert removed["AzureIdentityBinding/demo/demo-azure-id-binding"]["spec"]["azureIdentity"] == "demo-aad1"
    assert removed["AzureIdentityBinding/demo/billing-binding"]["spec"]["selector"] == "billing"
    status = lab.cli("cutover", "status")
    assert "demo                 unbound" in status.output


def test_unbind_requires_the_namespace_to_be_cut_over(lab: Served) -> None:
    refused = lab.unbind("demo")
    assert refused.code == 1 and "namespace demo is not cut over (not started)" in refused.message
    assert lab.writes() == []


def test_rollback_after_unbind_recreates_the_binding_from_the_record(lab: Served) -> None:
    before = lab.snapshot("demo")
    binding = _binding(lab, "demo", "demo-azure-id-binding")
    lab.apply_credentials("other")
    ok(lab.cutover("demo"))
    ok(lab.cutover("other"))
    ok(lab.unbind(None))
    assert _binding(lab, "demo", "demo-azure-id-binding") is None
    result = ok(lab.rollback("demo"))
    assert "AzureIdentityBinding demo/demo-azure-id-binding (recreated)" in result.output
    assert _binding(lab, "demo", "demo-azure-id-binding")["spec"] == binding["spec"]
    after = lab.snapshot("demo")
    assert {k: v for k, v in after.items() if k not in ("record", "progress")} == \
        {k: v for k, v in before.items() if k not in ("record", "progress")}


def test_dry_run_unbind_changes_nothing(lab: Served) -> None:
    lab.apply_credentials("other")
    ok(lab.cutover("demo"))
    ok(lab.cutover("other"))
    lab.kube.log.clear()
    result = ok(lab.unbind("demo", dry_run=True))
    lab.kube.log.assert_writes_dry_run()
    assert "would be removed (dry run)" in result.output
    assert _binding(lab, "demo", "demo-azure-id-binding") is not None


EUS = "aks-prod-eus"


def _addon_entries(served: Served) -> list[tuple[str, str]]:
    rid = served.arm.managed_cluster_id(EUS)
    profile = served.arm.managed_clusters[rid]["properties"]["podIdentityProfile"]
    return sorted((e["namespace"], e["name"]) for e in profile["userAssignedIdentities"])


def test_the_add_on_path_waits_out_a_409_and_never_overwrites_a_concurrent_change(served: Served) -> None:
    served.cluster = EUS
    served.apply_credentials("shared")
    served.argo_sync_report_builder()
    ok(served.cutover("shared", changed_at_source=("Deployment/report-builder",)))
    assert ("shared", "ingest-worker") in _addon_entries(served)
    # an upgrade starts just as the first update arrives (409), and when it is over someone tags the
    # cluster between our read and our write (412 on the ETag)
    seen: list[str] = []

    def concurrent_change(server: Any, rid: str) -> None:
        seen.append(rid)
        if len(seen) == 1:
            server.start_mc_operation(EUS, 120)
        elif len(seen) == 2:
            server.managed_clusters[rid]["tags"] = {"owner": "platform-team"}
            server._new_etag(rid)

    served.arm.mc_put_hook = concurrent_change
    result = ok(served.unbind("shared"))
    puts = [r for r in served.arm.requests if r.method == "PUT" and (r.resource or "").lower() == "managedclusters"]
    assert [r.status for r in puts] == [409, 412, 200]
    assert ("shared", "ingest-worker") not in _addon_entries(served)
    assert ("shared", "report-builder") not in _addon_entries(served)
    assert ("payments", "payments-api") in _addon_entries(served)  # other namespaces' identities stay
    rid = served.arm.managed_cluster_id(EUS)
    assert served.arm.managed_clusters[rid]["tags"] == {"owner": "platform-team"}  # the concurrent change survived
    events = [j["event"] for j in served.journal_lines()]
    assert "arm-wait" in events and "arm-conflict" in events
    assert "removed in one managed-cluster update" in result.output
    # the add-on removes the bindings it had materialized in the cluster
    assert _binding(served, "shared", "ingest-worker-binding") is None
    record = served.state.get("configmaps", "shared", "wi-migrator-record")["data"]
    assert "removed.addon.shared.ingest-worker" in record and "removed.addon.shared.report-builder" in record
    # and a rollback puts them back, through the same kind of update
    served.arm.mc_operation_seconds = 0
    ok(served.rollback("shared"))
    assert ("shared", "ingest-worker") in _addon_entries(served)
    assert _binding(served, "shared", "ingest-worker-binding") is not None
