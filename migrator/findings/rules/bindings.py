"""AzureIdentityBinding: stale, dangling, several identities on one workload."""

from __future__ import annotations

from collections.abc import Iterator

from migrator.escape import sh
from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import (
    BINDING_KINDS,
    POD_KINDS,
    captured,
    emit,
    identity_key,
)
from migrator.inventory.catalog import Catalog
from migrator.inventory.model import (
    AzureIdentity,
    Binding,
    ClusterInventory,
    ObjectRef,
    Origin,
)

BINDING_DOC = "https://azure.github.io/aad-pod-identity/docs/concepts/azureidentitybinding/"


def delete_binding(c: ClusterInventory, b: Binding) -> str:
    if b.origin is Origin.ADDON or b.managed_by == "add-on":
        return (f"az aks pod-identity delete -g {sh(c.resource_group)} --cluster-name {sh(c.name)} "
                f"--namespace {sh(b.namespace)} --name {sh(b.name)}")
    if b.managed_by == "helm":
        return "remove it from the Helm chart that renders it"
    return f"kubectl delete azureidentitybinding {sh(b.name)} -n {sh(b.namespace)}"


@rule(
    "BINDING_STALE", Severity.WARNING,
    title="A binding whose selector matches no workload or pod",
    cause=("No pod template and no running pod carries the label aadpodidbinding with the binding's selector value "
           "(exact string match; in its own namespace where matching is namespaced). The workload was removed or "
           "relabelled, or the binding is an ad-hoc leftover from an incident."),
    risk=("It migrates nothing, yet it reads as a live identity mapping: left in, it either becomes a federated "
          "credential nobody uses or hides which workload really needed the identity. A pod labelled with the selector "
          "later gets the identity at once."),
    remediation="Confirm nothing uses it (also outside the cluster's captured namespaces), then delete it.",
    references=(BINDING_DOC,),
    needs=(*POD_KINDS, "azureidentitybindings"),
)
def binding_stale(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *POD_KINDS, "azureidentitybindings"):
            continue
        for m in r.bindings:
            if m.workloads:
                continue
            b = m.binding
            where = f"in {b.namespace}" if m.namespaced else "in the cluster"
            what = (f"selects pods labelled aadpodidbinding={b.selector}, but no workload or pod {where} carries that label"
                    if b.selector else "has no selector, so it matches no pod")
            yield emit("BINDING_STALE", c.name, b.namespace, str(b.ref), f"{b.ref} {what}.",
                       f"Confirm nothing uses it, then delete it: {delete_binding(c, b)}.")


@rule(
    "BINDING_DANGLING", Severity.ERROR,
    title="A binding names an AzureIdentity that does not exist in its namespace",
    cause=("spec.azureIdentity names an AzureIdentity that does not exist in the binding's own namespace. Identities "
           "are always looked up there; cluster-wide (non-namespaced) matching only widens which pods a binding "
           "matches, never where its identity is found."),
    risk=("Pods labelled for it get no identity: NMI waits and answers 404, so their Azure calls fail. The migration "
          "cannot tell which identity was intended."),
    remediation=("Create the AzureIdentity in the binding's namespace, or move the binding to the namespace where the "
                 "identity is, or delete the binding if nothing needs it."),
    references=(BINDING_DOC, "https://azure.github.io/aad-pod-identity/docs/concepts/azureidentity/"),
    needs=BINDING_KINDS,
)
def binding_dangling(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        for m in r.bindings:
            if m.identity is not None:
                continue
            b = m.binding
            if not b.identity_name:
                yield emit("BINDING_DANGLING", c.name, b.namespace, str(b.ref),
                           f"{b.ref} names no AzureIdentity (spec.azureIdentity is empty).",
                           f"Set spec.azureIdentity to an AzureIdentity in {b.namespace}, or delete it: "
                           f"{delete_binding(c, b)}.")
                continue
            elsewhere = sorted(i.namespace for i in r.identities if i.name == b.identity_name)
            note = f"; an AzureIdentity of that name exists in {', '.join(elsewhere)}" if elsewhere else ""
            fix = (f"Move the binding to {elsewhere[0]} (where the identity is) or create AzureIdentity "
                   f"{b.identity_name} in {b.namespace}" if elsewhere
                   else f"Create AzureIdentity {b.identity_name} in {b.namespace}")
            yield emit("BINDING_DANGLING", c.name, b.namespace, str(b.ref),
                       f"{b.ref} names AzureIdentity {b.identity_name}, which does not exist in {b.namespace} "
                       f"(identities are looked up in the binding's own namespace){note}.",
                       f"{fix}, or delete the binding: {delete_binding(c, b)}.")


@rule(
    "MULTIPLE_IDENTITIES_PER_WORKLOAD", Severity.WARNING,
    title="One workload matched by bindings to several identities",
    cause=("Several bindings share the workload's aadpodidbinding value (or it is matched by bindings to different "
           "identities through its pods): NMI gives the pod all of them, and the token request's client_id (or "
           "mi_res_id) picks one; without it, the first assigned."),
    risk=("After cutover a service account's azure.workload.identity/client-id annotation names one default; code that "
          "relied on NMI's choice, or that asks for the others by client ID, must be checked."),
    remediation=("Keep one identity as the default on the service account and make the code request the others by "
                 "client ID (or set AZURE_CLIENT_ID per container); the service account is federated to each identity."),
    references=("https://azure.github.io/azure-workload-identity/docs/faq.html",
                "https://azure.github.io/aad-pod-identity/docs/concepts/azureidentitybinding/"),
    needs=BINDING_KINDS,
)
def multiple_identities_per_workload(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        per: dict[ObjectRef, dict[str, AzureIdentity]] = {}
        for m in r.bindings:
            if not m.active or m.identity is None:
                continue
            for w in m.workloads:
                per.setdefault(w.ref, {}).setdefault(identity_key(m.identity), m.identity)
        for ref, ids in sorted(per.items()):
            if len(ids) < 2:
                continue
            names = ", ".join(f"{i.namespace}/{i.name}" + (f" ({i.client_id})" if i.client_id else "")
                              for i in sorted(ids.values(), key=lambda i: (i.namespace, i.name)))
            yield emit("MULTIPLE_IDENTITIES_PER_WORKLOAD", c.name, ref.namespace, str(ref),
                       f"{ref} is matched by bindings to {len(ids)} identities ({names}): its service account can "
                       f"name only one default client ID.",
                       "Keep one as the default (the service account's azure.workload.identity/client-id) and make the "
                       "code request the others by client ID (or set AZURE_CLIENT_ID per container); the plan federates "
                       "the service account to each.")
