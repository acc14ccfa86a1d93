"""Tiny Kubernetes documents for tests, in the shapes the API returns (only the fields that matter)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from migrator.decode.arm_documents import decode_managed_cluster
from migrator.decode.documents import ClusterDocuments
from migrator.decode.kube_pages import decode_page
from migrator.fleet import ClusterSpec
from migrator.inventory.build import build_cluster
from migrator.inventory.model import ClusterInventory
from migrator.kinds import KINDS


def meta(ns: str, name: str, labels: dict | None = None, annotations: dict | None = None,
         owner: tuple[str, str] | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    if owner:
        m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1], "controller": True,
                                 "uid": "u"}]
    return m


def pod_spec(sa: str | None = None, image: str = "contoso.azurecr.io/app:1", args: list[str] | None = None,
             env: dict[str, str] | None = None, host_network: bool = False) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image}
    if args:
        container["args"] = args
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in env.items()]
    spec: dict[str, Any] = {"containers": [container]}
    if sa:
        spec["serviceAccountName"] = sa
    if host_network:
        spec["hostNetwork"] = True
    return spec


def controller(kind: str, ns: str, name: str, *, selector: str | None = None, sa: str | None = None,
               labels: dict | None = None, owner: tuple[str, str] | None = None, ready: int = 1,
               **spec_kw: Any) -> dict[str, Any]:
    tpl_labels = {"app": name, **({"aadpodidbinding": selector} if selector else {})}
    template = {"metadata": {"labels": tpl_labels}, "spec": pod_spec(sa, **spec_kw)}
    doc: dict[str, Any] = {"metadata": meta(ns, name, labels, owner=owner)}
    if kind == "CronJob":
        doc["spec"] = {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        doc["spec"] = {"replicas": 1, "template": template}
    doc["status"] = {"numberReady": ready, "desiredNumberScheduled": 1} if kind == "DaemonSet" else \
        {"replicas": 1, "readyReplicas": ready}
    return doc


def pod(ns: str, name: str, *, selector: str | None = None, sa: str | None = None,
        owner: tuple[str, str] | None = None) -> dict[str, Any]:
    labels = {"aadpodidbinding": selector} if selector else {}
    return {"metadata": meta(ns, name, labels, owner=owner), "spec": pod_spec(sa), "status": {"phase": "Running"}}


def identity(ns: str, name: str, *, resource_id: str | None = None, client_id: str = "c-1", type_: Any = 0,
             keys: str = "camel", annotations: dict | None = None) -> dict[str, Any]:
    rid = resource_id or f"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    names = {"camel": ("resourceID", "clientID"), "legacy": ("ResourceID", "ClientID")}[keys]
    return {"apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
            "metadata": meta(ns, name, annotations=annotations),
            "spec": {"type": type_, names[0]: rid, names[1]: client_id}}


def binding(ns: str, name: str, identity_name: str, selector: str, keys: str = "camel") -> dict[str, Any]:
    names = {"camel": ("azureIdentity", "selector"), "legacy": ("AzureIdentity", "Selector")}[keys]
    return {"apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentityBinding", "metadata": meta(ns, name),
            "spec": {names[0]: identity_name, names[1]: selector}}


def nmi(*args: str, image: str = "mcr.microsoft.com/oss/azure/aad-pod-identity/nmi:v1.8.17",
        env: dict[str, str] | None = None) -> dict[str, Any]:
    return controller("DaemonSet", "kube-system", "nmi", image=image, args=list(args), env=env)


def api_list(kind: str, items: list[dict]) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": f"{kind}List", "metadata": {"resourceVersion": "1"},
                       "items": items}).encode()


def cluster(name: str = "aks-a", *, managed_cluster: dict | None = None, shared_values: dict | None = None,
            **kinds: list[dict]) -> ClusterInventory:
    """A cluster inventory from documents; kinds not given are empty (captured, none)."""
    kube: dict[str, Any] = {}
    for plural, info in KINDS.items():
        items = kinds.get(plural, [])
        kube[plural] = decode_page(plural, api_list(info.kind, items), origin=f"{plural}.json").items
    mc = decode_managed_cluster(json.dumps(managed_cluster).encode(), "managedcluster.json") if managed_cluster else None
    spec = ClusterSpec(name=name, region="westeurope", subscription_id="s", resource_group="rg", snapshot=Path("x"))
    return build_cluster(spec, ClusterDocuments(kube, mc, ()), shared_values)


def addon_cluster(identities: list[dict], issuer: str = "https://westeurope.oic.prod-aks.azure.com/t/u/") -> dict:
    return {"id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-a",
            "name": "aks-a", "location": "westeurope",
            "properties": {"kubernetesVersion": "1.30.0", "nodeResourceGroup": "MC_rg_aks-a_westeurope",
                           "oidcIssuerProfile": {"enabled": True, "issuerURL": issuer},
                           "securityProfile": {"workloadIdentity": {"enabled": True}},
                           "podIdentityProfile": {"enabled": True, "userAssignedIdentities": identities}}}
