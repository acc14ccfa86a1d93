"""Link AzureIdentity objects to the Azure identities they name.

By resource ID, case-insensitively (ARM returns ``/resourceGroups/`` from some APIs and
``/resourcegroups/`` from others), falling back to the client ID.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from migrator.inventory.model import (
    AzureIdentity,
    AzureInventory,
    FederatedCredential,
    ManagedIdentity,
)


@dataclass(frozen=True)
class AzureIndex:
    azure: AzureInventory
    by_id: dict[str, ManagedIdentity] = field(default_factory=dict)
    by_client: dict[str, ManagedIdentity] = field(default_factory=dict)
    credentials: dict[str, tuple[FederatedCredential, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, azure: AzureInventory) -> AzureIndex:
        by_id = {i.key: i for i in azure.identities}
        by_client = {i.client_id.lower(): i for i in azure.identities if i.client_id}
        creds: dict[str, list[FederatedCredential]] = defaultdict(list)
        for c in azure.credentials or ():
            creds[c.identity_resource_id.lower()].append(c)
        return cls(azure, by_id, by_client, {k: tuple(v) for k, v in creds.items()})

    def find(self, identity: AzureIdentity) -> ManagedIdentity | None:
        if identity.resource_id:
            hit = self.by_id.get(identity.resource_id.strip().lower())
            if hit:
                return hit
        if identity.client_id:
            return self.by_client.get(identity.client_id.strip().lower())
        return None

    def credentials_of(self, identity: ManagedIdentity) -> tuple[FederatedCredential, ...]:
        return self.credentials.get(identity.key, ())
