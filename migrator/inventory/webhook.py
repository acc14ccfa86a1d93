"""Is the Azure Workload Identity mutating webhook on, in a version that honours the pod label?

Two ways it can be on:

* the AKS add-on: ARM ``securityProfile.workloadIdentity.enabled``;
* installed by hand (Helm chart or ``deploy/azure-wi-webhook.yaml``): a MutatingWebhookConfiguration
  (``azure-wi-webhook-mutating-webhook-configuration``, webhook ``mutation.azure-workload-identity.io``,
  or any webhook served from the namespace of the webhook Deployment) plus the Deployment found by
  its image ``…/workload-identity/webhook:<tag>``.

Only v1.0.0 and later select pods by the label ``azure.workload.identity/use: "true"``; older
webhooks mutate by the service account's label/annotation and ignore the pod label the migration
sets. Without a readable image tag, a webhook whose ``objectSelector`` requires the pod label is
taken to be v1.0+ (that selector arrived with v1.0.0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from migrator.inventory.model import ClusterInventory, MutatingWebhook, ObjectRef, label
from migrator.inventory.podidentity import image_version
from migrator.vocabulary import WI_USE_LABEL

CONFIG_NAME = "azure-wi-webhook-mutating-webhook-configuration"
WEBHOOK_NAME = "mutation.azure-workload-identity.io"
POD_LABEL_SINCE = (1, 0, 0)
_IMAGE = re.compile(r"(?:^|/)workload-identity/webhook(?::|$)")


@dataclass(frozen=True, slots=True)
class WebhookDeployment:
    ref: ObjectRef
    image: str
    version: tuple[int, int, int] | None


@dataclass(frozen=True, slots=True)
class SelfInstalledWebhook:
    configuration: str
    deployment: WebhookDeployment | None
    selects_pod_label: bool  # objectSelector requires azure.workload.identity/use: "true"

    @property
    def version(self) -> tuple[int, int, int] | None:
        return self.deployment.version if self.deployment else None

    @property
    def version_text(self) -> str | None:
        return "v" + ".".join(map(str, self.version)) if self.version else None

    @property
    def honours_pod_label(self) -> bool:
        if self.version is not None:
            return self.version >= POD_LABEL_SINCE
        return self.selects_pod_label


@dataclass(frozen=True, slots=True)
class WebhookState:
    arm_enabled: bool | None  # None: the managedCluster document was not captured
    installed: tuple[SelfInstalledWebhook, ...] | None  # None: webhook configurations not captured

    @property
    def enabled(self) -> bool | None:
        """True: pods labelled ``azure.workload.identity/use`` get mutated; None: cannot tell."""
        if self.arm_enabled:
            return True
        if self.installed and any(w.honours_pod_label for w in self.installed):
            return True
        if self.arm_enabled is None or self.installed is None:
            return None
        return False

    @property
    def on(self) -> bool:
        """Known to be on (unknown counts as off: a prerequisite is proposed rather than assumed met)."""
        return self.enabled is True

    @property
    def too_old(self) -> tuple[SelfInstalledWebhook, ...]:
        """Self-installed webhooks older than v1.0 (they ignore the pod label)."""
        return tuple(w for w in self.installed or () if not w.honours_pod_label)


def _deployments(cluster: ClusterInventory) -> list[WebhookDeployment]:
    out = []
    for w in cluster.workloads or ():
        if w.inferred or w.ref.kind != "Deployment":
            continue
        for c in w.template.containers:
            image = c.image.split("@", 1)[0]  # a digest-pinned image keeps its tag before the '@'
            if _IMAGE.search(image):
                out.append(WebhookDeployment(w.ref, c.image, image_version(image)))
                break
    return out


def _selects_pod_label(hook: MutatingWebhook) -> bool:
    return label(hook.object_selector, WI_USE_LABEL) == "true"


def detect_webhook(cluster: ClusterInventory) -> WebhookState:
    arm = cluster.facts.workload_identity_enabled if cluster.facts is not None else None
    if cluster.webhooks is None:
        return WebhookState(arm, None)
    deployments = _deployments(cluster)
    namespaces = {d.ref.namespace for d in deployments}
    by_config: dict[str, list[MutatingWebhook]] = {}
    for hook in cluster.webhooks:
        ours = (hook.configuration == CONFIG_NAME or hook.name == WEBHOOK_NAME
                or (hook.service is not None and hook.service[0] in namespaces
                    and "azure-wi" in (hook.service[1] + hook.configuration)))
        if ours:
            by_config.setdefault(hook.configuration, []).append(hook)
    installed = []
    for config, hooks in sorted(by_config.items()):
        service_ns = {h.service[0] for h in hooks if h.service}
        deployment = next((d for d in deployments if d.ref.namespace in service_ns), None)
        if deployment is None and len(deployments) == 1:
            deployment = deployments[0]
        installed.append(SelfInstalledWebhook(config, deployment, any(_selects_pod_label(h) for h in hooks)))
    return WebhookState(arm, tuple(installed))


def webhook_state(cluster: ClusterInventory) -> WebhookState:
    """Alias of ``detect_webhook`` (the planner's name for it)."""
    return detect_webhook(cluster)
