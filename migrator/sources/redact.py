"""What a snapshot keeps of a live document (docs/snapshots.md, "Redaction"; the rules in ``decode.kept``).

Removed: ``metadata.managedFields``; every annotation but those the catalog reads (workload identity,
pod identity, Helm, Argo CD, Flux: ``kept.ANNOTATION_PREFIXES_KEPT``), so also kubectl's
last-applied-configuration (a full copy of the object, env literals included); the value of every
environment variable except the pod-identity controllers' settings (references such as ``valueFrom``
stay: they name a Secret, they do not hold it); in containers' ``command`` and ``args``, the values of
secret-looking flags (``--client-secret=…``, ``--password …``), connection-string secrets
(``AccountKey=…``, ``Password=…``) and passwords in URLs, each replaced by ``<redacted>``. Secrets
themselves are never read.
"""

from __future__ import annotations

from typing import Any

from migrator.decode.kept import ENV_VALUES_KEPT, kept_annotations, redact_args

_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def _pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    for key in _CONTAINER_LISTS:
        for container in spec.get(key) or ():
            if not isinstance(container, dict):
                continue
            for env in container.get("env") or ():
                if isinstance(env, dict) and "value" in env and str(env.get("name", "")).upper() not in ENV_VALUES_KEPT:
                    del env["value"]
            command, args = container.get("command"), container.get("args")
            if isinstance(command, list) or isinstance(args, list):  # one line: "--token" may end the command
                command = command if isinstance(command, list) else []
                both = redact_args([*command, *(args if isinstance(args, list) else [])])
                if "command" in container:
                    container["command"] = both[:len(command)]
                if isinstance(args, list):
                    container["args"] = both[len(command):]


def _metadata(meta: Any) -> None:
    if not isinstance(meta, dict):
        return
    meta.pop("managedFields", None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        meta["annotations"] = kept_annotations({str(k): v for k, v in annotations.items()})


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
