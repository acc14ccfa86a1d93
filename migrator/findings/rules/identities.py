"""AzureIdentity: unused, missing in Azure, service principals, secrets, node-level identities."""

from __future__ import annotations

import json
from collections.abc import Iterator

from migrator.escape import sh
from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import BINDING_KINDS, captured, emit
from migrator.inventory.build import parse_identity_id
from migrator.inventory.catalog import Catalog
from migrator.inventory.federation import subject
from migrator.inventory.model import (
    AzureIdentity,
    ClusterInventory,
    IdentityType,
    Origin,
)
from migrator.limits import MAX_FEDERATED_CREDENTIALS_PER_IDENTITY as LIMIT
from migrator.vocabulary import TOKEN_EXCHANGE_AUDIENCE

SP_TYPES = (IdentityType.SERVICE_PRINCIPAL, IdentityType.SERVICE_PRINCIPAL_CERTIFICATE)
IDENTITY_DOC = "https://azure.github.io/aad-pod-identity/docs/concepts/azureidentity/"
WI_FIC_DOC = "https://azure.github.io/azure-workload-identity/docs/topics/federated-identity-credential.html"


def _delete_identity(c: ClusterInventory, i: AzureIdentity) -> str:
    if i.origin is Origin.ADDON or i.managed_by == "add-on":
        return (f"az aks pod-identity delete -g {sh(c.resource_group)} --cluster-name {sh(c.name)} "
                f"--namespace {sh(i.namespace)} --name {sh(i.name)}")
    if i.managed_by == "helm":
        return "remove it from the Helm chart that renders it"
    return f"kubectl delete azureidentity {sh(i.name)} -n {sh(i.namespace)}"


@rule(
    "IDENTITY_UNUSED", Severity.INFO,
    title="An AzureIdentity no binding uses",
    cause="No AzureIdentityBinding in the identity's namespace names it (bindings only find identities in their own namespace).",
    risk="None at runtime; it is clutter that the migration would otherwise have to reason about.",
    remediation="Delete it if nothing is planned for it.",
    references=(IDENTITY_DOC,),
    needs=BINDING_KINDS,
)
def identity_unused(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, *BINDING_KINDS):
            continue
        used = {(m.binding.namespace, m.binding.identity_name) for m in r.bindings}
        for i in r.identities:
            if (i.namespace, i.name) in used:
                continue
            yield emit("IDENTITY_UNUSED", c.name, i.namespace, str(i.ref),
                       f"{i.ref} is named by no AzureIdentityBinding in {i.namespace}.",
                       f"Delete it if nothing is planned for it: {_delete_identity(c, i)}.")


@rule(
    "IDENTITY_NOT_IN_AZURE", Severity.ERROR,
    title="An AzureIdentity names no identity in the Azure snapshot",
    cause=("Neither the AzureIdentity's resourceID nor its clientID matches a user-assigned identity in the Azure "
           "snapshot (resource IDs compared case-insensitively). The identity was deleted or recreated (new client "
           "ID), the object has a typo, or it lives in a subscription the snapshot did not cover."),
    risk=("Its workloads have no working identity today, and no federated credential can be created for it: the "
          "migration of those workloads is blocked until it is resolved."),
    remediation=("Check the identity (az identity show --ids ID); point the AzureIdentity at the right one, delete it "
                 "and its bindings if the identity is gone, or add the missing subscription to the Azure snapshot."),
    references=(IDENTITY_DOC, "https://learn.microsoft.com/cli/azure/identity#az-identity-show"),
    needs=("azureidentities", "azure.identities"),
)
def identity_not_in_azure(cat: Catalog) -> Iterator[Finding]:
    if cat.azure is None:
        return
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, "azureidentities"):
            continue
        for i in r.identities:
            if i.type is not IdentityType.USER_ASSIGNED_MSI or cat.azure.find(i) is not None:
                continue
            if not i.resource_id and not i.client_id:
                yield emit("IDENTITY_NOT_IN_AZURE", c.name, i.namespace, str(i.ref),
                           f"{i.ref} has neither a resourceID nor a clientID, so it names no identity.",
                           f"Set spec.resourceID and spec.clientID to an existing identity, or delete it: "
                           f"{_delete_identity(c, i)}.")
                continue
            named = i.resource_id or f"client ID {i.client_id}"
            parts = parse_identity_id(i.resource_id) if i.resource_id else None
            check = f"az identity show --ids {sh(i.resource_id)}" if i.resource_id else \
                f"az identity list --query {sh(f'[?clientId==`{i.client_id}`]')}"
            sub = f" (az identity list --subscription {sh(parts[0])} -o json)" if parts else ""
            yield emit("IDENTITY_NOT_IN_AZURE", c.name, i.namespace, str(i.ref),
                       f"{i.ref} names {named}, which matches no user-assigned identity in the Azure snapshot.",
                       f"Check it with {check}: fix the AzureIdentity if it points at the wrong identity, delete it and "
                       f"its bindings if the identity is gone ({_delete_identity(c, i)}), or add its subscription to "
                       f"the Azure snapshot{sub}.")


