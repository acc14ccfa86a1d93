"""How Pod Identity runs: each code fires on a minimal inventory and not on the fixed one."""

from __future__ import annotations

from migrator.inventory.model import AddonProfile, AssignedIdentity, Schema
from tests.findings.builders import (
    bound,
    cluster,
    crd,
    facts,
    findings,
    identity,
    binding,
    exception,
    mic,
    nmi,
    rid,
    scale_set,
)

# --- POD_IDENTITY_NMI_WITHOUT_MIC


def test_nmi_in_standard_mode_without_mic_fires() -> None:
    [f] = findings("POD_IDENTITY_NMI_WITHOUT_MIC", cluster(workloads=[nmi()]))
    assert (f.cluster, f.namespace, f.object) == ("aks-1", "kube-system", "DaemonSet/nmi")
    assert "no MIC is installed" in f.message and "kubectl delete daemonset nmi -n kube-system" in f.remediation


def test_nmi_without_operation_mode_is_standard_and_a_mic_scaled_to_zero_is_not_running() -> None:
    c = cluster(workloads=[nmi(mode=None, ns="default"), mic(ns="default", ready=0, desired=0)])
    [f] = findings("POD_IDENTITY_NMI_WITHOUT_MIC", c)
    assert "no ready replica" in f.message and "kubectl scale deployment mic -n default --replicas=2" in f.remediation


def test_nmi_with_a_running_mic_does_not_fire() -> None:
    assert findings("POD_IDENTITY_NMI_WITHOUT_MIC", cluster(workloads=[nmi(), mic()])) == []


def test_nmi_in_managed_mode_without_mic_is_normal() -> None:
    assert findings("POD_IDENTITY_NMI_WITHOUT_MIC", cluster(workloads=[nmi("managed")])) == []


def test_nmi_without_mic_is_not_judged_when_deployments_were_not_captured() -> None:
    c = cluster(workloads=[nmi()], not_captured=["deployments"])
    assert findings("POD_IDENTITY_NMI_WITHOUT_MIC", c) == []


# --- POD_IDENTITY_CRDS_WITHOUT_CONTROLLER


def test_crds_and_objects_without_nmi_or_mic_fire() -> None:
    c = cluster(crds=[crd("azureidentities"), crd("azureassignedidentities")],
                identities=[identity("old")], workloads=[mic(ready=0, desired=0)],
                assigned_identities=[AssignedIdentity("default", "p-default-old", "p", "default", "node-1", "old",
                                                      "b", "Assigned", ("x",))])
    [f] = findings("POD_IDENTITY_CRDS_WITHOUT_CONTROLLER", c)
    assert f.object == "CustomResourceDefinition/azureassignedidentities.aadpodidentity.k8s.io" and f.namespace == ""
    assert "1 AzureIdentity" in f.message and "1 AzureAssignedIdentity" in f.message
    assert "Deployment/mic" in f.message and "finalizers" in f.remediation


def test_crds_with_a_running_controller_or_nothing_left_do_not_fire() -> None:
    assert findings("POD_IDENTITY_CRDS_WITHOUT_CONTROLLER",
                    cluster(crds=[crd()], workloads=[nmi(), mic()])) == []
    assert findings("POD_IDENTITY_CRDS_WITHOUT_CONTROLLER", cluster()) == []


# --- POD_IDENTITY_MANAGED_MODE


def test_managed_mode_nmi_fires_with_the_vmss_command() -> None:
    [f] = findings("POD_IDENTITY_MANAGED_MODE", cluster(workloads=[nmi("managed")]))
    assert f.object == "DaemonSet/nmi" and "az vmss identity remove -g MC_rg-aks-1_aks-1_westeurope" in f.remediation


def test_the_addon_is_managed_mode_too() -> None:
    [f] = findings("POD_IDENTITY_MANAGED_MODE", cluster(facts_=facts(addon=AddonProfile(True))))
    assert f.object == "ManagedCluster/aks-1" and "--disable-pod-identity" in f.remediation


def test_standard_mode_is_not_managed_mode() -> None:
    assert findings("POD_IDENTITY_MANAGED_MODE", cluster(workloads=[nmi(), mic()])) == []


# --- POD_IDENTITY_ADDON_AND_HELM


def test_addon_and_a_chart_install_fire_per_component() -> None:
    c = cluster(facts_=facts(addon=AddonProfile(True)),
                workloads=[nmi("managed"), nmi(name="aad-pod-identity-nmi", helm=True),
                           mic(name="aad-pod-identity-mic", helm=True)])
    got = findings("POD_IDENTITY_ADDON_AND_HELM", c)
    assert [f.object for f in got] == ["DaemonSet/aad-pod-identity-nmi", "Deployment/aad-pod-identity-mic"]
    assert "helm uninstall aad-pod-identity -n kube-system" in got[0].remediation


def test_addon_alone_does_not_fire() -> None:
    assert findings("POD_IDENTITY_ADDON_AND_HELM",
                    cluster(facts_=facts(addon=AddonProfile(True)), workloads=[nmi("managed")])) == []


# --- CRD_SCHEMA_LEGACY


