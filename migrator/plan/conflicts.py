"""Conflicts between workloads, identities and service accounts, and the remedy for each.

* A service account used by workloads bound to different identities can name only one default
  client ID. Remedy ``split``: the largest group keeps the service account, the other workloads
  get one of their own. Remedy ``client-id-env``: the service account is federated to every
  identity and the other workloads set ``AZURE_CLIENT_ID`` explicitly (the webhook never
  overwrites a value a container sets).
* A workload matched by several identities gets the primary one on its service account: the
  binding with the highest ``weight`` wins (AAD Pod Identity's own tie-breaker), then the
  identity's namespace/name. The others stay federated; its code must request them by client ID.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from migrator.inventory.model import AzureIdentity, Binding, ObjectRef
from migrator.inventory.resolve import ClusterResolution, Use
from migrator.plan.names import service_account_name

IdentityKey = tuple[str, str]  # (namespace, name) of the AzureIdentity in its cluster


@dataclass(frozen=True, slots=True)
class Assignment:
    """After conflicts: one service account of one cluster, the workloads on it, their identities."""

    cluster: str
    namespace: str
    service_account: str
    identities: tuple[AzureIdentity, ...]  # primary first
    workloads: tuple[ObjectRef, ...]
    bindings: tuple[ObjectRef, ...]
    created: bool = False  # a new service account split off a shared one
    previous_service_account: str | None = None
    client_id_env: dict[ObjectRef, AzureIdentity] | None = None  # explicit AZURE_CLIENT_ID per workload

    @property
    def primary(self) -> AzureIdentity:
        return self.identities[0]


@dataclass(frozen=True, slots=True)
class Conflict:
    cluster: str
    namespace: str
    service_account: str
    message: str
    kind: str  # shared-service-account | multiple-identities


def _weights(resolution: ClusterResolution) -> dict[tuple[str, str], int]:
    return {(m.binding.namespace, m.binding.name): m.binding.weight or 0 for m in resolution.bindings}


def primary_order(identities: list[AzureIdentity], bindings_of: Mapping[IdentityKey, Sequence[Binding | ObjectRef]],
                  weights: Mapping[tuple[str, str], int]) -> list[AzureIdentity]:
    def key(identity: AzureIdentity) -> tuple[int, str, str]:
        refs = bindings_of.get((identity.namespace, identity.name), [])
        weight = max((weights.get((r.namespace, r.name), 0) for r in refs), default=0)
        return (-weight, identity.namespace, identity.name)

    return sorted(identities, key=key)


def assign(resolution: ClusterResolution, remedy: str, taken_names: dict[str, set[str]]
           ) -> tuple[list[Assignment], list[Conflict]]:
    """Resolve a cluster's uses into assignments under ``remedy`` (``split`` or ``client-id-env``)."""
    cluster = resolution.cluster.name
    weights = _weights(resolution)
    # (namespace, sa) -> workload -> [Use]
    per_sa: dict[tuple[str, str], dict[ObjectRef, list[Use]]] = defaultdict(lambda: defaultdict(list))
    for use in resolution.uses:
        for w in use.workloads:
            per_sa[(use.namespace, use.service_account)][w].append(use)

    assignments: list[Assignment] = []
    conflicts: list[Conflict] = []
    for (ns, sa), by_workload in sorted(per_sa.items()):
        # each workload's identities, primary first
        ordered: dict[ObjectRef, list[AzureIdentity]] = {}
        bindings: dict[ObjectRef, set[ObjectRef]] = {}
        for w, uses in sorted(by_workload.items()):
            bindings_of: dict[IdentityKey, list[ObjectRef]] = defaultdict(list)
            for u in uses:
                bindings_of[(u.identity.namespace, u.identity.name)].extend(u.bindings)
            ordered[w] = primary_order([u.identity for u in uses], bindings_of, weights)
            bindings[w] = {b for u in uses for b in u.bindings}
            if len(ordered[w]) > 1:
                conflicts.append(Conflict(cluster, ns, sa, (
                    f"{w} is matched by {len(ordered[w])} identities; its service account names the primary "
                    f"{ordered[w][0].namespace}/{ordered[w][0].name}, the others must be requested by client ID"),
                    "multiple-identities"))
        # groups of workloads with the same identity set
        groups: dict[tuple[IdentityKey, ...], list[ObjectRef]] = defaultdict(list)
        for w, ids in ordered.items():
            groups[tuple((i.namespace, i.name) for i in ids)].append(w)
        ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
        _, keeper_workloads = ranked[0]

        def ids_of(workloads: list[ObjectRef], ordered: dict[ObjectRef, list[AzureIdentity]] = ordered
                   ) -> tuple[AzureIdentity, ...]:
            return tuple(ordered[workloads[0]])

        def refs(workloads: list[ObjectRef], bindings: dict[ObjectRef, set[ObjectRef]] = bindings
                 ) -> tuple[ObjectRef, ...]:
            return tuple(sorted({b for w in workloads for b in bindings[w]}))

        if len(ranked) == 1:
            assignments.append(Assignment(cluster, ns, sa, ids_of(keeper_workloads), tuple(sorted(keeper_workloads)),
                                          refs(keeper_workloads)))
            continue
        others = [w for _, ws in ranked[1:] for w in ws]
        conflicts.append(Conflict(cluster, ns, sa, (
            f"service account {ns}/{sa} is used by workloads bound to different identities "
            f"({', '.join(sorted({f'{i[0]}/{i[1]}' for key, _ in ranked for i in key}))}); remedy: {remedy}"),
            "shared-service-account"))
        if remedy == "split":
            assignments.append(Assignment(cluster, ns, sa, ids_of(keeper_workloads), tuple(sorted(keeper_workloads)),
                                          refs(keeper_workloads)))
            taken = taken_names.setdefault(ns, set())
            taken.add(sa)
            for w in sorted(others):
                new_sa = service_account_name(w.name, taken)
                taken.add(new_sa)
                assignments.append(Assignment(cluster, ns, new_sa, ids_of([w]), (w,), refs([w]), created=True,
                                              previous_service_account=sa))
        else:
            all_ids: dict[IdentityKey, AzureIdentity] = {}
            for ws in (keeper_workloads, *[ws for _, ws in ranked[1:]]):
                for i in ids_of(ws):
                    all_ids.setdefault((i.namespace, i.name), i)
            primary = ids_of(keeper_workloads)
            rest = [i for k, i in sorted(all_ids.items()) if k not in {(p.namespace, p.name) for p in primary}]
            env = {w: ordered[w][0] for w in others}
            workloads = tuple(sorted([*keeper_workloads, *others]))
            assignments.append(Assignment(cluster, ns, sa, (*primary, *rest), workloads, refs(list(workloads)),
                                          client_id_env=env))
    return assignments, conflicts
