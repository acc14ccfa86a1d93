"""msgspec projections of the Kubernetes documents the catalog reads.

Only the fields the inventory uses are declared; msgspec skips the rest without building them,
which keeps a 2,000-pod list decode in milliseconds and its memory small. Unknown fields are
ignored (tolerant); a field of the wrong type is an error that names its JSON path.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from msgspec import Struct, field

T = TypeVar("T")

StrMap = dict[str, "str | None"]


class OwnerRef(Struct, frozen=True):
    kind: str = ""
    name: str = ""
    controller: bool | None = None


class Meta(Struct, frozen=True):
    name: str = ""
    namespace: str = ""
    labels: StrMap | None = None
    annotations: StrMap | None = None
    ownerReferences: list[OwnerRef] | None = None
    generation: int | None = None
    deletionTimestamp: str | None = None
    finalizers: list[str] | None = None


class EnvVar(Struct, frozen=True):
    name: str = ""
    value: str | None = None


class Container(Struct, frozen=True):
    name: str = ""
    image: str = ""
    command: list[str] | None = None
    args: list[str] | None = None
    env: list[EnvVar] | None = None


class PodSpec(Struct, frozen=True):
    serviceAccountName: str | None = None
    serviceAccount: str | None = None
    hostNetwork: bool | None = None
    nodeSelector: StrMap | None = None
    containers: list[Container] | None = None
    initContainers: list[Container] | None = None


class TemplateMeta(Struct, frozen=True):
    labels: StrMap | None = None
    annotations: StrMap | None = None


class PodTemplate(Struct, frozen=True):
    metadata: TemplateMeta | None = None
    spec: PodSpec | None = None


class JobTemplateSpec(Struct, frozen=True):
    template: PodTemplate | None = None


class JobTemplate(Struct, frozen=True):
    metadata: TemplateMeta | None = None
    spec: JobTemplateSpec | None = None


class WorkloadSpec(Struct, frozen=True):
    replicas: int | None = None
    template: PodTemplate | None = None
    jobTemplate: JobTemplate | None = None  # CronJob


class WorkloadStatus(Struct, frozen=True):
    replicas: int | None = None
    readyReplicas: int | None = None
    availableReplicas: int | None = None
    updatedReplicas: int | None = None
    numberReady: int | None = None
    desiredNumberScheduled: int | None = None
    active: int | None = None


class Workload(Struct, frozen=True):
    """Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob."""

    metadata: Meta = Meta()
    spec: WorkloadSpec | None = None
    status: WorkloadStatus | None = None
    kind: str | None = None


class PodStatus(Struct, frozen=True):
    phase: str | None = None


class Pod(Struct, frozen=True):
    metadata: Meta = Meta()
    spec: PodSpec | None = None
    status: PodStatus | None = None
    kind: str | None = None


class Plain(Struct, frozen=True):
    """Namespaces and ServiceAccounts: metadata is all the catalog needs."""

    metadata: Meta = Meta()
    kind: str | None = None


class Custom(Struct, frozen=True):
    """A custom resource: the spec is kept as a mapping and folded by the parser.

    AAD Pod Identity objects spell their spec keys three ways over the project's life
    (``ResourceID``, ``resourceid``, ``resourceID``); a typed decoder is case-sensitive, so the
    keys are folded before the spec is converted (see ``migrator.inventory.crds``).
    """

    metadata: Meta = Meta()
    spec: dict[str, Any] | None = None
    status: dict[str, Any] | Any = None
    kind: str | None = None


class CrdNames(Struct, frozen=True):
    plural: str = ""
    kind: str = ""


class CrdVersion(Struct, frozen=True):
    name: str = ""
    served: bool | None = None
    storage: bool | None = None
    schema: dict[str, Any] | None = None


class CrdSpec(Struct, frozen=True):
    group: str = ""
    names: CrdNames = CrdNames()
    versions: list[CrdVersion] | None = None
    version: str | None = None  # apiextensions v1beta1
    validation: dict[str, Any] | None = None  # apiextensions v1beta1 schema


class Crd(Struct, frozen=True):
    metadata: Meta = Meta()
    spec: CrdSpec = CrdSpec()
    kind: str | None = None
    apiVersion: str | None = None


class LabelSelector(Struct, frozen=True):
    matchLabels: StrMap | None = None
    matchExpressions: list[dict[str, Any]] | None = None


class WebhookService(Struct, frozen=True):
    name: str = ""
    namespace: str = ""


class WebhookClientConfig(Struct, frozen=True):
    service: WebhookService | None = None
    url: str | None = None


class Webhook(Struct, frozen=True):
    name: str = ""
    failurePolicy: str | None = None
    objectSelector: LabelSelector | None = None
    clientConfig: WebhookClientConfig | None = None


class MutatingWebhookConfiguration(Struct, frozen=True):
    metadata: Meta = Meta()
    webhooks: list[Webhook] | None = None
    kind: str | None = None


class MatchResources(Struct, frozen=True):
    namespaceSelector: LabelSelector | None = None


class PolicySpec(Struct, frozen=True):
    matchConstraints: MatchResources | None = None
    failurePolicy: str | None = None
    validations: list[dict[str, Any]] | None = None


class ValidatingAdmissionPolicy(Struct, frozen=True):
    metadata: Meta = Meta()
    spec: PolicySpec | None = None
    kind: str | None = None


class PolicyBindingSpec(Struct, frozen=True):
    policyName: str = ""
    matchResources: MatchResources | None = None
    validationActions: list[str] | None = None


class ValidatingAdmissionPolicyBinding(Struct, frozen=True):
    metadata: Meta = Meta()
    spec: PolicyBindingSpec | None = None
    kind: str | None = None


class ListMeta(Struct, frozen=True):
    resourceVersion: str | None = None
    # ``continue`` is a Python keyword: renamed on the wire
    continue_: str | None = field(default=None, name="continue")
    remainingItemCount: int | None = None


class ListDoc(Struct, Generic[T], frozen=True):
    """A Kubernetes list: ``kubectl``'s ``kind: List`` or the API's ``<Kind>List``."""

    kind: str | None = None
    apiVersion: str | None = None
    metadata: ListMeta | None = None
    items: list[T] | None = None
