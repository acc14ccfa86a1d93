"""Decode Azure Resource Manager documents: managed clusters, identities, credentials, scale sets.

Two shapes reach us for each: the REST body (``az rest``, the SDKs' wire JSON: ``properties`` holds
the resource's fields) and ``az ... -o json`` (the CLI flattens ``properties`` into the top level and
camelCases SDK attribute names, so ``issuerURL`` becomes ``issuerUrl``). Both are normalized to the
REST shape here and decoded once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import msgspec
from msgspec import Struct

from migrator.decode.kube_pages import json_error, too_deep
from migrator.errors import Location, SnapshotError

T = TypeVar("T")


class ArmIdentityRef(Struct, frozen=True):
    resourceId: str | None = None
    clientId: str | None = None
    objectId: str | None = None


class AddonPodIdentity(Struct, frozen=True):
    name: str = ""
    namespace: str = ""
    bindingSelector: str | None = None
    identity: ArmIdentityRef = ArmIdentityRef()
    provisioningState: str | None = None


class AddonException(Struct, frozen=True):
    name: str = ""
    namespace: str = ""
    podLabels: dict[str, str] | None = None


class PodIdentityProfile(Struct, frozen=True):
    enabled: bool | None = None
    userAssignedIdentities: list[AddonPodIdentity] | None = None
    userAssignedIdentityExceptions: list[AddonException] | None = None


class OidcIssuerProfile(Struct, frozen=True):
    enabled: bool | None = None
    issuerURL: str | None = None


class WorkloadIdentityProfile(Struct, frozen=True):
    enabled: bool | None = None


class SecurityProfile(Struct, frozen=True):
    workloadIdentity: WorkloadIdentityProfile | None = None


class AgentPool(Struct, frozen=True):
    name: str = ""
    osType: str | None = None


class ManagedClusterProperties(Struct, frozen=True):
    kubernetesVersion: str | None = None
    currentKubernetesVersion: str | None = None
    nodeResourceGroup: str | None = None
    fqdn: str | None = None
    podIdentityProfile: PodIdentityProfile | None = None
    oidcIssuerProfile: OidcIssuerProfile | None = None
    securityProfile: SecurityProfile | None = None
    identityProfile: dict[str, ArmIdentityRef] | None = None
    agentPoolProfiles: list[AgentPool] | None = None


class ManagedCluster(Struct, frozen=True):
    id: str | None = None
    name: str | None = None
    location: str | None = None
    properties: ManagedClusterProperties = ManagedClusterProperties()


class IdentityProperties(Struct, frozen=True):
    tenantId: str | None = None
    principalId: str | None = None
    clientId: str | None = None


class Identity(Struct, frozen=True):
    id: str = ""
    name: str = ""
    location: str | None = None
    properties: IdentityProperties = IdentityProperties()


class FicProperties(Struct, frozen=True):
    issuer: str = ""
    subject: str = ""
    audiences: list[str] | None = None


class FederatedIdentityCredential(Struct, frozen=True):
    id: str = ""
    name: str = ""
    properties: FicProperties = FicProperties()


class ScaleSetIdentity(Struct, frozen=True):
    type: str | None = None
    userAssignedIdentities: dict[str, dict[str, Any] | None] | None = None


class ScaleSet(Struct, frozen=True):
    id: str = ""
    name: str = ""
    tags: dict[str, str] | None = None
    identity: ScaleSetIdentity | None = None


class RoleAssignmentProperties(Struct, frozen=True):
    roleDefinitionId: str = ""
    principalId: str = ""
    scope: str = ""


class RoleAssignment(Struct, frozen=True):
    id: str = ""
    name: str = ""
    properties: RoleAssignmentProperties = RoleAssignmentProperties()


# Keys that only ever stand at the top level of an ARM resource (never inside ``properties``).
_ENVELOPE = {"id", "name", "type", "location", "tags", "identity", "sku", "etag", "eTag", "systemData",
             "extendedLocation", "kind", "resourceGroup"}
_CLUSTER_MARKERS = {"kubernetesVersion", "currentKubernetesVersion", "nodeResourceGroup", "agentPoolProfiles",
                    "fqdn", "dnsPrefix", "provisioningState"}


def _parse_json(data: bytes, origin: str, what: str) -> Any:
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise json_error(exc, data, origin, what=what) from None
    except RecursionError:
        raise too_deep(data, origin) from None


def _convert(doc: Any, type_: type[T], origin: str, what: str) -> T:
    try:
        return msgspec.convert(doc, type_)
    except msgspec.ValidationError as exc:
        raise SnapshotError(f"not {what}: {exc}", location=Location(Path(origin)),
                            hint=f"the file must hold {what} as az/ARM print it with -o json") from None


def _to_rest_shape(doc: dict[str, Any]) -> dict[str, Any]:
    """``az ... -o json`` output (flattened) to the REST shape (``properties`` nested)."""
    if isinstance(doc.get("properties"), dict):
        return doc
    rest = {k: v for k, v in doc.items() if k in _ENVELOPE}
    rest["properties"] = {k: v for k, v in doc.items() if k not in _ENVELOPE}
    return rest


def decode_managed_cluster(data: bytes, origin: str) -> ManagedCluster:
    what = "a managedCluster (ARM GET body or `az aks show -o json`)"
    doc = _parse_json(data, origin, what)
    if not isinstance(doc, dict):
        raise SnapshotError(f"expected {what}, found a JSON {type(doc).__name__}", location=Location(Path(origin)))
    if isinstance(doc.get("properties"), dict):
        shape = doc
    elif _CLUSTER_MARKERS & doc.keys():
        shape = _to_rest_shape(doc)
        oidc = shape["properties"].get("oidcIssuerProfile")
        if isinstance(oidc, dict) and "issuerUrl" in oidc and "issuerURL" not in oidc:
            shape["properties"]["oidcIssuerProfile"] = {**oidc, "issuerURL": oidc["issuerUrl"]}
    else:
        raise SnapshotError(
            f"neither shape of {what}: no 'properties' object and none of "
            f"{', '.join(sorted(_CLUSTER_MARKERS))} at the top level",
            location=Location(Path(origin)),
            hint="export it with: az aks show -g <resource-group> -n <cluster> -o json > managedcluster.json",
        )
    return _convert(shape, ManagedCluster, origin, what)


def decode_arm_list(data: bytes, origin: str, item_type: type[T], what: str) -> tuple[T, ...]:
    """An ARM list (``{"value": [...]}``) or ``az`` output (a bare array), items in either shape."""
    doc = _parse_json(data, origin, f"a list of {what}")
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        items = doc["value"]
    elif isinstance(doc, list):
        items = doc
    else:
        raise SnapshotError(
            f"expected a list of {what}: an ARM list ({{\"value\": [...]}}) or a JSON array",
            location=Location(Path(origin)),
        )
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise SnapshotError(f"item {index} is not an object", location=Location(Path(origin)))
        out.append(_convert(_to_rest_shape(item), item_type, origin, f"a list of {what} (item {index})"))
    return tuple(out)
