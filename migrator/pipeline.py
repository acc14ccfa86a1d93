"""The one read path every command shares: fleet file → access → read → inventory → catalog → findings.

``read_fleet`` does it once and returns everything the commands need (``FleetRun``), so a command
that both plans and reports (``render --fleet``) reads each cluster once and cannot disagree with
itself. ``read_inventory`` is the I/O edge: it calls the sources and builds each cluster's inventory
as its read completes. One cluster that cannot be read becomes a ``ClusterFailure`` and the rest
completes.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator import collector
from migrator.errors import InputError, SourceError
from migrator.findings.ignore import apply_ignores
from migrator.findings.model import Finding
from migrator.findings.registry import all_rules, run_rules
from migrator.fleet import ClusterSpec, Fleet, load_fleet
from migrator.inventory.build import SharedValues, build_azure, build_cluster, parse_identity_id
from migrator.inventory.catalog import Catalog, catalog
from migrator.inventory.model import AzureInventory, ClusterFailure, ClusterInventory, FleetInventory
from migrator.sources import AzureSource, ClusterSource
from migrator.sources.access import LiveSettings, live_access
from migrator.sources.snapshot import SnapshotAzureSource, SnapshotClusterSource

if TYPE_CHECKING:
    from migrator.sources.live import LiveFleetReader

ClusterSourceFactory = Callable[[Fleet, ClusterSpec], ClusterSource]


@dataclass(frozen=True, slots=True)
class FleetRun:
    """One read of a fleet, judged: what catalog, plan, render and snapshot consume."""

    fleet: Fleet
    catalog: Catalog
    findings: tuple[Finding, ...]  # after ignores
    ignored: int  # how many findings --ignore and the fleet file's ignores silenced

    @property
    def inventory(self) -> FleetInventory:
        return self.catalog.inventory

    @property
    def partial(self) -> bool:
        """Some clusters could not be read (exit 3)."""
        return bool(self.catalog.inventory.failures)


def check_ignores(ignore: frozenset[str]) -> None:
    unknown = sorted(ignore - set(all_rules()))
    if unknown:
        raise InputError(f"unknown finding code(s) for --ignore: {', '.join(unknown)}",
                         hint="run 'migrate explain' to list the codes")


def read_fleet(fleet_path: Path, *, live: LiveSettings | None = None, ignore: frozenset[str] = frozenset(),
               **hooks: Any) -> FleetRun:
    """Load the fleet file, read every cluster and Azure once, resolve, judge.

    ``hooks`` go to the live readers (``migrate snapshot`` keeps the raw documents through them).
    """
    fleet = load_fleet(fleet_path)
    check_ignores(ignore)
    reader, azure_factory = live_access(fleet, live or LiveSettings(), **hooks)
    resolved = catalog(read_inventory(fleet, live=reader, live_azure=azure_factory))
    kept, ignored = apply_ignores(run_rules(resolved), ignore, fleet.ignore)
    return FleetRun(fleet, resolved, kept, ignored)


def _subscriptions(fleet: Fleet, clusters: list[ClusterInventory]) -> list[str]:
    """The fleet's subscriptions and those its AzureIdentity objects point into."""
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
