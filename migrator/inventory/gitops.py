"""Which GitOps or Helm controller owns a workload (a change made in the cluster is reverted by it).

Evidence, strongest first (on the workload's own metadata, then its pod template):

* Flux: ``kustomize.toolkit.fluxcd.io/name``/``namespace`` (a Kustomization) or
  ``helm.toolkit.fluxcd.io/name``/``namespace`` (a HelmRelease) labels;
* Argo CD: the ``argocd.argoproj.io/tracking-id`` annotation (annotation tracking) or an
  ``argocd.argoproj.io/instance`` label;
* Helm: ``app.kubernetes.io/managed-by: Helm``, ``helm.sh/chart`` or ``meta.helm.sh/release-name``;
* Argo CD's default tracking label ``app.kubernetes.io/instance`` (label tracking), weakest: Helm
  charts set it too, which is why Helm evidence is checked first.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.inventory.model import Labels, Workload, label

FLUX_KUSTOMIZE = "kustomize.toolkit.fluxcd.io/"
FLUX_HELM = "helm.toolkit.fluxcd.io/"
ARGO_TRACKING_ID = "argocd.argoproj.io/tracking-id"
ARGO_INSTANCE = "argocd.argoproj.io/instance"
INSTANCE = "app.kubernetes.io/instance"


@dataclass(frozen=True, slots=True)
class Owner:
    tool: str  # Flux | Argo CD | Helm
    source: str  # what to change: "Kustomization flux-system/apps", "Application shop", ...
    evidence: str  # the label or annotation that says so

    def __str__(self) -> str:
        return f"{self.tool} ({self.source})"


def _from(labels: Labels, annotations: Labels) -> Owner | None:
    for prefix, kind in ((FLUX_KUSTOMIZE, "Kustomization"), (FLUX_HELM, "HelmRelease")):
        name = label(labels, prefix + "name")
        if name:
            ns = label(labels, prefix + "namespace")
            return Owner("Flux", f"{kind} {ns + '/' if ns else ''}{name}", f"{prefix}name={name}")
    tracking = label(annotations, ARGO_TRACKING_ID)
    if tracking:
        app = tracking.split(":", 1)[0]
        return Owner("Argo CD", f"Application {app}", f"{ARGO_TRACKING_ID}={tracking}")
    instance = label(labels, ARGO_INSTANCE)
    if instance:
        return Owner("Argo CD", f"Application {instance}", f"{ARGO_INSTANCE}={instance}")
    release = label(annotations, "meta.helm.sh/release-name")
    if (label(labels, "app.kubernetes.io/managed-by") or "").lower() == "helm" or label(labels, "helm.sh/chart") \
            or release:
        name = release or label(labels, INSTANCE)
        ns = label(annotations, "meta.helm.sh/release-namespace")
        evidence = "app.kubernetes.io/managed-by=Helm" if label(labels, "app.kubernetes.io/managed-by") \
            else ("helm.sh/chart" if label(labels, "helm.sh/chart") else "meta.helm.sh/release-name")
        source = f"release {ns + '/' if ns else ''}{name}" if name else "its Helm release (name not recorded)"
        return Owner("Helm", source, evidence)
    instance = label(labels, INSTANCE)
    if instance:
        return Owner("Argo CD", f"Application {instance}", f"{INSTANCE}={instance} (Argo CD's tracking label)")
    return None


def owner_of(workload: Workload) -> Owner | None:
    """The controller that reverts in-cluster changes to ``workload``, or None."""
    return _from(workload.labels, workload.annotations) or _from(workload.template.labels,
                                                                  workload.template.annotations)
