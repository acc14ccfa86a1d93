"""Drift between the peer clusters of a group (the regions' ad-hoc hot-fixes, side by side).

Each cluster's bindings are normalized to the uses they produce: (namespace, service account,
AzureIdentity name). Resource IDs are compared only where the group's clusters share identities:
with one identity per region, different IDs are by design, not drift.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import (
    BINDING_KINDS,
    TEMPLATE_KINDS,
    captured,
    emit,
)
from migrator.inventory.catalog import Catalog
from migrator.inventory.resolve import ClusterResolution

Entry = tuple[str, str, str]  # (namespace, service account, AzureIdentity name)


def _entries(r: ClusterResolution) -> dict[Entry, tuple[dict[str, str], set[str]]]:
    """Entry -> ({lower-cased resource ID: as written}, binding names) on one cluster."""
    out: dict[Entry, tuple[dict[str, str], set[str]]] = {}
    for u in r.uses:
        ids, bindings = out.setdefault((u.namespace, u.service_account, u.identity.name), ({}, set()))
        written = (u.identity.resource_id or u.identity.client_id or "").strip()
        ids.setdefault(written.lower(), written)
        bindings.update(f"{b.namespace}/{b.name}" for b in u.bindings)
    return out


def _short(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


@rule(
    "DRIFT_BETWEEN_PEERS", Severity.WARNING,
    title="Clusters of one group differ in their bindings",
    cause=("The clusters of a peer group (the fleet file's group: the same workloads in several regions) do not have "
           "the same (namespace, service account, AzureIdentity) bindings: someone hot-fixed one region and did not "
           "mirror it, or removed a binding in one only. Where the group's clusters share identities, a different "
           "identity resource ID is drift too."),
    risk=("Migrating as-is carries the drift into the federated credentials: one region keeps a workload's access, the "
          "other loses it (or gains an ad-hoc one) after cutover."),
    remediation=("Decide which side is right before planning: mirror the binding to the clusters that lack it, or "
                 "remove the ad-hoc one where it is."),
    references=(),
    needs=(*BINDING_KINDS, *TEMPLATE_KINDS),
)
def drift_between_peers(cat: Catalog) -> Iterator[Finding]:
    groups: dict[str, list[ClusterResolution]] = defaultdict(list)
    for r in cat.resolutions:
        if captured(r.cluster, *BINDING_KINDS, *TEMPLATE_KINDS):
            groups[r.cluster.group].append(r)
    for group, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        per = {r.cluster.name: _entries(r) for r in members}
        names = sorted(per)
        # does the group share identities? (one resource ID used under one identity name by two clusters or more)
        per_cluster = [{(e[2], rid) for e, (ids, _) in entries.items() for rid in ids if rid} for entries in per.values()]
        shared = any(n >= 2 for n in Counter(pair for pairs in per_cluster for pair in pairs).values())
        every = sorted({e for entries in per.values() for e in entries})
        for entry in every:
            ns, sa, identity = entry
            having = [c for c in names if entry in per[c]]
            lacking = [c for c in names if entry not in per[c]]
            source = having[0]
            bindings = ", ".join(sorted(per[source][entry][1]))
            for c in lacking:
                yield emit("DRIFT_BETWEEN_PEERS", c, ns, f"ServiceAccount/{sa}",
                           f"Peers {', '.join(having)} of group {group} bind {ns}/{sa} to AzureIdentity {identity}; this "
                           f"cluster does not.",
                           f"Decide which side is right before planning: mirror AzureIdentityBinding {bindings} from "
                           f"{source} here, or remove it from {', '.join(having)} if it was an ad-hoc fix.")
            if not shared or len(having) < 2:
                continue
            ids = {c: frozenset(per[c][entry][0]) for c in having}
            written = {k: v for c in having for k, v in per[c][entry][0].items()}
            counts = Counter(ids.values())
            if len(counts) < 2:
                continue
            majority = counts.most_common(1)[0][0]
            peers = [c for c in having if ids[c] == majority]
            for c in having:
                if ids[c] == majority:
                    continue
                yield emit("DRIFT_BETWEEN_PEERS", c, ns, f"ServiceAccount/{sa}",
                           f"{ns}/{sa} → AzureIdentity {identity} points at "
                           f"{', '.join(sorted(_short(written[k]) for k in ids[c]))} here but at "
                           f"{', '.join(sorted(_short(written[k]) for k in majority))} on {', '.join(peers)} "
                           f"(group {group} shares identities).",
                           f"Point AzureIdentity {identity} here at the identity the peers use, or record why this "
                           f"cluster differs before planning.")
