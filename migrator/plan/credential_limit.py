"""Azure's credential limit, counted with the credentials that already exist.

Every credential already on an identity counts, stale and foreign ones included; the plan never
deletes any. Under ``reuse`` an identity that would go over the limit is blocked as a whole, with a
proposal naming the service accounts to move to a new identity (or the stale credentials to delete).
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.inventory.federation import is_aks_credential
from migrator.inventory.model import FederatedCredential
from migrator.limits import MAX_FEDERATED_CREDENTIALS_PER_IDENTITY
from migrator.plan.model import Classification


def classify(credential: FederatedCredential, needed: set[tuple[str, str]], fleet_issuers: set[str]
             ) -> Classification:
    """needed | stale | foreign | other (an AKS credential of a fleet cluster the plan does not need)."""
    if (credential.issuer, credential.subject) in needed:
        return "needed"
    if not is_aks_credential(credential):
        return "foreign"
    if credential.issuer not in fleet_issuers:
        return "stale"
    return "other"


@dataclass(frozen=True, slots=True)
class LimitCheck:
    existing: int
    to_create: int
    limit: int = MAX_FEDERATED_CREDENTIALS_PER_IDENTITY

    @property
    def total(self) -> int:
        return self.existing + self.to_create

    @property
    def over(self) -> bool:
        return self.total > self.limit

    @property
    def overflow(self) -> int:
        return max(0, self.total - self.limit)
