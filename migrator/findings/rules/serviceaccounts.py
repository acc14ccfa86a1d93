"""Service accounts: one shared by workloads of different identities, and ``default``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from migrator.escape import dns_name, sh
from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import (
    BINDING_KINDS,
    bound_workloads,
    captured,
    emit,
    identity_key,
)
from migrator.inventory.catalog import Catalog
from migrator.inventory.model import AzureIdentity, ObjectRef

WI_FAQ = "https://azure.github.io/azure-workload-identity/docs/faq.html"
WI_ANNOTATIONS = "https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html"
#: kinds ``kubectl set serviceaccount`` can change
_SETTABLE = {"Deployment": "deployment", "StatefulSet": "statefulset", "DaemonSet": "daemonset",
             "ReplicaSet": "replicaset", "Job": "job"}


@rule(
    "SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES", Severity.WARNING,
    title="One service account used by workloads bound to different identities",
    cause=("Under Pod Identity the identity followed the pod's aadpodidbinding label, so workloads sharing a service "
           "account (often default) could use different identities. Under workload identity the service account is "
           "what is federated, and its azure.workload.identity/client-id annotation names one default client ID."),
    risk=("Annotating the shared service account with one client ID silently gives the other workloads the wrong "
          "identity (AZURE_CLIENT_ID is injected into every pod of it): access denied at best, the wrong rights at worst."),
    remediation=("Give each workload its own service account; or keep the shared one, federate it to each identity, "
                 "and set AZURE_CLIENT_ID explicitly on the other workloads' containers (the webhook never overwrites a "
                 "value a container sets)."),
    references=(WI_FAQ, WI_ANNOTATIONS),
    needs=BINDING_KINDS,
)
def serviceaccount_shared(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        per_sa: dict[tuple[str, str], dict[ObjectRef, dict[str, AzureIdentity]]] = defaultdict(dict)
        for u in r.uses:
            for ref in u.workloads:
                per_sa[(u.namespace, u.service_account)].setdefault(ref, {})[identity_key(u.identity)] = u.identity
        for (ns, sa), workloads in sorted(per_sa.items()):
            sets = {frozenset(ids) for ids in workloads.values()}
            if len(workloads) < 2 or len(sets) < 2:
                continue
            parts = "; ".join(f"{ref} → {', '.join(f'{i.namespace}/{i.name}' for i in ids.values())}"
                              for ref, ids in sorted(workloads.items()))
            yield emit("SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES", c.name, ns, f"ServiceAccount/{sa}",
                       f"ServiceAccount {sa} is used by workloads bound to different identities ({parts}): its "
                       f"azure.workload.identity/client-id annotation can name only one default.",
                       f"Give each workload its own service account (kubectl create serviceaccount <name> -n {sh(ns)}, "
                       f"then set serviceAccountName), or keep {sa} for one identity, federate it to each, and set "
                       f"AZURE_CLIENT_ID explicitly on the other workloads' containers (the webhook never overwrites it).")


@rule(
    "DEFAULT_SERVICEACCOUNT", Severity.WARNING,
    title="A bound workload runs as the default service account",
    cause=("The workload sets no serviceAccountName, so its pods run as the namespace's default service account. "
           "Under Pod Identity the aadpodidbinding label chose the identity; under workload identity the service "
           "account is federated."),
    risk=("Federating default (and annotating it with the client ID) gives the identity to every pod in the "
          "namespace that runs as default — present and future, labelled or not."),
    remediation="Create a service account for the workload and set serviceAccountName before migrating it.",
    references=(WI_ANNOTATIONS, "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/"),
    needs=BINDING_KINDS,
)
def default_serviceaccount(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        for b in bound_workloads(r):
            w = b.workload
            if w.template.service_account != "default":
                continue
            ns, sa = w.ref.namespace, dns_name(w.ref.name)
            create = f"kubectl create serviceaccount {sh(sa)} -n {sh(ns)}"
            if w.ref.kind in _SETTABLE and not w.inferred:
                fix = f"{create} && kubectl set serviceaccount {_SETTABLE[w.ref.kind]} {sh(w.ref.name)} {sh(sa)} -n {sh(ns)}"
            else:
                fix = f"{create}, then set serviceAccountName: {sa} in the pod template of {w.ref}'s manifest"
            yield emit("DEFAULT_SERVICEACCOUNT", c.name, ns, str(w.ref),
                       f"{w.ref} is bound to {b.identities_text} but runs as the default service account: federating "
                       f"default would give the identity to every pod in {ns}.",
                       f"Give it a service account of its own: {fix}.")
