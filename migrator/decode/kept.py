"""What of a read object's free-form fields is kept: by the inventory and by ``migrate snapshot`` alike.

A leaf of the decoder, so the sources (redaction) and the inventory share it without either
importing the other. docs/snapshots.md ("Redaction") lists the same rules for a reader.
"""

from __future__ import annotations

import re

#: the only environment variables whose values the inventory keeps (NMI/MIC settings); of every other
#: variable only the name is kept: values are the workload's secrets, and snapshots drop them too
ENV_VALUES_KEPT = frozenset({"FORCENAMESPACED", "OPERATION_MODE", "OPERATION-MODE"})

#: the annotations kept (by prefix): those the catalog reads. Every other annotation is dropped: they hold
#: whatever tools put there (kubectl's last-applied-configuration is a copy of the whole object, env
#: literals included; operators keep credentials, tokens and connection strings in annotations)
ANNOTATION_PREFIXES_KEPT = (
    "azure.workload.identity/",     # client-id, tenant-id, skip-containers, inject-proxy-sidecar, ...
    "aadpodidentity.k8s.io/",       # Behavior: namespaced matching
    "meta.helm.sh/",                # release-name, release-namespace: Helm owns the workload
    "argocd.argoproj.io/",          # tracking-id: Argo CD owns the workload
    "kustomize.toolkit.fluxcd.io/",  # Flux owns the workload
    "helm.toolkit.fluxcd.io/",
)


def annotation_kept(key: str) -> bool:
    return key.startswith(ANNOTATION_PREFIXES_KEPT)


def kept_annotations(annotations: dict[str, str | None] | None) -> dict[str, str | None] | None:
    """``annotations`` without those the catalog does not read (None and {} stay as they are)."""
    if not annotations:
        return annotations
    return {k: v for k, v in annotations.items() if annotation_kept(k)}


REDACTED = "<redacted>"
_SECRET_WORD = r"(?:secret|passw(?:or)?d|pwd|token|api[-_.]?key|access[-_.]?key|account[-_.]?key|private[-_.]?key" \
               r"|credential|connection[-_.]?string|conn[-_.]?str|sas)"
#: ``--client-secret=...``, ``-password=...``: the flag stays, its value goes
_SECRET_FLAG_VALUE = re.compile(rf"(?i)^(-{{1,2}}[\w.-]*{_SECRET_WORD}[\w.-]*=)(.+)$", re.S)
#: ``--client-secret ...``: the next argument is the value
_SECRET_FLAG = re.compile(rf"(?i)^-{{1,2}}[\w.-]*{_SECRET_WORD}[\w.-]*$")
#: ``Password=...;`` ``AccountKey=...`` ``SharedAccessKey=...`` ``sig=...`` in connection strings and URLs
_CONNECTION_SECRET = re.compile(r"(?i)\b(password|pwd|accountkey|sharedaccesskey|sharedaccesssignature|sig|"
                                r"client_secret|clientsecret|secret|token|apikey|api_key|access_token)=([^;&\s\"']+)")
#: ``scheme://user:password@host``
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):([^\s/]+)@")  # greedy: a raw @ in the password


def redact_arg(arg: str) -> str:
    """One argument with what looks like a secret value replaced by ``<redacted>`` (the flag name kept)."""
    match = _SECRET_FLAG_VALUE.match(arg)
    if match:
        return match.group(1) + REDACTED
    arg = _CONNECTION_SECRET.sub(lambda m: f"{m.group(1)}={REDACTED}", arg)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{REDACTED}@", arg)


def redact_args(args: list[str] | tuple[str, ...]) -> list[str]:
    """A container's ``command`` or ``args``: secret-looking values redacted (``--token=x``, ``--token x``,
    connection strings, passwords in URLs); everything else as it was."""
    out: list[str] = []
    secret_next = False
    for arg in args:
        if not isinstance(arg, str):
            out.append(arg)
            continue
        if secret_next and not arg.startswith("-"):
            out.append(REDACTED)
            secret_next = False
            continue
        secret_next = bool(_SECRET_FLAG.match(arg))
        out.append(redact_arg(arg))
    return out
