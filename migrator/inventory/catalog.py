"""The catalog: the fleet's inventory resolved, what reports, findings and the planner read. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from migrator.inventory.link import AzureIndex
from migrator.inventory.model import FleetInventory
from migrator.inventory.resolve import ClusterResolution, Use, resolve


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
