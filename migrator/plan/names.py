"""Where names are made: federated credentials, new identities, new service accounts.

Credential names are readable (cluster, namespace and service account visible) and depend on
nothing but that credential's own cluster and subject: adding or removing another workload never
renames one (a name is immutable in Azure; a rename in Terraform is a delete and re-create).
The cluster stands for its issuer: keyed by the cluster rather than the issuer URL, a name is known
before a pending issuer is enabled, and a rebuilt cluster's new issuer updates the credential in
place instead of replacing it. When a name must be shortened or had characters replaced, a hash of
the exact (cluster, subject) keeps it unique.
"""

from __future__ import annotations

import hashlib
import re

from migrator.inventory.federation import subject
from migrator.limits import (
    FIC_NAME_MAX,
    FIC_NAME_PATTERN,
    IDENTITY_NAME_MAX,
    IDENTITY_NAME_PATTERN,
    K8S_NAME_MAX,
)

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]+")
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:8]


def _fit(base: str, pattern: re.Pattern[str], limit: int, digest: str, prefix: str) -> str:
    clean = _NOT_ALLOWED.sub("-", base).strip("-_")
    if clean == base and pattern.match(clean):
        return clean
    clean = clean or prefix
    if not clean[0].isalnum():
        clean = f"{prefix}-{clean}"
    head = clean[: limit - len(digest) - 1].rstrip("-_")
    return f"{head}-{digest}"


def credential_name(cluster: str, namespace: str, service_account: str) -> str:
    """The federated credential name for (cluster, namespace, serviceaccount)."""
    base = f"{cluster}-{namespace}-{service_account}"
    return _fit(base, FIC_NAME_PATTERN, FIC_NAME_MAX, _digest(cluster, subject(namespace, service_account)), "fic")


def identity_name(group: str, namespace: str, service_account: str, part: str | None = None) -> str:
    """A new user-assigned identity for one logical workload of a peer group (``per-workload``)."""
    base = "-".join(x for x in ("id", group, namespace, service_account, part) if x)
    return _fit(base, IDENTITY_NAME_PATTERN, IDENTITY_NAME_MAX,
                _digest(group, namespace, service_account, part or ""), "id")


def service_account_name(workload: str, taken: set[str]) -> str:
    """A new service account for a workload split off a shared one (a DNS-1123 subdomain)."""
    base = _NOT_DNS.sub("-", workload.lower()).strip("-") or "workload"
    base = base[:K8S_NAME_MAX]
    if base not in taken:
        return base
    candidate = f"{base[: K8S_NAME_MAX - 3]}-wi"
    index = 2
    while candidate in taken:
        candidate = f"{base[: K8S_NAME_MAX - 6]}-wi-{index}"
        index += 1
    return candidate
