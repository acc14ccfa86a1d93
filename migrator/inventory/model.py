"""The inventory: frozen, typed domain objects the catalog, findings and planner work on.

Built once by ``migrator.inventory.build`` from decoded documents; never mutated after. A kind
that was not captured is ``None`` (unknown), an empty tuple means "there is none".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from sys import intern

from migrator.vocabulary import BINDING_LABEL


class Schema(str, Enum):
    """How an AAD Pod Identity object spells its spec keys."""

    CAMEL = "camelCase"  # v1.6+ json tags: accepted by every version
    LEGACY = "legacy"  # capitalized (docs <=1.5) or all-lowercase (<=1.5 json tags): ignored by v1.6+


class Origin(str, Enum):
    """Who declared a pod-identity object."""

    CRD = "crd"  # an object in the cluster (Helm chart, manifests, or kubectl)
    ADDON = "addon"  # the AKS add-on's podIdentityProfile (it also materializes CRD objects)


class IdentityType(int, Enum):
    USER_ASSIGNED_MSI = 0
    SERVICE_PRINCIPAL = 1
    SERVICE_PRINCIPAL_CERTIFICATE = 2
    UNKNOWN = -1

    @property
    def label(self) -> str:
        return {
            0: "UserAssignedMSI", 1: "ServicePrincipal", 2: "ServicePrincipalCertificate", -1: "Unknown",
        }[self.value]


Labels = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: hashable and deterministic


def labels_of(mapping: Mapping[str, str | None] | None) -> Labels:
    """Keys and values interned: the same labels recur on every workload and cluster of a fleet."""
    return tuple(sorted((intern(k), intern(v or "")) for k, v in (mapping or {}).items()))


def label(labels: Labels, key: str) -> str | None:
    for k, v in labels:
        if k == key:
            return v
    return None


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """A namespaced object: shown as ``Kind/name`` next to its namespace."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str | None], ...] = ()

    def env_value(self, name: str) -> str | None:
        for k, v in self.env:
            if k == name:
                return v
        return None

    def has_env(self, name: str) -> bool:
        return any(k == name for k, _ in self.env)


@dataclass(frozen=True, slots=True)
class PodTemplate:
    """What a pod created from a workload (or the pod itself) looks like."""

    labels: Labels
    annotations: Labels
    service_account: str  # "default" when unset
    host_network: bool
    windows: bool
    containers: tuple[Container, ...]
    init_containers: tuple[Container, ...] = ()

    @property
    def binding_selector(self) -> str | None:
        return label(self.labels, BINDING_LABEL)


@dataclass(frozen=True, slots=True)
class Workload:
    """A controller with a pod template, or a bare pod/ReplicaSet/Job, or a pod's unread owner."""

    ref: ObjectRef
    labels: Labels
    annotations: Labels
    template: PodTemplate
    owner: ObjectRef | None = None  # the controller's own controller (ReplicaSet -> Deployment)
    desired: int | None = None  # replicas, or desiredNumberScheduled for DaemonSets
    ready: int | None = None
    #: a workload we do not read (Argo Rollout, an operator's resource), known through its pods
    inferred: bool = False


@dataclass(frozen=True, slots=True)
class Pod:
    """A running (or finished) pod; equal replicas are folded into one with their ``count``.

    Every reader asks what a workload's pods look like (labels, service account, phase), never which
    pod it is: the first of equal pods (same owner, template and phase) stands for all of them.
    """

    ref: ObjectRef
    template: PodTemplate
    owner: ObjectRef | None
    phase: str | None
    count: int = 1


