"""The catalog: read every cluster of the fleet and Azure, build the inventory, resolve it.

``read_inventory`` is the I/O edge (it calls sources); ``catalog`` is pure over the inventory.
One cluster that cannot be read becomes a ``ClusterFailure`` and the rest completes.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from migrator import collector
from migrator.errors import SourceError
from migrator.fleet import ClusterSpec, Fleet
from migrator.inventory.build import SharedValues, build_azure, build_cluster
from migrator.inventory.link import AzureIndex
from migrator.inventory.model import (
    AzureInventory,
    ClusterFailure,
    ClusterInventory,
    FleetInventory,
)
from migrator.inventory.resolve import ClusterResolution, Use, resolve
from migrator.sources import AzureSource, ClusterSource
from migrator.sources.snapshot import SnapshotAzureSource, SnapshotClusterSource

if TYPE_CHECKING:
    from migrator.sources.live import LiveFleetReader

ClusterSourceFactory = Callable[[Fleet, ClusterSpec], ClusterSource]


def _subscriptions(fleet: Fleet, clusters: list[ClusterInventory]) -> list[str]:
    """The fleet's subscriptions and those its AzureIdentity objects point into."""
    from migrator.inventory.build import parse_identity_id

    subs = {c.subscription_id for c in fleet.clusters}
    for c in clusters:
        idents = list(c.identities or ()) + list(c.facts.addon.identities if c.facts else ())
        for i in idents:
            parts = parse_identity_id(i.resource_id or "")
            if parts:
                subs.add(parts[0])
    return sorted(subs)


def snapshot_source(fleet: Fleet, spec: ClusterSpec) -> ClusterSource:
    assert spec.snapshot is not None
    return SnapshotClusterSource(fleet.resolve(spec.snapshot))


async def _build_as_read(live: LiveFleetReader, specs: list[ClusterSpec], clusters: list[ClusterInventory],
                         failures: list[ClusterFailure], shared_values: SharedValues) -> None:
    """Build each cluster's inventory as soon as its read completes, then let its documents go.

    Only the clusters in flight hold decoded documents (about 15 MB for 2,000 pods); the fleet keeps
    just the inventories, and building overlaps the other clusters' network waits.

    The cyclic garbage collector has nothing to find in a build (it makes trees), so it is paused
    while one runs; each built inventory is then frozen out of its sight (``gc.freeze``): it lives
    until the process ends and holds no cycles, yet every full collection walked every pod of every
    cluster built so far (60 s of a 1,000-cluster catalog). Frozen objects are still freed by
    reference counting when they go.
    """
    async for read in live.stream_clusters(specs):
        if read.error is not None or read.documents is None:
            reason = read.error.render() if read.error else "not read"
            failures.append(ClusterFailure(read.spec.name, read.spec.region, read.spec.peer_group, reason))
        else:
            with collector.paused():
                clusters.append(build_cluster(read.spec, read.documents, shared_values))
        read.documents = None
        gc.freeze()


def read_inventory(fleet: Fleet, source_for: ClusterSourceFactory = snapshot_source,
                   azure_source: AzureSource | None = None, live: LiveFleetReader | None = None,
                   live_azure: Callable[[list[str]], AzureSource] | None = None) -> FleetInventory:
    """Read every cluster and Azure. ``SnapshotError`` (bad input) propagates; ``SourceError`` is data.

    Snapshot clusters are read from their folders; the others through ``live`` (concurrently, each
    with its deadline). ``live_azure`` builds the live Azure source for the subscriptions the fleet
    and its AzureIdentity objects name.
    """
    clusters: list[ClusterInventory] = []
    failures: list[ClusterFailure] = []
    shared_values: SharedValues = {}  # one table for the catalog: equal values of its clusters kept once
    live_specs = []
    for spec in fleet.clusters:
        if spec.snapshot is None:
            live_specs.append(spec)
            continue
        try:
            docs = source_for(fleet, spec).read()
        except SourceError as exc:
            failures.append(ClusterFailure(spec.name, spec.region, spec.peer_group, exc.render()))
            continue
        clusters.append(build_cluster(spec, docs, shared_values))
    if live_specs:
        if live is None:
            for spec in live_specs:
                failures.append(ClusterFailure(spec.name, spec.region, spec.peer_group,
                                               "no snapshot folder and no live access configured"))
        else:
            asyncio.run(_build_as_read(live, live_specs, clusters, failures, shared_values))
    if azure_source is None and live_azure is not None:
        azure_source = live_azure(_subscriptions(fleet, clusters))

    azure: AzureInventory | None = None
    azure_failure: str | None = None
    if azure_source is None and fleet.azure is not None and fleet.azure.snapshot is not None:
        azure_source = SnapshotAzureSource(fleet.resolve(fleet.azure.snapshot))
    if azure_source is not None:
        try:
            azure = build_azure(azure_source.read())
        except SourceError as exc:
            azure_failure = exc.render()
    elif fleet.azure is None:
        azure_failure = "no 'azure:' section in the fleet file: identities and federated credentials were not read"
    return FleetInventory(
        tenant_id=fleet.tenant_id,
        clusters=tuple(sorted(clusters, key=lambda c: c.name)),
        failures=tuple(sorted(failures, key=lambda f: f.name)),
        azure=azure,
        azure_failure=azure_failure,
    )


@dataclass(frozen=True, slots=True)
class Catalog:
    """The inventory, resolved: what the reports, findings and planner read."""

    inventory: FleetInventory
    resolutions: tuple[ClusterResolution, ...]
    azure: AzureIndex | None

    @property
    def uses(self) -> tuple[Use, ...]:
        return tuple(u for r in self.resolutions for u in r.uses)


def catalog(inventory: FleetInventory) -> Catalog:
    return Catalog(
        inventory=inventory,
        resolutions=tuple(resolve(c) for c in inventory.clusters),
        azure=AzureIndex.of(inventory.azure) if inventory.azure is not None else None,
    )
