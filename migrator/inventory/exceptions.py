"""AzurePodIdentityException objects in force, and which pods they except.

NMI's rules (aad-pod-identity ``pkg/nmi/server/server.go``, ``pkg/pod/pod.go`` IsPodExcepted):

* only exceptions in the **requesting pod's own namespace** are listed;
* a pod is excepted when **any one** ``podLabels`` pair of any of them matches one of its labels
  (OR, not AND); keys compare exactly, values case-insensitively (``strings.EqualFold``);
* controllers from v1.6 decode case-sensitively, so an exception spelled ``PodLabels`` has no
  labels for them: it is in force only under controllers older than v1.6.

Add-on exceptions (``podIdentityProfile.userAssignedIdentityExceptions``) count like CRD objects.
"""

from __future__ import annotations

from migrator.inventory.model import Labels, PodIdentityException, Schema
from migrator.inventory.resolve import ClusterResolution


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