@dataclass(frozen=True, slots=True)
class AzureIdentity:
    """An ``AzureIdentity`` object, or an identity of the AKS add-on's ``podIdentityProfile``."""

    namespace: str
    name: str
    type: IdentityType
    resource_id: str | None
    client_id: str | None
    tenant_id: str | None = None
    secret_ref: tuple[str, str] | None = None  # (namespace, name) of clientPassword
    namespaced: bool = False  # aadpodidentity.k8s.io/Behavior: namespaced
    schema: Schema = Schema.CAMEL
    origin: Origin = Origin.CRD
    legacy_keys: tuple[str, ...] = ()
    managed_by: str = "manifest"  # add-on | helm | manifest

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("AzureIdentity", self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Binding:
    """An ``AzureIdentityBinding`` (or an add-on pod identity acting as one)."""

    namespace: str
    name: str
    identity_name: str | None
    selector: str | None
    weight: int | None = None
    schema: Schema = Schema.CAMEL
    origin: Origin = Origin.CRD
    legacy_keys: tuple[str, ...] = ()
    managed_by: str = "manifest"  # add-on | helm | manifest

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("AzureIdentityBinding", self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class PodIdentityException:
    namespace: str
    name: str
    pod_labels: Labels
    schema: Schema = Schema.CAMEL
    origin: Origin = Origin.CRD

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("AzurePodIdentityException", self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class AssignedIdentity:
    namespace: str
    name: str
    pod: str | None
    pod_namespace: str | None
    node: str | None
    identity_name: str | None
    binding_name: str | None
    status: str | None
    finalizers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    namespace: str
    name: str
    annotations: Labels


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Labels


@dataclass(frozen=True, slots=True)
class CustomResourceDefinition:
    name: str
    group: str
    plural: str
    kind: str
    versions: tuple[str, ...]
    structural_schema: bool


@dataclass(frozen=True, slots=True)
class MutatingWebhook:
    configuration: str
    name: str
    failure_policy: str | None
    object_selector: Labels
    service: tuple[str, str] | None  # (namespace, name)


@dataclass(frozen=True, slots=True)
class AdmissionPolicy:
    """A ValidatingAdmissionPolicy with the namespaces its bindings protect (by name, when readable)."""

    name: str
    bindings: tuple[str, ...]
    namespaces: tuple[str, ...]
    message: str | None


@dataclass(frozen=True, slots=True)
class SecretProviderClass:
    namespace: str
    name: str
    uses_pod_identity: bool
    client_id: str | None


@dataclass(frozen=True, slots=True)
class TriggerAuthentication:
    kind: str  # TriggerAuthentication | ClusterTriggerAuthentication
    namespace: str
    name: str
    provider: str | None
    identity_id: str | None


@dataclass(frozen=True, slots=True)
class ScaleSet:
    name: str
    pool: str | None
    identity_ids: tuple[str, ...]  # user-assigned identity resource IDs, as Azure returned them


@dataclass(frozen=True, slots=True)
class AddonProfile:
    """The AKS pod-identity add-on as the managedCluster document declares it."""

    enabled: bool
    identities: tuple[AzureIdentity, ...] = ()
    bindings: tuple[Binding, ...] = ()
    exceptions: tuple[PodIdentityException, ...] = ()


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """What the managedCluster document says."""

    resource_id: str | None
    location: str | None
    kubernetes_version: str | None
    oidc_issuer_enabled: bool
    oidc_issuer_url: str | None  # exactly as the cluster reports it, trailing slash kept
    workload_identity_enabled: bool
    node_resource_group: str | None
    kubelet_identity_resource_id: str | None
    kubelet_identity_client_id: str | None
    windows_pools: tuple[str, ...]
    addon: AddonProfile


@dataclass(frozen=True, slots=True)
class ClusterInventory:
    """Everything read from one cluster. ``None`` for a kind means it was not captured."""

    name: str
    region: str
    group: str
    subscription_id: str
    resource_group: str
    facts: ClusterFacts | None
    identities: tuple[AzureIdentity, ...] | None
    bindings: tuple[Binding, ...] | None
    exceptions: tuple[PodIdentityException, ...] | None
    assigned_identities: tuple[AssignedIdentity, ...] | None
    workloads: tuple[Workload, ...] | None  # controllers, bare pods/ReplicaSets/Jobs, inferred owners
    pods: tuple[Pod, ...] | None
    service_accounts: tuple[ServiceAccount, ...] | None
    namespaces: tuple[Namespace, ...] | None
    crds: tuple[CustomResourceDefinition, ...] | None
    webhooks: tuple[MutatingWebhook, ...] | None
    admission_policies: tuple[AdmissionPolicy, ...] | None
    secret_provider_classes: tuple[SecretProviderClass, ...] | None
    trigger_authentications: tuple[TriggerAuthentication, ...] | None
    scale_sets: tuple[ScaleSet, ...] | None
    not_captured: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ManagedIdentity:
    """A user-assigned managed identity in Azure."""

    resource_id: str  # as Azure returned it
    name: str
    subscription_id: str
    resource_group: str
    location: str | None
    client_id: str | None
    principal_id: str | None
    tenant_id: str | None

    @property
    def key(self) -> str:
        return self.resource_id.lower()


@dataclass(frozen=True, slots=True)
class FederatedCredential:
    identity_resource_id: str
    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleAssignment:
    principal_id: str
    role_definition_id: str
    scope: str
    name: str


@dataclass(frozen=True, slots=True)
class AzureInventory:
    identities: tuple[ManagedIdentity, ...]
    credentials: tuple[FederatedCredential, ...] | None  # None: not captured
    role_assignments: tuple[RoleAssignment, ...] | None


@dataclass(frozen=True, slots=True)
class ClusterFailure:
    """A cluster that could not be read: partial failure as data."""

    name: str
    region: str
    group: str
    reason: str


@dataclass(frozen=True, slots=True)
class FleetInventory:
    tenant_id: str
    clusters: tuple[ClusterInventory, ...]
    failures: tuple[ClusterFailure, ...] = ()
    azure: AzureInventory | None = None
    azure_failure: str | None = None
