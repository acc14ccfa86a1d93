"""Bound workloads: hostNetwork, the migration sidecar, GitOps ownership, protected namespaces."""

from __future__ import annotations

from tests.findings.builders import bound, cluster, findings, protect_policy


def _with(**kw):
    ident, b, w = bound(**kw)
    return dict(identities=[ident], bindings=[b], workloads=[w])


# --- WORKLOAD_HOST_NETWORK


def test_a_bound_host_network_workload_fires() -> None:
    [f] = findings("WORKLOAD_HOST_NETWORK", cluster(**_with(host_network=True)))
    assert f.object == "Deployment/api" and "NMI never intercepted it" in f.message


def test_a_bound_pod_network_workload_does_not_fire() -> None:
    assert findings("WORKLOAD_HOST_NETWORK", cluster(**_with())) == []


# --- PROXY_SIDECAR_UNSUITABLE


def test_bound_windows_or_host_network_workloads_cannot_use_the_sidecar() -> None:
    [win] = findings("PROXY_SIDECAR_UNSUITABLE", cluster(**_with(windows=True)))
    [host] = findings("PROXY_SIDECAR_UNSUITABLE", cluster(**_with(host_network=True)))
    assert "on Windows nodes" in win.message and "with hostNetwork" in host.message
    assert "azure-identity 1.13.0" in win.remediation


def test_a_linux_pod_network_workload_can_use_the_sidecar() -> None:
    assert findings("PROXY_SIDECAR_UNSUITABLE", cluster(**_with())) == []


# --- WORKLOAD_MANAGED_BY_GITOPS


def test_bound_workloads_owned_by_flux_argo_or_helm_fire() -> None:
    flux = findings("WORKLOAD_MANAGED_BY_GITOPS", cluster(**_with(labels={
        "kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"})))
    argo = findings("WORKLOAD_MANAGED_BY_GITOPS", cluster(**_with(annotations={
        "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:apps/api"})))
    helm = findings("WORKLOAD_MANAGED_BY_GITOPS", cluster(**_with(labels={"app.kubernetes.io/managed-by": "Helm"},
                                                                   annotations={"meta.helm.sh/release-name": "api"})))
    assert "Flux (Kustomization flux-system/apps" in flux[0].message
    assert "Argo CD (Application shop" in argo[0].message
    assert "Helm (release api" in helm[0].message
    assert "cutover will not patch it in place" in flux[0].remediation


def test_a_bound_workload_applied_by_hand_is_not_gitops_owned() -> None:
    assert findings("WORKLOAD_MANAGED_BY_GITOPS", cluster(**_with())) == []


# --- PROTECTED_NAMESPACE


def test_a_bound_workload_in_a_protected_namespace_fires() -> None:
    c = cluster(admission_policies=[protect_policy("flux-system")], **_with(ns="flux-system"))
    [f] = findings("PROTECTED_NAMESPACE", c)
    assert f.namespace == "flux-system" and "aks-managed-protect-system-namespaces" in f.message


def test_the_aks_policy_without_a_readable_selector_protects_the_documented_namespaces() -> None:
    c = cluster(admission_policies=[protect_policy()], **_with(ns="dapr-system"))
    assert len(findings("PROTECTED_NAMESPACE", c)) == 1


def test_a_bound_workload_outside_protected_namespaces_does_not_fire() -> None:
    c = cluster(admission_policies=[protect_policy("flux-system")], **_with(ns="apps"))
    assert findings("PROTECTED_NAMESPACE", c) == []
