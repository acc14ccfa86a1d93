"""Generated fleets for plan tests: documents built per cluster, Azure as domain objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from migrator.decode.arm_documents import decode_managed_cluster
from migrator.decode.documents import ClusterDocuments
from migrator.decode.kube_pages import decode_page
from migrator.fleet import ClusterSpec
from migrator.inventory.build import build_cluster
from migrator.inventory.catalog import Catalog, catalog
from migrator.inventory.model import (
    AzureInventory,
    FederatedCredential,
    FleetInventory,
    ManagedIdentity,
    RoleAssignment,
)
from migrator.kinds import KINDS
from tests.catalog.docs import api_list, binding, controller, identity

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def rid(name: str) -> str:
    return f"/subscriptions/sub/resourceGroups/rg-ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"


@dataclass(frozen=True)
class Work:
    """One workload: its namespace, service account, and the identity (by name) it is bound to."""

    namespace: str
    name: str
    sa: str
    identity: str


@dataclass(frozen=True)
class FleetSpec:
    clusters: tuple[tuple[str, str], ...]  # (name, group)
    works: tuple[tuple[str, Work], ...]  # (cluster, workload)
    existing: tuple[tuple[str, str, str], ...] = ()  # (identity, issuer, subject)
    issuerless: frozenset[str] = frozenset()


def issuer(cluster: str) -> str:
    return f"https://westeurope.oic.prod-aks.azure.com/{TENANT}/{cluster}/"


def _cluster_inventory(name: str, group: str, works: list[Work], has_issuer: bool):
    identities = sorted({w.identity for w in works})
    namespaces = sorted({w.namespace for w in works})
    kinds = {p: [] for p in KINDS}
    for ns in namespaces:
        for ident in identities:
            kinds["azureidentities"].append(identity(ns, ident, resource_id=rid(ident), client_id=f"client-{ident}"))
            kinds["azureidentitybindings"].append(binding(ns, f"{ident}-binding", ident, f"sel-{ident}"))
    for w in works:
        kinds["deployments"].append(controller("Deployment", w.namespace, w.name, selector=f"sel-{w.identity}", sa=w.sa))
    mc = {"id": f"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}",
          "name": name, "location": "westeurope",
          "properties": {"kubernetesVersion": "1.30.0",
                         "oidcIssuerProfile": {"enabled": has_issuer, **({"issuerURL": issuer(name)} if has_issuer else {})},
                         "securityProfile": {"workloadIdentity": {"enabled": True}}}}
    kube = {p: decode_page(p, api_list(KINDS[p].kind, items), origin=p).items for p, items in kinds.items()}
    spec = ClusterSpec(name=name, region="westeurope", subscription_id="sub", resource_group="rg", group=group,
                       snapshot=Path("x"))
    return build_cluster(spec, ClusterDocuments(kube, decode_managed_cluster(json.dumps(mc).encode(), "mc"), ()))


def build_catalog(spec: FleetSpec) -> Catalog:
    per_cluster: dict[str, list[Work]] = {c: [] for c, _ in spec.clusters}
    for cluster, work in spec.works:
        per_cluster[cluster].append(work)
    clusters = tuple(_cluster_inventory(c, g, per_cluster[c], c not in spec.issuerless) for c, g in spec.clusters)
    names = sorted({w.identity for _, w in spec.works} | {e[0] for e in spec.existing})
    azure = AzureInventory(
        identities=tuple(ManagedIdentity(rid(n), n, "sub", "rg-ids", "westeurope", f"client-{n}", f"principal-{n}",
                                         TENANT) for n in names),
        credentials=tuple(FederatedCredential(rid(i), _existing_name(i, iss, sub), iss, sub,
                                              ("api://AzureADTokenExchange",)) for i, iss, sub in spec.existing),
        role_assignments=tuple(RoleAssignment(f"principal-{n}", "/providers/Microsoft.Authorization/roleDefinitions/r",
                                              f"/subscriptions/sub/resourceGroups/data-{n}", f"ra-{n}") for n in names),
    )
    return catalog(FleetInventory(TENANT, tuple(sorted(clusters, key=lambda c: c.name)), (), azure))


def _existing_name(identity_name: str, issuer_url: str, subject: str) -> str:
    """A name of its own content: shuffling the input must not rename anything."""
    import hashlib

    return "existing-" + hashlib.sha256(f"{identity_name}|{issuer_url}|{subject}".encode()).hexdigest()[:10]


_word = st.sampled_from(["a", "b", "pay", "orders", "x-1", "shared"])


@st.composite
def fleets(draw, min_clusters: int = 1, max_clusters: int = 6) -> FleetSpec:
    n = draw(st.integers(min_clusters, max_clusters))
    groups = draw(st.sampled_from([("g1",), ("g1", "g2")]))
    clusters = tuple((f"aks-{i:02d}", groups[i % len(groups)]) for i in range(n))
    works = []
    for cname, _ in clusters:
        for k in range(draw(st.integers(0, 4))):
            works.append((cname, Work(draw(_word), f"w{k}-{draw(_word)}", draw(st.sampled_from(["default", "sa1", "sa2"])),
                                      draw(st.sampled_from(["id-a", "id-b", "id-c"])))))
    # de-duplicate workload names per (cluster, namespace): a name identifies a workload
    seen, unique = set(), []
    for c, w in works:
        if (c, w.namespace, w.name) not in seen:
            seen.add((c, w.namespace, w.name))
            unique.append((c, w))
    existing = tuple(draw(st.lists(st.tuples(st.sampled_from(["id-a", "id-b", "id-c"]),
                                             st.sampled_from([issuer("aks-00"), "https://token.actions.githubusercontent.com",
                                                              issuer("gone")]),
                                             st.sampled_from(["system:serviceaccount:a:sa1", "repo:x/y:ref:main"])),
                                   max_size=25, unique=True)))
    issuerless = frozenset(c for c, _ in clusters if draw(st.booleans()) and draw(st.booleans()))
    return FleetSpec(clusters, tuple(unique), existing, issuerless)
