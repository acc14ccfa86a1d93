"""msgspec projections of the Kubernetes documents the catalog reads.

Only the fields the inventory uses are declared; msgspec skips the rest without building them,
which keeps a 2,000-pod list decode in milliseconds and its memory small. Unknown fields are
ignored (tolerant); a field of the wrong type is an error that names its JSON path.

Decoded documents are trees (JSON has no cycles), so nothing in them needs the cyclic garbage
collector: structs are ``gc=False`` and arrays are tuples (which the collector stops tracking once
it sees they hold nothing it tracks), never lists. Tracked, they made every full collection walk
each pod of every cluster read so far: a quarter of the catalog's CPU at 10 clusters, growing with
the fleet.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from msgspec import Struct, field

T = TypeVar("T")

StrMap = dict[str, "str | None"]


class OwnerRef(Struct, frozen=True, gc=False):
    kind: str = ""
    name: str = ""
    controller: bool | None = None


class Meta(Struct, frozen=True, gc=False):
    name: str = ""
    namespace: str = ""
    labels: StrMap | None = None
    annotations: StrMap | None = None
    ownerReferences: tuple[OwnerRef, ...] | None = None
    generation: int | None = None
    deletionTimestamp: str | None = None
    finalizers: tuple[str, ...] | None = None


class EnvVar(Struct, frozen=True, gc=False):
    name: str = ""
    value: str | None = None


class Container(Struct, frozen=True, gc=False):
    name: str = ""
    image: str = ""
    command: tuple[str, ...] | None = None
    args: tuple[str, ...] | None = None
    env: tuple[EnvVar, ...] | None = None


class PodSpec(Struct, frozen=True, gc=False):
    serviceAccountName: str | None = None
    serviceAccount: str | None = None
    hostNetwork: bool | None = None
    nodeSelector: StrMap | None = None
    containers: tuple[Container, ...] | None = None
    initContainers: tuple[Container, ...] | None = None


class TemplateMeta(Struct, frozen=True, gc=False):
    labels: StrMap | None = None
    annotations: StrMap | None = None


class PodTemplate(Struct, frozen=True, gc=False):
    metadata: TemplateMeta | None = None
    spec: PodSpec | None = None


class JobTemplateSpec(Struct, frozen=True, gc=False):
    template: PodTemplate | None = None


class JobTemplate(Struct, frozen=True, gc=False):
    metadata: TemplateMeta | None = None
    spec: JobTemplateSpec | None = None


class WorkloadSpec(Struct, frozen=True, gc=False):
    replicas: int | None = None
    template: PodTemplate | None = None
    jobTemplate: JobTemplate | None = None  # CronJob


class WorkloadStatus(Struct, frozen=True, gc=False):
    replicas: int | None = None
    readyReplicas: int | None = None
    availableReplicas: int | None = None
    updatedReplicas: int | None = None
    numberReady: int | None = None
    desiredNumberScheduled: int | None = None
    active: int | None = None


class Workload(Struct, frozen=True, gc=False):
    """Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob."""

    metadata: Meta = Meta()
    spec: WorkloadSpec | None = None
    status: WorkloadStatus | None = None
    kind: str | None = None


class PodStatus(Struct, frozen=True, gc=False):
    phase: str | None = None


class Pod(Struct, frozen=True, gc=False):
    metadata: Meta = Meta()
    spec: PodSpec | None = None
    status: PodStatus | None = None
    kind: str | None = None


class Plain(Struct, frozen=True, gc=False):
    """Namespaces and ServiceAccounts: metadata is all the catalog needs."""

    metadata: Meta = Meta()
    kind: str | None = None


class Custom(Struct, frozen=True, gc=False):
    """A custom resource: the spec is kept as a mapping and folded by the parser.

    AAD Pod Identity objects spell their spec keys three ways over the project's life
    (``ResourceID``, ``resourceid``, ``resourceID``); a typed decoder is case-sensitive, so the
    keys are folded before the spec is converted (see ``migrator.inventory.crds``).
    """

    metadata: Meta = Meta()
    spec: dict[str, Any] | None = None
    status: dict[str, Any] | Any = None
    kind: str | None = None


class CrdNames(Struct, frozen=True, gc=False):
    plural: str = ""
    kind: str = ""


class Skipped(Struct, frozen=True, gc=False):
    """A JSON object whose content is skipped: nothing of it is built, only that it is there."""


#: any JSON value whose content the catalog never reads (a CRD's OpenAPI schema weighs up to
#: hundreds of KB, and only its presence matters): objects are skipped, not built
Opaque = Skipped | list[Any] | str | int | float | bool | None


class CrdVersion(Struct, frozen=True, gc=False):
    name: str = ""
    served: bool | None = None
    storage: bool | None = None
    schema: dict[str, Opaque] | None = None  # {"openAPIV3Schema": ...}: non-empty means structural


class CrdSpec(Struct, frozen=True, gc=False):
    group: str = ""
    names: CrdNames = CrdNames()
    versions: tuple[CrdVersion, ...] | None = None
    version: str | None = None  # apiextensions v1beta1
    validation: dict[str, Opaque] | None = None  # apiextensions v1beta1 schema


class Crd(Struct, frozen=True, gc=False):
    metadata: Meta = Meta()
    spec: CrdSpec = CrdSpec()
    kind: str | None = None
    apiVersion: str | None = None


class LabelSelector(Struct, frozen=True, gc=False):
    matchLabels: StrMap | None = None
    matchExpressions: tuple[dict[str, Any], ...] | None = None


class WebhookService(Struct, frozen=True, gc=False):
    name: str = ""
    namespace: str = ""


class WebhookClientConfig(Struct, frozen=True, gc=False):
    service: WebhookService | None = None
    url: str | None = None


class Webhook(Struct, frozen=True, gc=False):
    name: str = ""
    failurePolicy: str | None = None
    objectSelector: LabelSelector | None = None
    clientConfig: WebhookClientConfig | None = None


class MutatingWebhookConfiguration(Struct, frozen=True, gc=False):
    metadata: Meta = Meta()
    webhooks: tuple[Webhook, ...] | None = None
    kind: str | None = None


class MatchResources(Struct, frozen=True, gc=False):
    namespaceSelector: LabelSelector | None = None


class PolicySpec(Struct, frozen=True, gc=False):
    matchConstraints: MatchResources | None = None
    failurePolicy: str | None = None
    validations: tuple[dict[str, Any], ...] | None = None


class ValidatingAdmissionPolicy(Struct, frozen=True, gc=False):
    metadata: Meta = Meta()
    spec: PolicySpec | None = None
    kind: str | None = None


class PolicyBindingSpec(Struct, frozen=True, gc=False):
    policyName: str = ""
    matchResources: MatchResources | None = None
    validationActions: tuple[str, ...] | None = None


class ValidatingAdmissionPolicyBinding(Struct, frozen=True, gc=False):
    metadata: Meta = Meta()
    spec: PolicyBindingSpec | None = None
    kind: str | None = None


class ListMeta(Struct, frozen=True, gc=False):
    resourceVersion: str | None = None
    # ``continue`` is a Python keyword: renamed on the wire
    continue_: str | None = field(default=None, name="continue")
    remainingItemCount: int | None = None


class ListDoc(Struct, Generic[T], frozen=True, gc=False):
    """A Kubernetes list: ``kubectl``'s ``kind: List`` or the API's ``<Kind>List``."""

    kind: str | None = None
    apiVersion: str | None = None
    metadata: ListMeta | None = None
    items: tuple[T, ...] | None = None
