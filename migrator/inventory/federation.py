"""Federated identity credentials: which the fleet's uses need, which exist, which are stale.

A use of an identity by (cluster, namespace, serviceaccount) needs one credential with the
cluster's OIDC issuer URL (exactly as the cluster reports it, trailing slash kept) and the subject
``system:serviceaccount:<namespace>:<serviceaccount>``. A cluster without a known issuer still needs
one per subject: it is *pending* (counted, but not matchable against existing credentials).

An existing credential is an *AKS* credential when its issuer is an AKS issuer
(``https://<region>.oic.prod-aks.azure.com/…`` or ``https://oidc.prod-aks.azure.com/…``) and its
subject a Kubernetes service account; other credentials (GitHub Actions, other platforms) are
*foreign*: never stale, but they count toward Azure's limit like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrator.inventory.link import AzureIndex
from migrator.inventory.model import (
    AzureIdentity,
    FederatedCredential,
    IdentityType,
    ManagedIdentity,
)
from migrator.inventory.resolve import ClusterResolution

SUBJECT_PREFIX = "system:serviceaccount:"
_AKS_ISSUER = re.compile(r"^https://([a-z0-9-]+\.oic\.prod-aks\.azure\.com|oidc\.prod-aks\.azure\.com)(/|$)",
                         re.IGNORECASE)


def subject(namespace: str, service_account: str) -> str:
    return f"{SUBJECT_PREFIX}{namespace}:{service_account}"


def is_aks_issuer(issuer: str) -> bool:
    return bool(_AKS_ISSUER.match(issuer.strip()))


def is_aks_credential(credential: FederatedCredential) -> bool:
    return is_aks_issuer(credential.issuer) and credential.subject.startswith(SUBJECT_PREFIX)


def loose(issuer: str) -> str:
    """An issuer compared loosely (case, trailing slash): to explain a near miss, never to match."""
    return issuer.strip().rstrip("/").lower()


@dataclass(frozen=True, slots=True, order=True)
class Need:
    cluster: str
    issuer: str | None  # None: the cluster's issuer is not enabled (or not known) yet: pending
    subject: str


@dataclass(frozen=True, slots=True)
class Demand:
    """One identity (as Azure knows it, or as the AzureIdentity objects name it) and what it needs."""

    key: str
    name: str
    kind: str  # UserAssignedIdentity | Application
    managed: ManagedIdentity | None
    identities: tuple[AzureIdentity, ...]  # the AzureIdentity objects (any cluster) naming it
    needs: tuple[Need, ...]

    @property
    def object(self) -> str:
        return f"{self.kind}/{self.name}"


def identity_key(identity: AzureIdentity, azure: AzureIndex | None) -> tuple[str, str, str, ManagedIdentity | None]:
    """(key, display name, kind, Azure identity) of what an AzureIdentity names."""
    if identity.type in (IdentityType.SERVICE_PRINCIPAL, IdentityType.SERVICE_PRINCIPAL_CERTIFICATE):
        client = (identity.client_id or f"{identity.namespace}/{identity.name}").strip()
        return f"app:{client.lower()}", client, "Application", None
    managed = azure.find(identity) if azure is not None else None
    if managed is not None:
        return managed.key, managed.name, "UserAssignedIdentity", managed
    if identity.resource_id:
        rid = identity.resource_id.strip()
        return rid.lower(), rid.rstrip("/").rsplit("/", 1)[-1], "UserAssignedIdentity", None
    client = (identity.client_id or f"{identity.namespace}/{identity.name}").strip()
    return f"client:{client.lower()}", identity.name, "UserAssignedIdentity", None


def issuer_of(resolution: ClusterResolution) -> str | None:
    facts = resolution.cluster.facts
    return facts.oidc_issuer_url if facts is not None and facts.oidc_issuer_url else None


def demands(resolutions: tuple[ClusterResolution, ...], azure: AzureIndex | None) -> tuple[Demand, ...]:
    """Every identity used by the fleet with the credentials its uses need (active uses only)."""
    grouped: dict[str, tuple[str, str, ManagedIdentity | None, dict[tuple[str, str], AzureIdentity], set[Need]]] = {}
    for r in resolutions:
        issuer = issuer_of(r)
        for use in r.uses:
            key, name, kind, managed = identity_key(use.identity, azure)
            entry = grouped.setdefault(key, (name, kind, managed, {}, set()))
            entry[3][(r.cluster.name, f"{use.identity.namespace}/{use.identity.name}")] = use.identity
            entry[4].add(Need(r.cluster.name, issuer, subject(use.namespace, use.service_account)))
    return tuple(
        Demand(key, name, kind, managed, tuple(v for _, v in sorted(ids.items())), tuple(sorted(needs)))
        for key, (name, kind, managed, ids, needs) in sorted(grouped.items())
    )


def distinct(needs: tuple[Need, ...]) -> tuple[tuple[str, str, str | None], ...]:
    """Credentials the needs stand for: one per (issuer, subject); pending ones one per (cluster, subject)."""
    out: set[tuple[str, str, str | None]] = set()
    for n in needs:
        out.add((n.issuer, n.subject, None) if n.issuer else ("", n.subject, n.cluster))
    return tuple(sorted(out, key=lambda t: (t[0], t[1], t[2] or "")))


def existing_for(need: Need, credentials: tuple[FederatedCredential, ...]) -> FederatedCredential | None:
    """The existing credential that already serves ``need`` (exact issuer and subject)."""
    if need.issuer is None:
        return None
    return next((c for c in credentials if c.issuer == need.issuer and c.subject == need.subject), None)
