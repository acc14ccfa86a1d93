"""What a snapshot keeps of a live document (docs/snapshots.md, "Redaction").

Removed: ``metadata.managedFields``; the ``kubectl.kubernetes.io/last-applied-configuration``
annotation (a full copy of the object, env literals included); the value of every environment
variable except the pod-identity controllers' settings (references such as ``valueFrom`` stay: they
name a Secret, they do not hold it). Secrets themselves are never read.
"""

from __future__ import annotations

from typing import Any

from migrator.decode.kept import ANNOTATIONS_DROPPED, ENV_VALUES_KEPT

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    for key in _CONTAINER_LISTS:
        for container in spec.get(key) or ():
            for env in (container.get("env") or ()) if isinstance(container, dict) else ():
                if isinstance(env, dict) and "value" in env and str(env.get("name", "")).upper() not in ENV_VALUES_KEPT:
                    del env["value"]


def _metadata(meta: Any) -> None:
    if not isinstance(meta, dict):
        return
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        for key in ANNOTATIONS_DROPPED:
            annotations.pop(key, None)


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """Redact one Kubernetes object in place (and return it)."""
    _metadata(obj.get("metadata"))
    spec = obj.get("spec")
    if isinstance(spec, dict):
        _pod_spec(spec)  # a Pod
        template = spec.get("template")
        if isinstance(template, dict):
            _metadata(template.get("metadata"))
            _pod_spec(template.get("spec"))
        job = spec.get("jobTemplate")
        if isinstance(job, dict):
            _metadata(job.get("metadata"))
            job_spec = job.get("spec")
            if isinstance(job_spec, dict) and isinstance(job_spec.get("template"), dict):
                _metadata(job_spec["template"].get("metadata"))
                _pod_spec(job_spec["template"].get("spec"))
    return obj
