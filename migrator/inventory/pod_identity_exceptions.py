"""AzurePodIdentityException objects in force, and which pods they except.

NMI's rules (aad-pod-identity ``pkg/nmi/server/server.go``, ``pkg/pod/pod.go`` IsPodExcepted):

* only exceptions in the **requesting pod's own namespace** are listed;
* a pod is excepted when **any one** ``podLabels`` pair of any of them matches one of its labels
  (OR, not AND); keys compare exactly, values case-insensitively (``strings.EqualFold``);
* controllers from v1.6 decode case-sensitively, so an exception spelled ``PodLabels`` has no
  labels for them: it is in force only under controllers older than v1.6.

Add-on exceptions (``podIdentityProfile.userAssignedIdentityExceptions``) count like CRD objects.

Also here: the pods that must bypass NMI while it runs (the Flux extension's, by their
``app.kubernetes.io/name``) and the exception manifest that lets them (one object per label pair,
camelCase ``podLabels``, which every version reads). Findings, plan and render share these facts.
"""

from __future__ import annotations

from migrator.escape import dns_name
from migrator.inventory.model import Labels, PodIdentityException, Schema
from migrator.inventory.resolve import ClusterResolution
from migrator.kinds import AAD_POD_IDENTITY_GROUP

FLUX_NAME_LABEL = "app.kubernetes.io/name"
#: microsoft.flux: the Flux controllers; flux-extension: the extension's agents (fluxconfig-agent/-controller)
FLUX_NAMES = ("microsoft.flux", "flux-extension")


def in_force(resolution: ClusterResolution) -> tuple[PodIdentityException, ...]:
    """The exceptions NMI on this cluster honours (legacy spellings dropped under v1.6+)."""
    legacy_ok = resolution.install.honours_legacy_schema is not False  # unknown version: benefit of the doubt
    return tuple(e for e in resolution.exceptions if e.schema is Schema.CAMEL or legacy_ok)


def matching_pairs(exception: PodIdentityException, labels: Labels) -> tuple[tuple[str, str], ...]:
    """The exception's label pairs the pod carries (value compared case-insensitively)."""
    pod = dict(labels)
    return tuple((k, v) for k, v in exception.pod_labels
                 if k in pod and pod[k].casefold() == v.casefold())


def excepted_by(exceptions: tuple[PodIdentityException, ...], namespace: str, labels: Labels
                ) -> PodIdentityException | None:
    """The first exception of the pod's own namespace that excepts a pod with ``labels``."""
    for exception in exceptions:
        if exception.namespace == namespace and matching_pairs(exception, labels):
            return exception
    return None


def exception_name(value: str) -> str:
    """The name of the exception made for one label value."""
    return dns_name(value, "-exception")


def exception_manifest(namespace: str, key: str, value: str) -> dict[str, object]:
    """One AzurePodIdentityException for one label pair, camelCase ``podLabels`` (every version reads it)."""
    return {"apiVersion": f"{AAD_POD_IDENTITY_GROUP}/v1", "kind": "AzurePodIdentityException",
            "metadata": {"name": exception_name(value), "namespace": namespace},
            "spec": {"podLabels": {key: value}}}