def _uses_of(cat: Catalog, cluster: str, identity: AzureIdentity) -> list[tuple[str | None, str]]:
    out = []
    for r in cat.resolutions:
        if r.cluster.name != cluster:
            continue
        issuer = r.cluster.facts.oidc_issuer_url if r.cluster.facts else None
        for u in r.uses:
            if (u.identity.namespace, u.identity.name) == (identity.namespace, identity.name):
                out.append((issuer, subject(u.namespace, u.service_account)))
    return sorted(set(out), key=lambda t: (t[0] or "", t[1]))


@rule(
    "IDENTITY_SERVICE_PRINCIPAL", Severity.WARNING,
    title="An AzureIdentity of type 1 or 2 (a service principal)",
    cause=("The AzureIdentity has type 1 (service principal with a client secret) or 2 (with a certificate): it is an "
           "Entra application, not a user-assigned managed identity."),
    risk=("Its federated credentials go on the app registration (Microsoft Graph, az ad app federated-credential), "
          "not on a managed identity (the MSI resource provider); a plan that treats it as a managed identity fails. "
          f"The application's limit is also {LIMIT} federated credentials."),
    remediation=("Create the federated credentials on the application (az ad app federated-credential create --id "
                 "<client ID>), one per (cluster issuer, namespace, service account); or move the workload to a "
                 "user-assigned managed identity."),
    references=(WI_FIC_DOC, "https://learn.microsoft.com/cli/azure/ad/app/federated-credential"),
    needs=("azureidentities",),
)
def identity_service_principal(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        for i in r.identities:
            if i.type not in SP_TYPES:
                continue
            client = i.client_id or "<client ID>"
            uses = _uses_of(cat, c.name, i)
            if uses:
                issuer, subj = uses[0]
                params = {"name": f"{c.name}-{subj.rsplit(':', 2)[-2]}-{subj.rsplit(':', 1)[-1]}",
                          "issuer": issuer or "<cluster OIDC issuer URL>", "subject": subj,
                          "audiences": [TOKEN_EXCHANGE_AUDIENCE]}
                more = f" (one per service account: {len(uses)} here)" if len(uses) > 1 else ""
                fix = (f"Create its federated credentials on the app registration{more}: az ad app federated-credential "
                       f"create --id {sh(client)} --parameters {sh(json.dumps(params, separators=(',', ':')))}")
            else:
                fix = (f"Create its federated credentials on the app registration (az ad app federated-credential "
                       f"create --id {sh(client)}), one per (cluster issuer, namespace, service account) that uses it.")
            yield emit("IDENTITY_SERVICE_PRINCIPAL", c.name, i.namespace, str(i.ref),
                       f"{i.ref} is a service principal (type {i.type.value}, {i.type.label}), not a managed identity: "
                       f"its federated credentials go on the Entra application {client}.", fix)


@rule(
    "IDENTITY_SECRET_IN_SPEC", Severity.WARNING,
    title="A service-principal AzureIdentity references a client secret",
    cause=("A type 1/2 AzureIdentity authenticates with a secret (or certificate) stored in a Kubernetes Secret that "
           "its clientPassword references. The catalog reads only the reference, never the Secret."),
    risk=("After cutover the workload no longer needs the secret, but the credential stays valid on the application "
          "and in the cluster until someone revokes it: a long-lived secret nobody rotates."),
    remediation=("After cutover, once no pod uses the AzureIdentity, revoke that credential on the application (az ad "
                 "app credential delete) and delete the Secret."),
    references=(IDENTITY_DOC, "https://learn.microsoft.com/cli/azure/ad/app/credential"),
    needs=("azureidentities",),
)
def identity_secret_in_spec(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        for i in r.identities:
            if i.type not in SP_TYPES or i.secret_ref is None:
                continue
            ns, name = i.secret_ref
            client = sh(i.client_id or "<client ID>")
            yield emit("IDENTITY_SECRET_IN_SPEC", c.name, i.namespace, str(i.ref),
                       f"{i.ref} authenticates with the client secret in Secret {ns}/{name} (referenced only; its value "
                       f"is not read).",
                       f"After cutover rotate it away: az ad app credential list --id {client}, then az ad app "
                       f"credential delete --id {client} --key-id <keyId of that secret>, and kubectl delete secret "
                       f"{sh(name)} -n {sh(ns)}.")


@rule(
    "IDENTITY_UNSAFE_TO_FEDERATE", Severity.WARNING,
    title="An AzureIdentity uses the kubelet identity or a node-resource-group identity",
    cause=("The AzureIdentity is the cluster's kubelet identity, or another identity in the cluster's node resource "
           "group (created by AKS for the nodes or an add-on). Under Pod Identity that was merely odd; a federated "
           "credential on it makes it a service account's identity."),
    risk=("Federating it hands node-level rights (image pulls from every registry the nodes can read, whatever add-ons "
          "were granted) to one service account, and ties the workload to an identity AKS manages and may replace."),
    remediation=("Create a dedicated user-assigned identity for the workload, grant it only the roles it needs, and "
                 "bind the workload to that one before migrating."),
    references=("https://learn.microsoft.com/azure/aks/use-managed-identity#summary-of-managed-identities-used-by-aks",),
    needs=("azureidentities", "managedcluster"),
)
def identity_unsafe_to_federate(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        f = c.facts
        if f is None:
            continue
        kubelet_rid = (f.kubelet_identity_resource_id or "").strip().lower()
        kubelet_client = (f.kubelet_identity_client_id or "").strip().lower()
        node_rg = (f.node_resource_group or "").strip().lower()
        for i in r.identities:
            rid = (i.resource_id or "").strip().lower()
            client = (i.client_id or "").strip().lower()
            why = None
            if (kubelet_rid and rid == kubelet_rid) or (kubelet_client and client == kubelet_client):
                why = "is the cluster's kubelet identity"
            else:
                rg = None
                parts = parse_identity_id(i.resource_id) if i.resource_id else None
                if parts:
                    rg = parts[1]
                elif cat.azure is not None and (hit := cat.azure.find(i)) is not None:
                    rg = hit.resource_group
                if rg and node_rg and rg.lower() == node_rg:
                    why = f"is an identity in the node resource group {f.node_resource_group}"
            if why is None:
                continue
            yield emit("IDENTITY_UNSAFE_TO_FEDERATE", c.name, i.namespace, str(i.ref),
                       f"{i.ref} {why}: federating it hands node-level rights to a service account.",
                       f"Give the workload a dedicated identity with only the roles it needs (az identity create -g "
                       f"{sh(c.resource_group)} -n <name>, then az role assignment create ...) and bind it to that one "
                       f"before migrating.")
