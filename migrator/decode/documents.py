"""What a source hands the inventory builder: decoded documents per cluster and for Azure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from migrator.decode import arm_documents as arm


@dataclass(frozen=True, slots=True)
class ClusterDocuments:
    """Decoded items per kind plural; ``None`` where the kind was not captured."""

    kube: dict[str, tuple[Any, ...] | None]
    managed_cluster: arm.ManagedCluster | None
    scale_sets: tuple[arm.ScaleSet, ...] | None


@dataclass(frozen=True, slots=True)
class AzureDocuments:
    identities: tuple[arm.Identity, ...]
    credentials: tuple[arm.FederatedIdentityCredential, ...] | None
    role_assignments: tuple[arm.RoleAssignment, ...] | None
