"""AAD Pod Identity custom resources: fold every spelling of their spec keys, then convert.

Go's encoding/json matched keys case-insensitively, so controllers before v1.6 accepted
``ResourceID`` (old docs), ``resourceid`` (old json tags) and ``resourceID`` alike; v1.6 and later
decode case-sensitively and honour only the camelCase tags. We read every spelling, and record
which objects depend on a non-camelCase key (they are ignored by v1.6+ controllers).
"""

from __future__ import annotations

from typing import Any

from migrator.decode.structs import Custom
from migrator.inventory.model import (
    AssignedIdentity,
    AzureIdentity,
    Binding,
    IdentityType,
    Origin,
    PodIdentityException,
    Schema,
    labels_of,
)

_CAMEL = {
    k.lower(): k
    for k in (
        "type", "resourceID", "clientID", "clientPassword", "tenantID", "adResourceID", "adEndpoint",
        "auxiliaryTenantIDs", "replicas", "azureIdentity", "selector", "weight", "podLabels",
        "azureIdentityRef", "azureBindingRef", "pod", "podNamespace", "nodename",
    )
}

#: the keys without which a controller cannot use the object
_ESSENTIAL = {
    "AzureIdentity": ("resourceid", "clientid", "tenantid", "clientpassword"),
    "AzureIdentityBinding": ("azureidentity", "selector"),
    "AzurePodIdentityException": ("podlabels",),
}

BEHAVIOR_ANNOTATION = "aadpodidentity.k8s.io/Behavior"


#: the label AKS puts on what an add-on runs or creates (the pod-identity add-on's NMI, its AzureIdentity
#: and AzureIdentityBinding objects)
AKS_MANAGED_LABEL = "kubernetes.azure.com/managedby"


def managed_by(doc: Custom) -> str:
    """Who applied the object: the AKS add-on, a Helm release, or kubectl/GitOps manifests."""
    labels = doc.metadata.labels or {}
    annotations = doc.metadata.annotations or {}
    if (labels.get(AKS_MANAGED_LABEL) or "").lower() == "aks":
        return "add-on"
    if (labels.get("app.kubernetes.io/managed-by") or "").lower() == "helm" or "meta.helm.sh/release-name" in annotations:
        return "helm"
    return "manifest"


def fold(spec: dict[str, Any] | None) -> tuple[dict[str, Any], tuple[str, ...], frozenset[str]]:
    """Spec keys lower-cased; the non-camelCase keys seen; the lower keys present only in legacy form.

    When one key appears in two spellings, the camelCase one wins (it is what v1.6+ reads).
    """
    folded: dict[str, Any] = {}
    legacy: list[str] = []
    camel_present: set[str] = set()
    for key, value in (spec or {}).items():
        lower = key.lower()
        canonical = _CAMEL.get(lower, key)
        if key == canonical:
            camel_present.add(lower)
            folded[lower] = value
        else:
            legacy.append(key)
            folded.setdefault(lower, value)
    legacy_only = frozenset(k.lower() for k in legacy) - camel_present
    return folded, tuple(sorted(legacy)), legacy_only


def _schema(kind: str, legacy_only: frozenset[str]) -> Schema:
    return Schema.LEGACY if legacy_only & set(_ESSENTIAL.get(kind, ())) else Schema.CAMEL


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def identity_type(value: Any) -> IdentityType:
    """``type`` is an integer in the schema, but schema-less CRDs stored strings too."""
    if isinstance(value, bool):
        return IdentityType.UNKNOWN
    if isinstance(value, int):
        return IdentityType(value) if value in (0, 1, 2) else IdentityType.UNKNOWN
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return identity_type(int(text))
        by_name = {"userassignedmsi": 0, "serviceprincipal": 1, "serviceprincipalcertificate": 2}
        if text.lower() in by_name:
            return IdentityType(by_name[text.lower()])
    if value is None:
        return IdentityType.USER_ASSIGNED_MSI  # Go's zero value
    return IdentityType.UNKNOWN


def parse_identity(doc: Custom) -> AzureIdentity:
    spec, legacy, legacy_only = fold(doc.spec)
    secret = spec.get("clientpassword")
    secret_ref = None
    if isinstance(secret, dict):
        s_fold = {str(k).lower(): v for k, v in secret.items()}
        if s_fold.get("name"):
            secret_ref = (str(s_fold.get("namespace") or doc.metadata.namespace), str(s_fold["name"]))
    annotations = doc.metadata.annotations or {}
    return AzureIdentity(
        namespace=doc.metadata.namespace,
        name=doc.metadata.name,
        type=identity_type(spec.get("type")),
        resource_id=_str(spec.get("resourceid")) or None,
        client_id=_str(spec.get("clientid")) or None,
        tenant_id=_str(spec.get("tenantid")) or None,
        secret_ref=secret_ref,
        namespaced=(annotations.get(BEHAVIOR_ANNOTATION) or "").lower() == "namespaced",
        schema=_schema("AzureIdentity", legacy_only),
        origin=Origin.CRD,
        legacy_keys=legacy,
        managed_by=managed_by(doc),
    )


def parse_binding(doc: Custom) -> Binding:
    spec, legacy, legacy_only = fold(doc.spec)
    weight = spec.get("weight")
    return Binding(
        namespace=doc.metadata.namespace,
        name=doc.metadata.name,
        identity_name=_str(spec.get("azureidentity")) or None,
        selector=_str(spec.get("selector")) or None,
        weight=weight if isinstance(weight, int) and not isinstance(weight, bool) else None,
        schema=_schema("AzureIdentityBinding", legacy_only),
        origin=Origin.CRD,
        legacy_keys=legacy,
        managed_by=managed_by(doc),
    )


def parse_exception(doc: Custom) -> PodIdentityException:
    spec, _, legacy_only = fold(doc.spec)
    labels = spec.get("podlabels")
    pod_labels = labels_of({str(k): _str(v) for k, v in labels.items()}) if isinstance(labels, dict) else ()
    return PodIdentityException(
        namespace=doc.metadata.namespace,
        name=doc.metadata.name,
        pod_labels=pod_labels,
        schema=_schema("AzurePodIdentityException", legacy_only),
        origin=Origin.CRD,
    )


def parse_assigned(doc: Custom) -> AssignedIdentity:
    spec, _, _ = fold(doc.spec)

    def ref_name(value: Any) -> str | None:
        if isinstance(value, dict):
            meta = value.get("metadata")
            if isinstance(meta, dict):
                return _str(meta.get("name"))
        return None

    status = doc.status
    status_text = None
    if isinstance(status, dict):
        status_text = _str(status.get("status") or status.get("Status"))
    return AssignedIdentity(
        namespace=doc.metadata.namespace,
        name=doc.metadata.name,
        pod=_str(spec.get("pod")),
        pod_namespace=_str(spec.get("podnamespace")),
        node=_str(spec.get("nodename")),
        identity_name=ref_name(spec.get("azureidentityref")),
        binding_name=ref_name(spec.get("azurebindingref")),
        status=status_text,
        finalizers=tuple(doc.metadata.finalizers or ()),
    )
