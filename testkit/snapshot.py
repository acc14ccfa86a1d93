"""Read the snapshot layout the servers serve (normative, shared with the product)::

    <root>/<cluster>/managedcluster.json   ARM GET body (REST shape) or `az aks show` (flattened CLI shape)
    <root>/<cluster>/kube/<plural>.json    `kubectl get <plural> -A -o json` (kind: List) or a raw API list
    <root>/<cluster>/vmss.json             {"value": [...]} scale sets of the node resource group
    <root>/azure/identities.json           {"value": [...]} or a bare array of userAssignedIdentities
    <root>/azure/federatedIdentityCredentials.json   same; each item's id names its parent identity
    <root>/azure/roleAssignments.json      {"value": [...]}

and ``fleet.yaml`` (clusters with name, region, subscriptionId, resourceGroup, group, snapshot).
Loaded snapshots are cached by real path, so many clusters pointing at one profile folder share
the parsed objects (the Kubernetes server shares them copy-on-write).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from .kube_types import by_plural

__all__ = ["ClusterSnapshot", "AzureSnapshot", "FleetEntry", "load_cluster", "load_azure", "load_fleet",
           "managed_cluster_to_rest", "issuer_of", "read_json", "list_items"]


def read_json(path: str) -> Any:
    with open(path, "rb") as fh:
        return json.loads(fh.read())


def list_items(doc: Any) -> list[dict[str, Any]]:
    """Items of ``{"value": [...]}``, ``{"items": [...]}`` or a bare array."""
    if doc is None:
        return []
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        if isinstance(doc.get("value"), list):
            return doc["value"]
        if isinstance(doc.get("items"), list):
            return doc["items"]
    raise ValueError("not a list document")


# -- managedcluster.json: REST vs `az aks show` --------------------------------------------
_TOP_LEVEL = {"id", "name", "type", "location", "tags", "sku", "identity", "extendedLocation", "eTag", "etag",
              "kind", "systemData", "zones", "plan"}
_CLI_ONLY = {"resourceGroup"}
# CLI camelCase (from the SDK's snake_case attribute names) -> REST wire names, where they differ.
_RENAMES = {
    "issuerUrl": "issuerURL", "enableRbac": "enableRBAC", "azurePortalFqdn": "azurePortalFQDN",
    "privateFqdn": "privateFQDN", "diskEncryptionSetId": "diskEncryptionSetID", "fqdnSubdomain": "fqdnSubdomain",
    "enablePodSecurityPolicy": "enablePodSecurityPolicy", "dnsServiceIp": "dnsServiceIP",
    "podCidr": "podCidr", "serviceCidr": "serviceCidr", "nodePublicIpPrefixId": "nodePublicIPPrefixID",
    "vnetSubnetId": "vnetSubnetID", "podSubnetId": "podSubnetID", "enableNodePublicIp": "enableNodePublicIP",
    "proximityPlacementGroupId": "proximityPlacementGroupID", "hostGroupId": "hostGroupID",
}


def _rename(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {_RENAMES.get(k, k): _rename(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_rename(v) for v in obj]
    return obj


def managed_cluster_to_rest(body: dict[str, Any]) -> dict[str, Any]:
    """Return the ARM REST shape of a managed cluster given either shape."""
    if isinstance(body.get("properties"), dict):
        return body
    out: dict[str, Any] = {}
    props: dict[str, Any] = {}
    for k, v in body.items():
        if k in _CLI_ONLY:
            continue
        if k in _TOP_LEVEL:
            out[k] = v
        else:
            props[k] = v
    out["properties"] = _rename(props)
    out.setdefault("type", "Microsoft.ContainerService/managedClusters")
    return out


def issuer_of(mc: dict[str, Any] | None) -> str | None:
    if not mc:
        return None
    rest = managed_cluster_to_rest(mc)
    prof = (rest.get("properties") or {}).get("oidcIssuerProfile") or {}
    return prof.get("issuerURL") or prof.get("issuerUrl")


# -- cluster folders --------------------------------------------------------------------------
@dataclass
class ClusterSnapshot:
    name: str
    path: str
    managed_cluster: dict[str, Any] | None
    kube: dict[str, list[dict[str, Any]]]      # plural -> objects (kind/apiVersion filled in)
    vmss: list[dict[str, Any]]
    kube_files: set[str] = field(default_factory=set)

    @property
    def issuer(self) -> str | None:
        return issuer_of(self.managed_cluster)


def _normalise(plural: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    t = by_plural(plural)
    out = []
    for it in items:
        if not isinstance(it, dict):
            continue
        if t is not None:
            if not it.get("kind") or not it.get("apiVersion"):
                it = {"apiVersion": t.api_version, "kind": t.kind, **it}
        out.append(it)
    return out


_CACHE: dict[str, ClusterSnapshot] = {}
_CACHE_LOCK = threading.Lock()


def load_cluster(path: str, name: str | None = None, use_cache: bool = True) -> ClusterSnapshot:
    """Load ``<root>/<cluster>`` (cached by real path; treat the result as read-only)."""
    real = os.path.realpath(path)
    with _CACHE_LOCK:
        if use_cache and real in _CACHE:
            snap = _CACHE[real]
            return snap if name in (None, snap.name) else ClusterSnapshot(name, snap.path, snap.managed_cluster,
                                                                         snap.kube, snap.vmss, snap.kube_files)
    mc_path = os.path.join(real, "managedcluster.json")
    mc = read_json(mc_path) if os.path.exists(mc_path) else None
    kube: dict[str, list[dict[str, Any]]] = {}
    files: set[str] = set()
    kdir = os.path.join(real, "kube")
    if os.path.isdir(kdir):
        for fn in sorted(os.listdir(kdir)):
            if not fn.endswith(".json"):
                continue
            plural = fn[:-5]
            files.add(plural)
            kube[plural] = _normalise(plural, list_items(read_json(os.path.join(kdir, fn))))
    vm_path = os.path.join(real, "vmss.json")
    vmss = list_items(read_json(vm_path)) if os.path.exists(vm_path) else []
    snap = ClusterSnapshot(name or os.path.basename(real), real, mc, kube, vmss, files)
    if use_cache:
        with _CACHE_LOCK:
            _CACHE[real] = snap
    return snap


@dataclass
class AzureSnapshot:
    identities: list[dict[str, Any]] = field(default_factory=list)
    federated_credentials: list[dict[str, Any]] = field(default_factory=list)
    role_assignments: list[dict[str, Any]] = field(default_factory=list)


def load_azure(root: str, directory: str | None = None) -> AzureSnapshot:
    """``<root>/azure/*.json`` (or the files in ``directory``)."""
    d = directory or os.path.join(root, "azure")
    out = AzureSnapshot()
    for attr, fn in (("identities", "identities.json"), ("federated_credentials", "federatedIdentityCredentials.json"),
                     ("role_assignments", "roleAssignments.json")):
        p = os.path.join(d, fn)
        if os.path.exists(p):
            setattr(out, attr, list_items(read_json(p)))
    return out


# -- fleet.yaml ---------------------------------------------------------------------------------
@dataclass
class FleetEntry:
    name: str
    region: str | None
    subscription_id: str | None
    resource_group: str | None
    group: str | None
    snapshot: str | None          # absolute path of the cluster folder (<root>/<cluster>)
    root: str | None              # absolute path of the snapshot root (holds azure/)
    raw: dict[str, Any]
    tenant_id: str | None = None  # fleet-level ``tenantId``
    azure_dir: str | None = None  # fleet-level ``azure.snapshot`` folder, else ``<root>/azure``


def _pick(d: dict[str, Any], *names: str) -> Any:
    for n in names:
        if n in d:
            return d[n]
    return None


def load_fleet(path: str) -> list[FleetEntry]:
    """Parse fleet.yaml (a list, or a mapping with ``clusters:``, optional ``tenantId`` and
    ``azure: {snapshot: <folder>}``).  ``snapshot`` may name the cluster folder or the snapshot root
    (then ``<root>/<name>`` is used)."""
    import yaml

    with open(path) as fh:
        doc = yaml.safe_load(fh)
    items = doc.get("clusters", []) if isinstance(doc, dict) else (doc or [])
    base = os.path.dirname(os.path.abspath(path))
    root_default = doc.get("snapshotRoot") or doc.get("snapshot_root") if isinstance(doc, dict) else None
    tenant = _pick(doc, "tenantId", "tenant_id", "tenant") if isinstance(doc, dict) else None
    azure_dir = None
    if isinstance(doc, dict) and isinstance(doc.get("azure"), dict) and doc["azure"].get("snapshot"):
        a = doc["azure"]["snapshot"]
        azure_dir = os.path.normpath(a if os.path.isabs(a) else os.path.join(base, a))
    out = []
    for it in items:
        name = it["name"]
        snap = _pick(it, "snapshot", "snapshotPath", "snapshot_path") or root_default
        folder = root = None
        if snap:
            p = snap if os.path.isabs(snap) else os.path.join(base, snap)
            p = os.path.normpath(p)
            if os.path.exists(os.path.join(p, "managedcluster.json")) or os.path.isdir(os.path.join(p, "kube")):
                folder, root = p, os.path.dirname(p)
            elif os.path.isdir(os.path.join(p, name)):
                folder, root = os.path.join(p, name), p
            else:
                folder, root = p, os.path.dirname(p)
        az = azure_dir or (os.path.join(root, "azure") if root else None)
        out.append(FleetEntry(name, _pick(it, "region", "location"), _pick(it, "subscriptionId", "subscription_id",
                                                                          "subscription"),
                              _pick(it, "resourceGroup", "resource_group"), _pick(it, "group"), folder, root, it,
                              tenant, az))
    return out
