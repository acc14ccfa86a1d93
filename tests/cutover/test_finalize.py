"""Finalize: refused while a binding remains; removes what nothing needs; says what is left, exactly."""

from __future__ import annotations

from typing import Any

import msgspec

from tests.cutover.conftest import Served, ok


def test_finalize_is_refused_while_a_binding_remains(served: Served) -> None:
    result = served.finalize()
    assert result.code == 1
    assert "pod identity binding(s) remain on aks-prod-weu" in result.message
    assert "orders/orders-sync-hotfix (selector orders-sync, an object; used by orders/Deployment/orders-sync)" \
        in result.message
    assert "migrate cutover --plan=" in result.message and "--namespace=payments" in result.message
    assert "orders/legacy-exporter-binding is not in the plan: nothing uses it, delete it: kubectl --namespace=" \
           "orders delete azureidentitybinding legacy-exporter-binding" in result.message
    assert served.writes() == []


def _lab_unbound(lab: Served) -> None:
    lab.apply_credentials("other")
    ok(lab.cutover("demo"))
    ok(lab.cutover("other"))
    ok(lab.unbind(None))


def test_finalize_on_the_lab_then_again_after_pod_identity_is_removed(lab: Served) -> None:
    _lab_unbound(lab)
    first = ok(lab.finalize())
    out = first.output
    assert "AzureIdentity demo/demo-aad1" in out and lab.state.list("azureidentities") == []
    assert "NMI still runs: the exceptions stay until it is removed" in out
    assert lab.state.get("azurepodidentityexceptions", "flux-system", "flux-extension-exception") is not None
    assert "MIC still runs: it removes them itself" in out
    assert "kubectl --namespace=kube-system delete daemonset nmi" in out
    assert "kubectl --namespace=kube-system delete deployment mic" in out
    assert "after MIC is gone, run migrate finalize again" in out
    assert "kubectl delete customresourcedefinition azureassignedidentities.aadpodidentity.k8s.io" in out
    assert "az vmss identity remove --resource-group=MC_rg1_aks-lab_eastus --name=aks-nodepool1-12345678-vmss " \
           "--identities=/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg1/providers/" \
           "Microsoft.ManagedIdentity/userAssignedIdentities/demo-aad1" in out
    record = lab.state.get("configmaps", "demo", "wi-migrator-record")["data"]
    assert "removed.AzureIdentity.demo-aad1" in record
    # the operator removes NMI and MIC (as the report says); finalize then finishes the cluster's side
    lab.state.remove("daemonsets", "kube-system", "nmi")
    lab.state.remove("deployments", "kube-system", "mic")
    second = ok(lab.finalize())
    assert "AzurePodIdentityException flux-system/flux-extension-exception" in second.output
    assert lab.state.list("azurepodidentityexceptions") == []
    assert "AzureAssignedIdentity default/demo-00000-demo-demo-aad1" in second.output
    assert lab.state.list("azureassignedidentities") == []
    patches = [r for r in lab.kube.requests if r.method == "PATCH" and r.resource == "azureassignedidentities"]
    assert patches and b'"finalizers": null' in patches[0].body
    assert "AAD Pod Identity is not running any more" in second.output
    third = ok(lab.finalize())
    assert "[2/5] remove the AzureIdentity objects (kept in the record): already done" in third.output


def test_the_scale_set_list_on_a_managed_mode_cluster(served: Served) -> None:
    served.cluster = "aks-staging-eus"
    for b in served.state.list("azureidentitybindings"):  # every namespace unbound (by hand, for this test)
        served.state.remove("azureidentitybindings", b["metadata"]["namespace"], b["metadata"]["name"])
    result = ok(served.finalize())
    out = result.output
    assert "unassign the identities left on the node pools' scale sets (assigned by hand, managed mode)" in out
    rg = "MC_rg-aks-staging-eus_aks-staging-eus_eastus"
    for vmss, name in (("aks-user-30897246-vmss", "id-edge-gateway-stg-eus"),
                       ("aks-user-30897246-vmss", "id-dapr-operator-stg-eus"),
                       ("akswin", "id-legacy-dotnet-stg-eus")):
        assert f"az vmss identity remove --resource-group={rg} --name={vmss} --identities=" in out
        assert name in out
    removals = [line for line in out.splitlines() if "az vmss identity remove" in line]
    assert len(removals) == 3 and not any("aks-staging-eus-agentpool" in r for r in removals)  # kubelet stays
    assert "kubectl delete --filename https://raw.githubusercontent.com/Azure/aad-pod-identity/v1.8.17/deploy/infra/" \
           "managed-mode-deployment.yaml" in out
    assert "kubectl --namespace=kube-system delete daemonset nmi" in out


def test_the_terraform_change_for_an_add_on_cluster_in_terraform(served: Served, tmp_path: Any) -> None:
    import hcl2

    served.cluster = "aks-prod-eus"
    plan = served.plan
    clusters = tuple(msgspec.structs.replace(c, terraform_issuer="azurerm_kubernetes_cluster.prod_eus.oidc_issuer_url")
                     if c.name == "aks-prod-eus" else c for c in plan.clusters)
    from migrator.plan.model import encode

    served.plan_path.write_text(encode(msgspec.structs.replace(plan, clusters=clusters)))
    for b in served.state.list("azureidentitybindings"):
        served.state.remove("azureidentitybindings", b["metadata"]["namespace"], b["metadata"]["name"])
    rid = served.arm.managed_cluster_id("aks-prod-eus")
    served.arm.managed_clusters[rid]["properties"]["podIdentityProfile"]["userAssignedIdentities"] = []
    from migrator.commands.finalize import run_finalize
    from migrator.cutover.engine.context import Options
    from tests.cutover.conftest import HookReporter

    out_file = tmp_path / "disable-pod-identity.tf"
    reporter = HookReporter()
    run_finalize(served.plan_path, "aks-prod-eus", access=served.access(), options=Options(yes=True),
                 journal=served.journal, reporter=reporter, terraform_out=out_file)
    text = out_file.read_text()
    parsed = hcl2.loads(text)
    block = parsed["resource"][0]['"azapi_update_resource"']['"aks-prod-eus_disable_pod_identity"']
    assert block["resource_id"] == "${azurerm_kubernetes_cluster.prod_eus.id}"
    assert block["body"]["properties"]["podIdentityProfile"]["enabled"] is False
    assert "az aks update --resource-group=rg-aks-prod-eus --name=aks-prod-eus --disable-pod-identity" \
        in reporter.text
    assert 'resource "azapi_update_resource" "aks-prod-eus_disable_pod_identity"' in reporter.text
