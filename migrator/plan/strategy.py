"""Which identity each service account federates to: ``reuse`` or ``per-workload``.

``reuse`` (default): each workload keeps the user-assigned identity its binding used, so its role
assignments keep working; the identity gains one credential per (cluster, namespace, serviceaccount).

``per-workload``: one new user-assigned identity per logical workload of a peer group (the same
namespace and service account in each regional cluster, per old identity), federated to every
regional cluster, in the old identity's resource group and region, with the old identity's ARM
role assignments copied. A peer group larger than the credential limit is split, deterministically
(clusters sorted by name, in chunks of the limit), so no identity can go over it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from migrator.inventory.build import parse_identity_id
from migrator.inventory.link import AzureIndex
from migrator.inventory.model import AzureIdentity, IdentityType, ManagedIdentity
from migrator.limits import MAX_FEDERATED_CREDENTIALS_PER_IDENTITY
from migrator.plan.model import IdentityRef, NewIdentity, RoleGrant
from migrator.plan.names import identity_name


def canonical_identity_id(subscription: str, resource_group: str, name: str) -> str:
    return (f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")


def canonical(resource_id: str) -> str:
    parts = parse_identity_id(resource_id)
    return canonical_identity_id(*parts) if parts else resource_id


@dataclass(frozen=True, slots=True)
class Target:
    ref: IdentityRef | None
    azure: ManagedIdentity | None
    blocked: str | None = None


def reuse_target(identity: AzureIdentity, azure: AzureIndex | None) -> Target:
    """The identity a reused AzureIdentity stands for in Azure, or why it cannot be federated."""
    if identity.type in (IdentityType.SERVICE_PRINCIPAL, IdentityType.SERVICE_PRINCIPAL_CERTIFICATE):
        if not identity.client_id:
            return Target(None, None, "service principal AzureIdentity without a clientID")
        return Target(IdentityRef(resource_id=None, name=identity.name, client_id=identity.client_id,
                                  kind="app-registration"), None)
    if identity.type is IdentityType.UNKNOWN:
        return Target(None, None, f"AzureIdentity {identity.namespace}/{identity.name} has an unknown type")
    if azure is None:
        return Target(None, None, "Azure identities were not captured: cannot check the identity, its existing "
                                  "credentials or the limit (add an 'azure:' snapshot to the fleet file)")
    found = azure.find(identity)
    if found is None:
        return Target(None, None, f"identity {identity.resource_id or identity.client_id} of AzureIdentity "
                                  f"{identity.namespace}/{identity.name} is not in Azure (deleted, or another "
                                  "subscription)")
    rid = canonical(found.resource_id)
    return Target(IdentityRef(resource_id=rid, name=found.name, client_id=found.client_id), found)


@dataclass(frozen=True, slots=True)
class LogicalWorkload:
    group: str
    namespace: str
    service_account: str
    old: ManagedIdentity


def new_identities(logical: dict[LogicalWorkload, list[str]], azure: AzureIndex,
                   multiple_old: set[tuple[str, str, str]]) -> dict[tuple[LogicalWorkload, str], NewIdentity]:
    """(logical workload, cluster) -> the new identity that cluster's credential goes on."""
    roles = azure.azure.role_assignments
    out: dict[tuple[LogicalWorkload, str], NewIdentity] = {}
    for lw, clusters in sorted(logical.items(), key=lambda kv: (kv[0].group, kv[0].namespace,
                                                                kv[0].service_account, kv[0].old.key)):
        clusters = sorted(set(clusters))
        chunks = [clusters[i:i + MAX_FEDERATED_CREDENTIALS_PER_IDENTITY]
                  for i in range(0, len(clusters), MAX_FEDERATED_CREDENTIALS_PER_IDENTITY)]
        for index, chunk in enumerate(chunks):
            part_bits = []
            if (lw.group, lw.namespace, lw.service_account) in multiple_old:
                part_bits.append(lw.old.name)
            if len(chunks) > 1:
                part_bits.append(str(index + 1))
            name = identity_name(lw.group, lw.namespace, lw.service_account, "-".join(part_bits) or None)
            grants: tuple[RoleGrant, ...] = ()
            blocked = None
            if roles is None:
                blocked = ("role assignments were not captured (snapshots/azure/roleAssignments.json): a new "
                           "identity without its grants is useless")
            else:
                grants = tuple(sorted(
                    (RoleGrant(role_definition_id=r.role_definition_id, scope=r.scope,
                               from_identity=canonical(lw.old.resource_id))
                     for r in roles if lw.old.principal_id and r.principal_id == lw.old.principal_id),
                    key=lambda g: (g.scope, g.role_definition_id)))
            new = NewIdentity(
                name=name, resource_group=lw.old.resource_group, subscription_id=lw.old.subscription_id,
                location=lw.old.location,
                resource_id=canonical_identity_id(lw.old.subscription_id, lw.old.resource_group, name),
                replaces=(canonical(lw.old.resource_id),), role_assignments=grants, group=lw.group,
                namespace=lw.namespace, service_account=lw.service_account, clusters=tuple(chunk),
                blocked_reason=blocked,
            )
            for cluster in chunk:
                out[(lw, cluster)] = new
    return out


def group_logical(placed: Iterable[tuple[LogicalWorkload, str]]
                  ) -> tuple[dict[LogicalWorkload, list[str]], set[tuple[str, str, str]]]:
    """(logical workload, cluster) pairs -> each logical workload's clusters, and the (group, namespace,
    service account) triples that stand for more than one old identity."""
    logical: dict[LogicalWorkload, list[str]] = defaultdict(list)
    olds: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for lw, cluster in placed:
        logical[lw].append(cluster)
        olds[(lw.group, lw.namespace, lw.service_account)].add(lw.old.key)
    return dict(logical), {k for k, v in olds.items() if len(v) > 1}
