"""Bound workloads the cutover must treat specially: hostNetwork, Windows, GitOps-owned, protected namespaces."""

from __future__ import annotations

from collections.abc import Iterator

from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import (
    BINDING_KINDS,
    bound_workloads,
    captured,
    emit,
)
from migrator.inventory.admission import AKS_PROTECT_POLICY, protected_namespaces
from migrator.inventory.catalog import Catalog
from migrator.inventory.gitops import owner_of

MIGRATE_DOC = "https://learn.microsoft.com/azure/aks/workload-identity-migrate-from-pod-identity"
SIDECAR_DOC = "https://azure.github.io/azure-workload-identity/docs/topics/migration-sidecar.html"
SDKS = "Python azure-identity 1.13.0, .NET 1.9.0, Java 1.9.0, Go azidentity 1.3.0, JavaScript 3.2.0 or later"


@rule(
    "WORKLOAD_HOST_NETWORK", Severity.WARNING,
    title="A bound workload uses hostNetwork",
    cause=("NMI redirects only pod-network traffic to IMDS (an iptables rule for non-host traffic); a hostNetwork pod's "
           "calls go straight to IMDS and get the node's identities, whatever its binding says — unless its code calls "
           "NMI's /host/token endpoint itself."),
    risk=("The binding may never have been what the workload used: federating the bound identity can break it (it "
          "really used the kubelet or another node identity), and removing the node identities at the end breaks it "
          "for sure."),
    remediation=("Find out what it really authenticates as (its logs, the sign-in logs of the identities) before "
                 "migrating, then federate that identity; drop hostNetwork if the workload can run without it."),
    references=("https://azure.github.io/aad-pod-identity/docs/concepts/nmi/", MIGRATE_DOC),
    needs=BINDING_KINDS,
)
def workload_host_network(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        for b in bound_workloads(r):
            if not b.workload.template.host_network:
                continue
            w = b.workload
            yield emit("WORKLOAD_HOST_NETWORK", c.name, w.ref.namespace, str(w.ref),
                       f"{w.ref} is bound to {b.identities_text} but uses hostNetwork: NMI never intercepted it, so it "
                       f"has been getting the node's identities from IMDS.",
                       "Check what it really authenticates as (its logs, the identities' sign-in logs) before migrating, "
                       "federate that identity, and drop hostNetwork if it can run without it.")


@rule(
    "PROXY_SIDECAR_UNSUITABLE", Severity.INFO,
    title="A bound workload the migration sidecar cannot serve",
    cause=("The workload identity webhook's migration sidecar (azure.workload.identity/inject-proxy-sidecar) answers "
           "IMDS-style token requests for code that cannot change yet; the webhook refuses to inject it into hostNetwork "
           "pods, and the proxy is Linux-only."),
    risk=("This workload cannot take the no-code-change path: its code must use an Azure Identity SDK that supports "
          "workload identity before cutover, or it loses its identity."),
    remediation=f"Move it to an Azure Identity SDK that supports workload identity ({SDKS}) before cutover.",
    references=(SIDECAR_DOC, MIGRATE_DOC),
    needs=BINDING_KINDS,
)
def proxy_sidecar_unsuitable(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        for b in bound_workloads(r):
            t = b.workload.template
            reasons = [x for x, on in (("with hostNetwork", t.host_network), ("on Windows nodes", t.windows)) if on]
            if not reasons:
                continue
            w = b.workload
            yield emit("PROXY_SIDECAR_UNSUITABLE", c.name, w.ref.namespace, str(w.ref),
                       f"{w.ref} runs {' and '.join(reasons)}, so the migration sidecar cannot serve it.",
                       f"Move its code to an Azure Identity SDK that supports workload identity ({SDKS}) before cutover.")


@rule(
    "WORKLOAD_MANAGED_BY_GITOPS", Severity.INFO,
    title="A bound workload is owned by Flux, Argo CD or Helm",
    cause=("The workload carries the labels or annotations of a controller that owns it: Flux (kustomize.toolkit.fluxcd.io/*, "
           "helm.toolkit.fluxcd.io/*), Argo CD (its tracking annotation or label), or Helm (app.kubernetes.io/managed-by: "
           "Helm)."),
    risk=("A change made to it in the cluster (service account, the azure.workload.identity/use label, removing "
          "aadpodidbinding) is reverted by its controller at the next sync, or forgotten at the next helm upgrade."),
    remediation=("Make the workload's changes in its source repository or chart; cutover does not patch it in place, "
                 "it waits for the change to arrive."),
    references=("https://fluxcd.io/flux/components/kustomize/kustomizations/",
                "https://argo-cd.readthedocs.io/en/stable/user-guide/resource_tracking/"),
    needs=BINDING_KINDS,
)
def workload_managed_by_gitops(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        for b in bound_workloads(r):
            owner = owner_of(b.workload)
            if owner is None:
                continue
            w = b.workload
            yield emit("WORKLOAD_MANAGED_BY_GITOPS", c.name, w.ref.namespace, str(w.ref),
                       f"{w.ref} is owned by {owner.tool} ({owner.source}; {owner.evidence}): a change made to it in the "
                       f"cluster is reverted.",
                       f"Make its changes (serviceAccountName, the azure.workload.identity/use pod label, removing "
                       f"aadpodidbinding) in the source of {owner.source}; cutover will not patch it in place.")


@rule(
    "PROTECTED_NAMESPACE", Severity.ERROR,
    title="A bound workload lives in a namespace an admission policy protects",
    cause=(f"A ValidatingAdmissionPolicy (AKS Automatic's {AKS_PROTECT_POLICY}, with its binding) denies changes to "
           "objects in the workload's namespace to everyone outside a few exempt service-account groups."),
    risk=("Cutover cannot annotate the service account, relabel the workload or create exceptions there: every request "
          "is denied with 'Modification of resources in managed system namespaces is not allowed'."),
    remediation=("Let the namespace's owner migrate it (for an AKS-managed component, its own workload identity "
                 "setting), or move the workload to a namespace the policy does not protect."),
    references=("https://github.com/Azure/AKS/issues/5645", "https://learn.microsoft.com/azure/aks/intro-aks-automatic"),
    needs=("validatingadmissionpolicies", "validatingadmissionpolicybindings", *BINDING_KINDS),
)
def protected_namespace(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        protected = protected_namespaces(c)
        if not protected:
            continue
        for b in bound_workloads(r):
            w = b.workload
            policy = protected.get(w.ref.namespace)
            if policy is None:
                continue
            yield emit("PROTECTED_NAMESPACE", c.name, w.ref.namespace, str(w.ref),
                       f"{w.ref} and its service account {w.template.service_account} live in {w.ref.namespace}, which "
                       f"the admission policy {policy.name} protects: cutover cannot change them there.",
                       f"Have the namespace's owner migrate it (an AKS-managed component through its own workload "
                       f"identity setting), or move the workload out of {w.ref.namespace}.")
