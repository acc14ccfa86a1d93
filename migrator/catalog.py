"""The catalog: read every cluster of the fleet and Azure, build the inventory, resolve it.

``read_inventory`` is the I/O edge (it calls sources); ``catalog`` is pure over the inventory.
One cluster that cannot be read becomes a ``ClusterFailure`` and the rest completes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from migrator.errors import SourceError
from migrator.fleet import ClusterSpec, Fleet
from migrator.inventory.build import build_azure, build_cluster
from migrator.inventory.link import AzureIndex
from migrator.inventory.model import AzureInventory, ClusterFailure, ClusterInventory, FleetInventory
from migrator.inventory.resolve import ClusterResolution, Use, resolve
from migrator.sources import AzureSource, ClusterSource
from migrator.sources.snapshot import SnapshotAzureSource, SnapshotClusterSource

ClusterSourceFactory = Callable[[Fleet, ClusterSpec], ClusterSource]


def snapshot_source(fleet: Fleet, spec: ClusterSpec) -> ClusterSource:
    if spec.snapshot is None:
        raise SourceError(
            f"cluster '{spec.name}' has no snapshot folder, and live cluster sources are not available in this build",
            hint="export the cluster to a snapshot folder (docs/snapshots.md) and set 'snapshot:'",
        )
    return SnapshotClusterSource(fleet.resolve(spec.snapshot))


def read_inventory(fleet: Fleet, source_for: ClusterSourceFactory = snapshot_source,
                   azure_source: AzureSource | None = None) -> FleetInventory:
    """Read every cluster and Azure. ``SnapshotError`` (bad input) propagates; ``SourceError`` is data."""
    clusters: list[ClusterInventory] = []
    failures: list[ClusterFailure] = []
    for spec in fleet.clusters:
        try:
            docs = source_for(fleet, spec).read()
        except SourceError as exc:
            failures.append(ClusterFailure(spec.name, spec.region, spec.peer_group, exc.render()))
            continue
        clusters.append(build_cluster(spec, docs))

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
