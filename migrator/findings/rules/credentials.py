"""Federated identity credentials in Azure: the limit, stale trust, credentials already in place."""

from __future__ import annotations

from collections.abc import Iterator

from migrator.escape import sh
from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import emit
from migrator.inventory.catalog import Catalog
from migrator.inventory.federation import (
    Need,
    demands,
    distinct,
    existing_for,
    is_aks_credential,
    issuer_of,
    loose,
    subject,
)
from migrator.inventory.model import FederatedCredential
from migrator.limits import MAX_FEDERATED_CREDENTIALS_PER_IDENTITY as LIMIT
from migrator.vocabulary import TOKEN_EXCHANGE_AUDIENCE

FIC_DOC = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation-considerations"
FIC_CLI = "https://learn.microsoft.com/cli/azure/identity/federated-credential"


def _delete_fic(rg: str, identity: str, name: str) -> str:
    return (f"az identity federated-credential delete -g {sh(rg or '<rg>')} --identity-name {sh(identity)} "
            f"-n {sh(name)} --yes")


@rule(
    "FIC_LIMIT_EXCEEDED", Severity.ERROR,
    title="An identity would need more federated credentials than Azure allows",
    cause=(f"Azure allows {LIMIT} federated credentials per user-assigned identity (and per application). Each "
           "(cluster issuer, namespace, service account) that uses the identity needs one; the ones it already has — "
           "stale and foreign ones included — count too."),
    risk=("Creating the credentials fails part-way: some workloads of the identity migrate, the rest cannot, and the "
          "cutover stalls with Pod Identity still needed."),
    remediation=("Delete dead credentials first (FIC_STALE_ISSUER lists them), and split the identity's users over "
                 "more identities (a new identity for some clusters or service accounts)."),
    references=(FIC_DOC, FIC_CLI),
    needs=("azure.identities", "azure.credentials"),
)
def fic_limit_exceeded(cat: Catalog) -> Iterator[Finding]:
    creds_known = cat.azure is not None and cat.azure.azure.credentials is not None
    for d in demands(cat.resolutions, cat.azure):
        existing: tuple[FederatedCredential, ...] = ()
        if d.managed is not None and cat.azure is not None:
            existing = cat.azure.credentials_of(d.managed)
        needed = distinct(d.needs)
        new = [n for n in needed
               if not (n[0] and existing_for(Need("", n[0], n[1]), existing))]
        total = len(existing) + len(new)
        if total <= LIMIT:
            continue
        foreign = sum(1 for f in existing if not is_aks_credential(f))
        pending = sum(1 for n in new if not n[0])
        clusters = len({n.cluster for n in d.needs})
        known = ("existing" if d.managed is not None and creds_known
                 else "existing (not read: counted as 0)")
        rg = d.managed.resource_group if d.managed else ""
        yield emit("FIC_LIMIT_EXCEEDED", "", "", d.object,
                   f"{d.object} would need {total} federated credentials ({len(existing)} {known}"
                   + (f", {foreign} of them foreign" if foreign else "")
                   + f" + {len(new)} new for {clusters} cluster{'s' if clusters != 1 else ''}"
                   + (f", {pending} pending an OIDC issuer" if pending else "")
                   + f"), more than the {LIMIT} Azure allows.",
                   "Split its users over more identities (a new identity for some clusters or service accounts)"
                   + (f", and delete dead credentials first ({_delete_fic(rg, d.name, '<credential>')})"
                      if d.kind == "UserAssignedIdentity" else "") + ".")


def _fleet_issuers(cat: Catalog) -> dict[str, str] | None:
    """Issuer URL -> cluster name for the whole fleet; None when some cluster's issuer is unknown."""
    if cat.inventory.failures:
        return None
    out: dict[str, str] = {}
    for c in cat.inventory.clusters:
        if c.facts is None or (c.facts.oidc_issuer_enabled and not c.facts.oidc_issuer_url):
            return None
        if c.facts.oidc_issuer_url:
            out[c.facts.oidc_issuer_url] = c.name
    return out


