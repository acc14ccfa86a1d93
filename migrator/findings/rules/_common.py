"""Helpers every rule module shares: making findings, "was this kind captured?", bound workloads."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from migrator.escape import sh
from migrator.findings.model import Finding
from migrator.findings.registry import RULES
from migrator.inventory.model import (
    AzureIdentity,
    ClusterInventory,
    ObjectRef,
    Workload,
)
from migrator.inventory.resolve import ClusterResolution

#: kinds whose pod templates make up the workloads (ReplicaSets, Jobs and pods only add owners we
#: do not read and hand-labelled pods)
TEMPLATE_KINDS = ("deployments", "statefulsets", "daemonsets", "cronjobs")
#: every kind that shows a pod or a pod template: needed to say "nothing matches"
POD_KINDS = (*TEMPLATE_KINDS, "replicasets", "jobs", "pods")
#: what a binding resolves through
BINDING_KINDS = ("azureidentities", "azureidentitybindings")

_FIELD = {
    "azureidentities": "identities", "azureidentitybindings": "bindings",
    "azurepodidentityexceptions": "exceptions", "azureassignedidentities": "assigned_identities",
    "pods": "pods", "deployments": "workloads", "statefulsets": "workloads", "daemonsets": "workloads",
    "replicasets": "workloads", "jobs": "workloads", "cronjobs": "workloads",
    "serviceaccounts": "service_accounts", "namespaces": "namespaces", "customresourcedefinitions": "crds",
    "mutatingwebhookconfigurations": "webhooks", "validatingadmissionpolicies": "admission_policies",
    "validatingadmissionpolicybindings": "admission_policies", "secretproviderclasses": "secret_provider_classes",
    "triggerauthentications": "trigger_authentications", "clustertriggerauthentications": "trigger_authentications",
    "managedcluster": "facts", "vmss": "scale_sets",
}


def emit(code: str, cluster: str, namespace: str, obj: str, message: str, remediation: str) -> Finding:
    return Finding(cluster=cluster, namespace=namespace, object=obj, code=code, severity=RULES[code].severity,
                   message=message, remediation=remediation)


def captured(cluster: ClusterInventory, *kinds: str) -> bool:
    """Every one of ``kinds`` was captured for the cluster (a rule that needs one that was not, does not judge)."""
    for kind in kinds:
        if kind in cluster.not_captured:
            return False
        field = _FIELD.get(kind)
        if field is not None and getattr(cluster, field) is None:
            return False
    return True


def cluster_object(cluster: ClusterInventory) -> str:
    return f"ManagedCluster/{cluster.name}"


def has_bindings(resolution: ClusterResolution) -> bool | None:
    """The cluster has pod-identity bindings: True/False, or None when that is unknown."""
    if resolution.bindings:
        return True
    return None if resolution.cluster.bindings is None else False


def identity_text(identity: AzureIdentity) -> str:
    return f"AzureIdentity {identity.namespace}/{identity.name}"


def identity_key(identity: AzureIdentity) -> str:
    """Two AzureIdentity objects naming the same Azure identity are one identity."""
    return (identity.resource_id or identity.client_id or f"{identity.namespace}/{identity.name}").strip().lower()


@dataclass(frozen=True, slots=True)
class Bound:
    """A workload that uses a pod identity (through active bindings), with what it uses."""

    workload: Workload
    identities: tuple[AzureIdentity, ...]

    @property
    def ref(self) -> ObjectRef:
        return self.workload.ref

    @property
    def identities_text(self) -> str:
        return ", ".join(f"{i.namespace}/{i.name}" for i in self.identities)


def bound_workloads(resolution: ClusterResolution) -> tuple[Bound, ...]:
    """Workloads of the cluster's active uses, each once, sorted."""
    by_ref = {w.ref: w for w in resolution.cluster.workloads or ()}
    found: dict[ObjectRef, dict[tuple[str, str], AzureIdentity]] = {}
    for use in resolution.uses:
        for ref in use.workloads:
            if ref in by_ref:
                found.setdefault(ref, {})[(use.identity.namespace, use.identity.name)] = use.identity
    return tuple(Bound(by_ref[ref], tuple(v for _, v in sorted(ids.items())))
                 for ref, ids in sorted(found.items()))


def apply_json(obj: dict[str, Any], verb: str = "apply") -> str:
    """A one-line shell command that applies a manifest (JSON is YAML; quoted so nothing expands)."""
    return f"printf '%s' {sh(json.dumps(obj, separators=(',', ':'), ensure_ascii=False))} | kubectl {verb} -f -"


def patch_json(kind: str, name: str, namespace: str | None, patch: dict[str, Any]) -> str:
    ns = f" -n {sh(namespace)}" if namespace else ""
    body = sh(json.dumps(patch, separators=(",", ":"), ensure_ascii=False))
    return f"kubectl patch {kind} {sh(name)}{ns} --type merge -p {body}"


def version_text(version: tuple[int, int, int] | None) -> str | None:
    return "v" + ".".join(map(str, version)) if version else None
