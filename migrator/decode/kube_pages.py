"""Decode one page of a Kubernetes LIST (a snapshot file is a single page) into typed items."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from migrator.decode import structs as s
from migrator.errors import Location, SnapshotError
from migrator.inputs import MAX_JSON_DEPTH, json_too_deep
from migrator.kinds import KINDS, KindInfo

ITEM_TYPES: dict[str, type] = {
    "azureidentities": s.Custom,
    "azureidentitybindings": s.Custom,
    "azureassignedidentities": s.Custom,
    "azurepodidentityexceptions": s.Custom,
    "pods": s.Pod,
    "deployments": s.Workload,
    "statefulsets": s.Workload,
    "daemonsets": s.Workload,
    "replicasets": s.Workload,
    "jobs": s.Workload,
    "cronjobs": s.Workload,
    "serviceaccounts": s.Plain,
    "namespaces": s.Plain,
    "customresourcedefinitions": s.Crd,
    "mutatingwebhookconfigurations": s.MutatingWebhookConfiguration,
    "validatingadmissionpolicies": s.ValidatingAdmissionPolicy,
    "validatingadmissionpolicybindings": s.ValidatingAdmissionPolicyBinding,
    "secretproviderclasses": s.Custom,
    "triggerauthentications": s.Custom,
    "clustertriggerauthentications": s.Custom,
}
assert set(ITEM_TYPES) == set(KINDS), "every kind read needs a decoder"

_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    plural: msgspec.json.Decoder(s.ListDoc[item]) for plural, item in ITEM_TYPES.items()  # type: ignore[valid-type]
}


@dataclass(frozen=True, slots=True)
class Page:
    """One decoded LIST page."""

    items: tuple[Any, ...]
    continue_token: str | None
    resource_version: str | None


def decode_page(plural: str, data: bytes, *, origin: str) -> Page:
    """Decode ``data`` as a list of ``plural``; ``origin`` names the file or URL in errors."""
    info = KINDS[plural]
    try:
        doc = _DECODERS[plural].decode(data)
    except msgspec.DecodeError as exc:
        raise json_error(exc, data, origin, what=f"a {info.list_kind}") from None
    except RecursionError:
        raise too_deep(data, origin) from None
    _check_kind(info, doc, origin)
    meta = doc.metadata
    return Page(
        items=tuple(doc.items or ()),
        continue_token=(meta.continue_ or None) if meta else None,
        resource_version=meta.resourceVersion if meta else None,
    )


def _check_kind(info: KindInfo, doc: s.ListDoc[Any], origin: str) -> None:
    hint = f"export it with: kubectl get {info.plural} -A -o json > {info.plural}.json"
    if doc.kind not in ("List", info.list_kind):
        raise SnapshotError(
            f"expected a {info.list_kind} (or kubectl's 'kind: List'), found kind {doc.kind!r}",
            location=_loc(origin), hint=hint,
        )
    for index, item in enumerate(doc.items or ()):
        item_kind = getattr(item, "kind", None)
        if item_kind is not None and item_kind != info.kind:
            raise SnapshotError(
                f"item {index} is a {item_kind}, but this file must list {info.kind} objects",
                location=_loc(origin), hint=hint,
            )


def _loc(origin: str) -> Location:
    return Location(Path(origin))


def too_deep(data: bytes, origin: str) -> SnapshotError:
    """The decoder ran out of stack: the document nests deeper than any it accepts (files are checked before
    they are decoded, ``sources.snapshot``; a live page lands here)."""
    problem = json_too_deep(data) or f"nested deeper than {MAX_JSON_DEPTH} levels"
    return SnapshotError(f"refused: {problem}", location=_loc(origin),
                         hint="no Kubernetes or Azure document nests that deep")


def json_error(exc: msgspec.DecodeError, data: bytes, origin: str, *, what: str) -> SnapshotError:
    """A decode error as file:line:column (for malformed JSON) or with its JSON path (wrong type)."""
    text = str(exc)
    line = column = None
    if "byte " in text:
        try:
            offset = int(text.rsplit("byte ", 1)[1].rstrip(")").strip())
            prefix = data[:offset]
            line = prefix.count(b"\n") + 1
            column = offset - (prefix.rfind(b"\n") + 1) + 1
        except ValueError:
            pass
    if text.startswith("JSON is malformed"):
        message = f"malformed JSON: {text.removeprefix('JSON is malformed: ')}"
        hint = f"the file must hold {what} exactly as kubectl/az print it with -o json"
    else:
        message = f"not {what}: {text}"
        hint = f"the file must hold {what} exactly as kubectl/az print it with -o json"
    return SnapshotError(message, location=Location(Path(origin), line, column), hint=hint)