@rule(
    "FIC_STALE_ISSUER", Severity.WARNING,
    title="A federated credential trusts an AKS issuer no cluster of the fleet has",
    cause=("An existing federated credential has an AKS issuer (https://<region>.oic.prod-aks.azure.com/…, "
           "https://oidc.prod-aks.azure.com/…) and a system:serviceaccount: subject, but its issuer is the issuer of no "
           "cluster of the fleet: the cluster was rebuilt (a new issuer) or removed. Credentials of other issuers "
           "(GitHub Actions, other platforms) are foreign, not stale, and are left alone."),
    risk=(f"The trust is dead but still counts toward the {LIMIT}-credential limit, and it hides that the rebuilt cluster "
          "has no trust at all. Should an issuer URL ever be reused, it trusts whoever holds it."),
    remediation=("Delete it after checking it belongs to no cluster outside the fleet (az identity federated-credential "
                 "delete)."),
    references=(FIC_DOC, FIC_CLI),
    needs=("azure.credentials", "managedcluster"),
)
def fic_stale_issuer(cat: Catalog) -> Iterator[Finding]:
    if cat.azure is None or cat.azure.azure.credentials is None:
        return
    issuers = _fleet_issuers(cat)
    if issuers is None:
        return
    near = {loose(url): (url, name) for url, name in issuers.items()}
    for cred in cat.azure.azure.credentials:
        if not is_aks_credential(cred) or cred.issuer in issuers:
            continue
        hit = cat.azure.by_id.get(cred.identity_resource_id.strip().lower())
        identity = hit.name if hit else cred.identity_resource_id.rstrip("/").rsplit("/", 1)[-1]
        rg = hit.resource_group if hit else ""
        close = near.get(loose(cred.issuer))
        if close:
            why = (f"differs from cluster {close[1]}'s issuer {close[0]} only in case or trailing slash: tokens never "
                   f"match it")
        else:
            why = "is the issuer of no cluster of the fleet: the cluster was rebuilt or removed, and the trust is dead"
        yield emit("FIC_STALE_ISSUER", "", "", f"UserAssignedIdentity/{identity}",
                   f"Federated credential {cred.name} on {identity} trusts {cred.issuer} for {cred.subject}, which {why}.",
                   f"Delete it once sure no cluster outside the fleet uses it (it counts toward the {LIMIT}-credential "
                   f"limit): {_delete_fic(rg, identity, cred.name)}.")


@rule(
    "FIC_ALREADY_PRESENT", Severity.INFO,
    title="The credential a (cluster, namespace, service account) needs already exists",
    cause=("The identity already has a federated credential with this cluster's exact issuer URL and the subject "
           "system:serviceaccount:<namespace>:<serviceaccount> (an earlier attempt, Terraform, or a hand-made one)."),
    risk="None; the plan reuses it instead of creating a duplicate (Azure rejects a second one with the same issuer and subject).",
    remediation="Nothing to create; check that its audience is api://AzureADTokenExchange.",
    references=(FIC_DOC,),
    needs=("azure.identities", "azure.credentials", "managedcluster"),
)
def fic_already_present(cat: Catalog) -> Iterator[Finding]:
    if cat.azure is None or cat.azure.azure.credentials is None:
        return
    for r in cat.resolutions:
        issuer = issuer_of(r)
        if issuer is None:
            continue
        for u in r.uses:
            managed = cat.azure.find(u.identity)
            if managed is None:
                continue
            cred = existing_for(Need(r.cluster.name, issuer, subject(u.namespace, u.service_account)),
                                cat.azure.credentials_of(managed))
            if cred is None:
                continue
            audience_ok = list(cred.audiences) == [TOKEN_EXCHANGE_AUDIENCE]
            yield emit("FIC_ALREADY_PRESENT", r.cluster.name, u.namespace, f"ServiceAccount/{u.service_account}",
                       f"Federated credential {cred.name} on {managed.name} already trusts "
                       f"{subject(u.namespace, u.service_account)} from this cluster's issuer.",
                       "Nothing to create: the plan reuses it." if audience_ok else
                       f"Fix its audiences to [{TOKEN_EXCHANGE_AUDIENCE}] (they are {list(cred.audiences)}): the plan "
                       f"reuses it.")
