"""The catalog as plain data: the documented JSON schema (docs/catalog-json.md), built once.

Every list is sorted; keys are camelCase. The table and Markdown reports read the same view, so
the three formats can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migrator.findings.model import Finding, Severity
from migrator.inventory.catalog import Catalog
from migrator.inventory.link import AzureIndex
from migrator.inventory.model import AzureIdentity, ClusterInventory
from migrator.inventory.podidentity import Component
from migrator.inventory.resolve import BindingMatch, ClusterResolution, Use

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class CatalogReport:
    catalog: Catalog
    findings: tuple[Finding, ...]
    ignored: int = 0

    def view(self) -> dict[str, Any]:
        return build_view(self)


def _identity(identity: AzureIdentity, azure: AzureIndex | None) -> dict[str, Any]:
    return {
        "namespace": identity.namespace,
        "name": identity.name,
        "resourceId": identity.resource_id,
        "clientId": identity.client_id,
        "type": identity.type.label,
    }


def _use(use: Use) -> dict[str, Any]:
    return {
        "cluster": use.cluster,
        "namespace": use.namespace,
        "serviceAccount": use.service_account,
        "identity": {
            "resourceId": use.identity.resource_id,
            "clientId": use.identity.client_id,
            "type": use.identity.type.label,
            "namespace": use.identity.namespace,
            "name": use.identity.name,
        },
        "workloads": [str(w) for w in use.workloads],
        "bindings": [f"{b.namespace}/{b.name}" for b in use.bindings],
    }


def _component(c: Component) -> dict[str, Any]:
    return {
        "object": str(c.ref), "namespace": c.ref.namespace, "image": c.image, "version": c.version_text,
        "install": c.install, "desired": c.desired, "ready": c.ready, "running": c.running,
    }


def _binding(m: BindingMatch) -> dict[str, Any]:
    b = m.binding
    return {
        "namespace": b.namespace, "name": b.name, "azureIdentity": b.identity_name, "selector": b.selector,
        "managedBy": b.managed_by, "schema": b.schema.value, "legacyKeys": list(b.legacy_keys),
        "identityFound": m.identity is not None, "namespacedMatching": m.namespaced,
        "active": m.active, "inactiveReason": m.inactive_reason,
        "workloads": [f"{w.ref.namespace}/{w.ref}" for w in m.workloads],
    }


def _cluster(r: ClusterResolution, azure: AzureIndex | None) -> dict[str, Any]:
    c: ClusterInventory = r.cluster
    facts = c.facts
    install = r.install
    return {
        "name": c.name, "region": c.region, "group": c.group, "subscriptionId": c.subscription_id,
        "resourceGroup": c.resource_group, "status": "ok", "error": None,
        "notCaptured": list(c.not_captured),
        "kubernetesVersion": facts.kubernetes_version if facts else None,
        "oidcIssuer": {"enabled": facts.oidc_issuer_enabled, "url": facts.oidc_issuer_url} if facts else None,
        "workloadIdentity": {"enabled": facts.workload_identity_enabled} if facts else None,
        "podIdentity": {
            "installMethods": list(install.methods),
            "mode": install.mode.value if install.mode else None,
            "namespacedMatching": install.namespaced,
            "version": "v" + ".".join(map(str, install.version)) if install.version else None,
            "addonEnabled": install.addon_enabled,
            "nmi": [_component(x) for x in install.nmi],
            "mic": [_component(x) for x in install.mic],
        },
        "identities": [
            {**_identity(i, azure), "managedBy": i.managed_by, "schema": i.schema.value,
             "legacyKeys": list(i.legacy_keys), "namespacedBehavior": i.namespaced,
             "inAzure": (azure.find(i) is not None) if azure else None,
             "secretRef": f"{i.secret_ref[0]}/{i.secret_ref[1]}" if i.secret_ref else None}
            for i in r.identities
        ],
        "bindings": [_binding(m) for m in r.bindings],
        "exceptions": [
            {"namespace": e.namespace, "name": e.name, "podLabels": dict(e.pod_labels), "origin": e.origin.value}
            for e in r.exceptions
        ],
        "uses": [_use(u) for u in r.uses],
        "inactiveUses": [_use(u) for u in r.inactive_uses],
    }


def _azure(catalog: Catalog) -> dict[str, Any]:
    inv = catalog.inventory
    if catalog.azure is None:
        return {"captured": False, "reason": inv.azure_failure, "identities": []}
    index = catalog.azure
    referenced: dict[str, set[str]] = {}
    for r in catalog.resolutions:
        for i in r.identities:
            hit = index.find(i)
            if hit:
                referenced.setdefault(hit.key, set()).add(f"{r.cluster.name}/{i.namespace}/{i.name}")
    return {
        "captured": True,
        "credentialsCaptured": index.azure.credentials is not None,
        "identities": [
            {
                "resourceId": m.resource_id, "name": m.name, "resourceGroup": m.resource_group,
                "subscriptionId": m.subscription_id, "location": m.location, "clientId": m.client_id,
                "principalId": m.principal_id,
                "federatedCredentials": [
                    {"name": f.name, "issuer": f.issuer, "subject": f.subject, "audiences": list(f.audiences)}
                    for f in sorted(index.credentials_of(m), key=lambda f: f.name)
                ],
                "referencedBy": sorted(referenced.get(m.key, ())),
            }
            for m in index.azure.identities
        ],
    }


def finding_view(f: Finding) -> dict[str, Any]:
    return {"code": f.code, "severity": f.severity.value, "cluster": f.cluster, "namespace": f.namespace,
            "object": f.object, "message": f.message, "remediation": f.remediation}


def build_view(report: CatalogReport) -> dict[str, Any]:
    catalog = report.catalog
    inv = catalog.inventory
    clusters = [_cluster(r, catalog.azure) for r in catalog.resolutions]
    clusters += [
        {"name": f.name, "region": f.region, "group": f.group, "status": "failed", "error": f.reason}
        for f in inv.failures
    ]
    clusters.sort(key=lambda c: c["name"])
    uses = sorted((_use(u) for u in catalog.uses),
                  key=lambda u: (u["cluster"], u["namespace"], u["serviceAccount"], u["identity"]["namespace"],
                                 u["identity"]["name"]))
    findings = sorted(report.findings, key=lambda f: f.sort_key)
    counts = {s.value: sum(1 for f in findings if f.severity is s) for s in Severity}
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tenantId": inv.tenant_id,
        "summary": {
            "clusters": len(inv.clusters) + len(inv.failures),
            "clustersRead": len(inv.clusters),
            "clustersFailed": len(inv.failures),
            "bindings": sum(len(r.bindings) for r in catalog.resolutions),
            "uses": len(uses),
            "findings": counts,
            "ignoredFindings": report.ignored,
        },
        "clusters": clusters,
        "uses": uses,
        "azure": _azure(catalog),
        "findings": [finding_view(f) for f in findings],
    }
