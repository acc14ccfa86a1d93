"""AzurePodIdentityException: pods that must bypass NMI (Flux) and exceptions that match nothing."""

from __future__ import annotations

from collections.abc import Iterator

from migrator.escape import sh
from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import POD_KINDS, apply_json, captured, emit
from migrator.inventory.catalog import Catalog
from migrator.inventory.interception import interception
from migrator.inventory.model import (
    ClusterInventory,
    Labels,
    Origin,
    PodIdentityException,
    Schema,
    label,
)
from migrator.inventory.pod_identity_exceptions import (
    FLUX_NAME_LABEL,
    FLUX_NAMES,
    excepted_by,
    exception_manifest,
    exception_name,
    in_force,
    matching_pairs,
)
from migrator.inventory.podidentity import addon_enabled

ARC_TROUBLESHOOTING = "https://learn.microsoft.com/azure/azure-arc/kubernetes/troubleshooting"


def _create_exception(c: ClusterInventory, namespace: str, key: str, value: str) -> str:
    if addon_enabled(c):
        return (f"az aks pod-identity exception add -g {sh(c.resource_group)} --cluster-name {sh(c.name)} "
                f"--namespace {sh(namespace)} --name {sh(exception_name(value))} --pod-labels "
                f"{sh(f'{key}={value}')}")
    return apply_json(exception_manifest(namespace, key, value))


@rule(
    "FLUX_WITHOUT_EXCEPTION", Severity.ERROR,
    title="Flux pods run while NMI intercepts, without an exception",
    cause=("The microsoft.flux extension's pods (controllers labelled app.kubernetes.io/name: microsoft.flux, agents "
           "app.kubernetes.io/name: flux-extension) authenticate with the node's identity through IMDS. NMI intercepts "
           "their calls, and no AzurePodIdentityException in their own namespace matches one of their label pairs "
           "(NMI reads exceptions only from the pod's namespace; one matching pair is enough; values compare "
           "case-insensitively). An exception with only flux-extension misses the controllers."),
    risk=("Flux cannot reach ACR or the Flux data plane: image automation stops ('ManagedIdentityCredential: context "
          "deadline exceeded'), the extension sticks in 'updating', and configuration stops syncing — silently, until "
          "someone looks at NMI's logs."),
    remediation=("Create one AzurePodIdentityException per label value in the Flux namespace (podLabels is a map, so "
                 "app.kubernetes.io/name: microsoft.flux and app.kubernetes.io/name: flux-extension need two objects), "
                 "with camelCase podLabels, then restart the Flux deployments. On the AKS add-on, use az aks "
                 "pod-identity exception add."),
    references=(ARC_TROUBLESHOOTING, "https://github.com/Azure/AKS/issues/2860",
                "https://azure.github.io/aad-pod-identity/docs/configure/application_exception/"),
    needs=("daemonsets", "deployments", "azurepodidentityexceptions"),
)
def flux_without_exception(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, "daemonsets", "deployments", "azurepodidentityexceptions"):
            continue
        if not interception(c, r.install).intercepting:
            continue
        honoured = in_force(r)
        for w in c.workloads or ():
            value = label(w.template.labels, FLUX_NAME_LABEL)
            if value not in FLUX_NAMES or w.template.host_network or w.desired == 0:
                continue
            ns = w.ref.namespace
            if excepted_by(honoured, ns, w.template.labels) is not None:
                continue
            ignored = [e for e in r.exceptions if e.namespace == ns and e.schema is Schema.LEGACY
                       and matching_pairs(e, w.template.labels)]
            note = (f" ({ignored[0].ref} would match, but its old PodLabels spelling is ignored by the v1.6+ NMI)"
                    if ignored else "")
            yield emit("FLUX_WITHOUT_EXCEPTION", c.name, ns, str(w.ref),
                       f"Flux's {w.ref} ({FLUX_NAME_LABEL}={value}) runs while NMI intercepts IMDS, and no "
                       f"AzurePodIdentityException in {ns} matches any of its labels{note}: its IMDS calls fail.",
                       f"Create the exception, then restart Flux: {_create_exception(c, ns, FLUX_NAME_LABEL, value)} "
                       f"&& kubectl rollout restart deployment -n {sh(ns)}")


def _labels_in(c: ClusterInventory, namespace: str) -> list[Labels]:
    found = [w.template.labels for w in c.workloads or () if w.ref.namespace == namespace]
    found += [p.template.labels for p in c.pods or () if p.ref.namespace == namespace]
    return found


def _delete(c: ClusterInventory, e: PodIdentityException) -> str:
    if e.origin is Origin.ADDON:
        return (f"az aks pod-identity exception delete -g {sh(c.resource_group)} --cluster-name {sh(c.name)} "
                f"--namespace {sh(e.namespace)} --name {sh(e.name)}")
    return f"kubectl delete azurepodidentityexception {sh(e.name)} -n {sh(e.namespace)}"


@rule(
    "EXCEPTION_MATCHES_NOTHING", Severity.INFO,
    title="An exception whose podLabels match no pod",
    cause=("No pod template and no pod in the exception's namespace carries any of its podLabels pairs (exceptions "
           "apply only within their own namespace). The workload it was made for moved, was relabelled or removed, or "
           "the exception was created in the wrong namespace."),
    risk=("None today; but a stale exception is misleading while debugging, and it silently lets a future pod with "
          "that label use the node's identity."),
    remediation="Delete it, or move it to the namespace of the pods it was meant for.",
    references=("https://azure.github.io/aad-pod-identity/docs/configure/application_exception/",),
    needs=(*POD_KINDS, "azurepodidentityexceptions"),
)
def exception_matches_nothing(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *POD_KINDS, "azurepodidentityexceptions"):
            continue
        for e in r.exceptions:
            labels = _labels_in(c, e.namespace)
            if any(matching_pairs(e, pod) for pod in labels):
                continue
            pairs = ", ".join(f"{k}={v}" for k, v in e.pod_labels) or "no podLabels at all"
            yield emit("EXCEPTION_MATCHES_NOTHING", c.name, e.namespace, str(e.ref),
                       f"{e.ref} excepts pods labelled {pairs}, but no pod or pod template in {e.namespace} carries "
                       f"any of them.",
                       f"Delete it if nothing needs it: {_delete(c, e)}.")
