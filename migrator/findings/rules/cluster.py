"""Cluster prerequisites (OIDC issuer, workload identity) and what was not captured."""

from __future__ import annotations

from collections.abc import Iterator

from migrator.escape import sh
from migrator.findings.model import Finding, Severity
from migrator.findings.registry import RULES, rule
from migrator.findings.rules._common import captured, cluster_object, emit, has_bindings
from migrator.inventory.catalog import Catalog
from migrator.inventory.webhook import detect_webhook
from migrator.kinds import KINDS

ISSUER_DOC = "https://learn.microsoft.com/azure/aks/use-oidc-issuer"
WI_DOC = "https://learn.microsoft.com/azure/aks/workload-identity-deploy-cluster"
WEBHOOK_DOC = "https://azure.github.io/azure-workload-identity/docs/installation/mutating-admission-webhook.html"


@rule(
    "OIDC_ISSUER_DISABLED", Severity.ERROR,
    title="The cluster has bindings but no OIDC issuer",
    cause=("Workload identity federation trusts the cluster's OIDC issuer (oidcIssuerProfile.issuerURL); the cluster "
           "has AAD Pod Identity bindings but its issuer is not enabled."),
    risk=("No federated credential can be created for this cluster's service accounts until it is: the cluster's "
          "migration is blocked. Enabling it restarts the API server's token issuer and cannot be undone."),
    remediation="Enable the OIDC issuer (az aks update --enable-oidc-issuer), then read its issuer URL for the plan.",
    references=(ISSUER_DOC,),
    needs=("managedcluster", "azureidentitybindings"),
)
def oidc_issuer_disabled(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if c.facts is None or c.facts.oidc_issuer_enabled or not has_bindings(r):
            continue
        yield emit("OIDC_ISSUER_DISABLED", c.name, "", cluster_object(c),
                   f"The cluster has {len(r.bindings)} pod-identity bindings to migrate but no OIDC issuer to federate them with.",
                   f"az aks update -g {sh(c.resource_group)} -n {sh(c.name)} --enable-oidc-issuer (it cannot be "
                   f"disabled again).")


@rule(
    "WORKLOAD_IDENTITY_DISABLED", Severity.ERROR,
    title="The cluster has bindings but no workload identity webhook of v1.0 or later",
    cause=("Neither the AKS workload identity add-on is on (securityProfile.workloadIdentity.enabled) nor a mutating "
           "webhook of v1.0 or later is installed by hand. Webhooks before v1.0 select pods by the service account's "
           "label and ignore the pod label azure.workload.identity/use the migration sets."),
    risk=("Migrated pods start without the projected token and AZURE_* variables: the SDK falls back to IMDS (NMI or "
          "the node identity), and the migration silently does not happen."),
    remediation=("Enable the add-on (az aks update --enable-workload-identity; it needs the OIDC issuer), and remove or "
                 "upgrade a webhook older than v1.0 installed by hand."),
    references=(WI_DOC, WEBHOOK_DOC),
    needs=("managedcluster", "mutatingwebhookconfigurations", "deployments", "azureidentitybindings"),
)
def workload_identity_disabled(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not has_bindings(r):
            continue
        state = detect_webhook(c)
        if state.enabled is not False:
            continue
        old = state.too_old
        note = ""
        if old:
            w = old[0]
            note = (f"; the webhook installed by hand ({w.configuration}, {w.version_text or 'version unknown'}) is "
                    f"older than v1.0 and ignores the pod label")
        yield emit("WORKLOAD_IDENTITY_DISABLED", c.name, "", cluster_object(c),
                   f"The cluster has {len(r.bindings)} pod-identity bindings to migrate but workload identity is not "
                   f"on{note}.",
                   f"az aks update -g {sh(c.resource_group)} -n {sh(c.name)} --enable-workload-identity"
                   + (" (after enabling the OIDC issuer)" if c.facts and not c.facts.oidc_issuer_enabled else "")
                   + (", and remove the old webhook" if old else "") + ".")


_AZURE_PARTS = {
    "azure.identities": ("UserAssignedIdentity/*", "Azure's user-assigned identities",
                         "az identity list -o json > <azure snapshot>/identities.json"),
    "azure.credentials": ("FederatedIdentityCredential/*", "the identities' federated credentials",
                          "for each identity: az identity federated-credential list -g <rg> --identity-name <name> "
                          "-o json, all merged into <azure snapshot>/federatedIdentityCredentials.json"),
}


def _codes_needing(kind: str) -> list[str]:
    return sorted(code for code, r in RULES.items() if kind in r.needs)


@rule(
    "SOURCE_NOT_CAPTURED", Severity.WARNING,
    title="A kind was not captured, so findings that need it were not judged",
    cause=("The snapshot (or the live read) has no list for a kind: its file is missing, or it could not be read. "
           "Unknown is not empty: a rule that needs the kind does not judge (or judges only in part) rather than guess."),
    risk="Problems those findings would have reported may exist unseen.",
    remediation="Export the missing kind into the snapshot and run the catalog again.",
    references=(),
    needs=(),
)
def source_not_captured(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        missing = set(c.not_captured)
        for kind, field in (("managedcluster", c.facts), ("vmss", c.scale_sets)):
            if field is None:
                missing.add(kind)
        for plural in KINDS:
            if plural not in missing and not captured(c, plural):
                missing.add(plural)
        for kind in sorted(missing):
            codes = _codes_needing(kind)
            if not codes:
                continue
            if kind == "managedcluster":
                obj, what = cluster_object(c), "The managedCluster document"
                fix = f"az aks show -g {sh(c.resource_group)} -n {sh(c.name)} -o json > <snapshot>/managedcluster.json"
            elif kind == "vmss":
                obj, what = "VirtualMachineScaleSet/*", "The node pools' scale sets"
                rg = sh(c.facts.node_resource_group) if c.facts and c.facts.node_resource_group else \
                    f"\"$(az aks show -g {sh(c.resource_group)} -n {sh(c.name)} --query nodeResourceGroup -o tsv)\""
                fix = f"az vmss list -g {rg} -o json > <snapshot>/vmss.json"
            else:
                info = KINDS.get(kind)
                obj = f"{info.kind}/*" if info else f"{kind}/*"
                what = f"{info.kind if info else kind} objects ({kind})"
                scope = " -A" if info is None or info.namespaced else ""
                fix = f"kubectl get {kind}{scope} -o json > <snapshot>/kube/{kind}.json"
            yield emit("SOURCE_NOT_CAPTURED", c.name, "", obj,
                       f"{what} were not captured, so {', '.join(codes)} were not judged (or only in part) on this cluster.",
                       f"Export them and run the catalog again: {fix}.")
    azure = cat.inventory.azure
    missing_azure = []
    if azure is None:
        missing_azure = ["azure.identities", "azure.credentials"]
    elif azure.credentials is None:
        missing_azure = ["azure.credentials"]
    for part in missing_azure:
        codes = _codes_needing(part)
        if not codes:
            continue
        obj, what, fix = _AZURE_PARTS[part]
        failure = (cat.inventory.azure_failure or "").strip().splitlines()
        reason = f" ({failure[0]})" if azure is None and failure else ""
        yield emit("SOURCE_NOT_CAPTURED", "", "", obj,
                   f"{what[0].upper() + what[1:]} were not captured{reason}, so {', '.join(codes)} were not judged.",
                   f"Export them and run the catalog again: {fix}.")