def _legacy_objects() -> dict[str, list]:
    return dict(
        identities=[identity("old", schema=Schema.LEGACY, legacy_keys=("ClientID", "ResourceID"))],
        bindings=[binding("old-b", "old", "old", schema=Schema.LEGACY, legacy_keys=("AzureIdentity", "Selector"))],
        exceptions=[exception("old-e", "apps", {"app": "x"}, schema=Schema.LEGACY)],
    )


def test_legacy_objects_under_v16_or_later_are_ignored() -> None:
    got = findings("CRD_SCHEMA_LEGACY", cluster(workloads=[nmi(), mic()], **_legacy_objects()))
    assert {f.object for f in got} == {"AzureIdentity/old", "AzureIdentityBinding/old-b", "AzurePodIdentityException/old-e"}
    ident = next(f for f in got if f.object == "AzureIdentity/old")
    assert "silently ignored by the v1.8.17 controllers" in ident.message
    assert '"resourceID":' in ident.remediation and '"clientID":' in ident.remediation
    assert "kubectl replace -f -" in ident.remediation
    exc = next(f for f in got if f.object.startswith("AzurePodIdentityException"))
    assert '"podLabels":{"app":"x"}' in exc.remediation


def test_legacy_objects_under_old_controllers_still_work_but_will_break() -> None:
    got = findings("CRD_SCHEMA_LEGACY", cluster(workloads=[nmi(version="v1.5.5"), mic(version="v1.5.5")],
                                                 **_legacy_objects()))
    assert got and all("v1.5.5 (older than v1.6)" in f.message for f in got)


def test_camel_case_objects_do_not_fire() -> None:
    c = cluster(workloads=[nmi(), mic()], identities=[identity("new")], bindings=[binding("b", "new", "new")],
                exceptions=[exception("e", "apps", {"app": "x"})])
    assert findings("CRD_SCHEMA_LEGACY", c) == []


# --- NODE_IDENTITY_EXPOSURE


def test_pod_identities_on_a_scale_set_fire_with_one_remove_command() -> None:
    ident, b, w = bound()
    c = cluster(identities=[ident], bindings=[b], workloads=[w],
                scale_sets=[scale_set("aks-user-1-vmss", rid("id-api").lower(), rid("aks-1-agentpool"))])
    [f] = findings("NODE_IDENTITY_EXPOSURE", c)
    assert (f.namespace, f.object) == ("", "VirtualMachineScaleSet/aks-user-1-vmss")
    assert "id-api (AzureIdentity apps/api-id)" in f.message
    assert f.remediation.startswith("At the end of the migration run az vmss identity remove -g ")
    assert "id-api" in f.remediation and "agentpool" not in f.remediation


def test_scale_sets_with_only_the_kubelet_identity_do_not_fire() -> None:
    ident, b, w = bound()
    kubelet = facts().kubelet_identity_resource_id
    c = cluster(identities=[ident], bindings=[b], workloads=[w], scale_sets=[scale_set("vmss", kubelet)])
    assert findings("NODE_IDENTITY_EXPOSURE", c) == []


# --- the add-on recognised from the cluster when the managed cluster was not read (issue 20)


def _addon_nmi():
    from dataclasses import replace

    from migrator.inventory.model import labels_of

    return replace(nmi("managed"), labels=labels_of({"component": "nmi", "kubernetes.azure.com/managedby": "aks"}))


def test_without_the_managed_cluster_the_add_ons_label_says_it_is_the_add_on() -> None:
    from migrator.inventory.podidentity import addon_enabled, detect

    c = cluster(facts_=None, workloads=[_addon_nmi()])
    assert addon_enabled(c) and detect(c).nmi[0].install == "add-on"
    [f] = findings("POD_IDENTITY_MANAGED_MODE", c)
    assert f.object == "DaemonSet/nmi" and f.message.startswith("The AKS pod-identity add-on runs NMI")
    assert "by hand" not in f.message and "--disable-pod-identity" in f.remediation


def test_add_on_objects_alone_say_so_too() -> None:
    from migrator.inventory.podidentity import addon_enabled

    assert addon_enabled(cluster(facts_=None, identities=[identity("api", managed_by="add-on")]))
    assert addon_enabled(cluster(facts_=None, bindings=[binding("api", "api", "api", managed_by="add-on")]))
    assert not addon_enabled(cluster(facts_=None, workloads=[nmi("managed")]))
    # the managed cluster, when read, decides
    assert not addon_enabled(cluster(identities=[identity("api", managed_by="add-on")]))


def test_without_the_managed_cluster_an_unlabelled_managed_nmi_is_not_said_to_be_by_hand() -> None:
    [f] = findings("POD_IDENTITY_MANAGED_MODE", cluster(facts_=None, workloads=[nmi("managed")]))
    assert "by hand, or by AKS if the add-on runs it (the managed cluster was not read to tell)" in f.message
    assert "az aks pod-identity delete" in f.remediation


def test_with_the_managed_cluster_an_unlabelled_managed_nmi_is_by_hand() -> None:
    [f] = findings("POD_IDENTITY_MANAGED_MODE", cluster(workloads=[nmi("managed")]))
    assert "scale sets by hand and stay there" in f.message and "az aks pod-identity" not in f.remediation
