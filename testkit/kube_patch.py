"""PATCH semantics: JSON merge patch (RFC 7386), strategic merge patch, JSON patch (RFC 6902).

Strategic merge is implemented the way it behaves for the built-in types a migration touches:
maps merge recursively, ``null`` deletes, lists of objects named by a *patch merge key*
(containers/volumes/env by ``name``, volumeMounts by ``mountPath``, container ports by
``containerPort``, …) merge element-wise, other lists are replaced, ``metadata.finalizers`` is a
merged set of strings; directives ``$patch: replace|delete|merge``, ``$retainKeys``,
``$setElementOrder/<field>`` and ``$deleteFromPrimitiveList/<field>`` are honoured.
Custom resources do not support strategic merge (the server answers 415, as kube-apiserver does).
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PatchError", "json_merge_patch", "strategic_merge_patch", "json_patch", "MERGE_KEYS"]


class PatchError(ValueError):
    pass


def json_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = json_merge_patch(out.get(k), v)
    return out


#: field name -> patch merge key for lists of objects (from the built-in types' patchMergeKey tags).
MERGE_KEYS: dict[str, str | tuple[str, ...]] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "volumes": "name",
    "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath", "imagePullSecrets": "name",
    "ports": ("containerPort", "port"), "hostAliases": "ip", "conditions": "type", "ownerReferences": "uid",
    "webhooks": "name", "resourceClaims": "name", "schedulingGates": "name", "topologySpreadConstraints":
    "topologyKey", "subsets": "", "taints": "key", "addresses": "type", "secrets": "name",
}
#: lists of scalars that strategic merge treats as sets.
MERGE_PRIMITIVE_LISTS = {"finalizers"}


def _merge_key(field: str, items: list[Any]) -> str | None:
    mk = MERGE_KEYS.get(field)
    if not mk:
        return None
    keys = (mk,) if isinstance(mk, str) else mk
    for k in keys:
        if all(isinstance(i, dict) and k in i for i in items):
            return k
    return None


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys") or k.startswith("$setElementOrder/"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            if isinstance(out.get(field), list):
                out[field] = [x for x in out[field] if x not in (v or [])]
            continue
        if v is None:
            out.pop(k, None)
            continue
        cur = out.get(k)
        if isinstance(v, dict):
            merged = strategic_merge_patch(cur, v)
            if merged is None:
                out.pop(k, None)
            else:
                out[k] = merged
        elif isinstance(v, list):
            out[k] = _merge_list(k, cur if isinstance(cur, list) else [], v)
        else:
            out[k] = v
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _merge_list(field: str, cur: list[Any], patch: list[Any]) -> list[Any]:
    if field in MERGE_PRIMITIVE_LISTS and all(not isinstance(x, (dict, list)) for x in patch):
        out = list(cur)
        for x in patch:
            if x not in out:
                out.append(x)
        return out
    elements = [p for p in patch if not (isinstance(p, dict) and p.get("$patch") == "replace")]
    if any(isinstance(p, dict) and p.get("$patch") == "replace" for p in patch):
        return [copy.deepcopy(p) for p in elements]
    key = _merge_key(field, [p for p in patch if isinstance(p, dict)]) if patch else None
    if key is None or not all(isinstance(c, dict) and key in c for c in cur):
        return [copy.deepcopy(p) for p in patch]
    out = [dict(c) for c in cur]
    index = {c[key]: i for i, c in enumerate(out)}
    for p in patch:
        if not isinstance(p, dict):
            continue
        kv = p.get(key)
        if p.get("$patch") == "delete":
            if kv in index:
                out[index[kv]] = None  # type: ignore[call-overload]
            continue
        if kv in index and out[index[kv]] is not None:
            out[index[kv]] = strategic_merge_patch(out[index[kv]], p)
        else:
            index[kv] = len(out)
            out.append(strategic_merge_patch({}, p))
    return [o for o in out if o is not None]


# -- RFC 6902 ----------------------------------------------------------------------------
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    cur = doc
    for p in parts:
        if isinstance(cur, dict):
            if p not in cur:
                raise PatchError(f"doc is missing path: /{'/'.join(parts)}")
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError) as exc:
                raise PatchError(f"doc is missing path: /{'/'.join(parts)}") from exc
        else:
            raise PatchError(f"doc is missing path: /{'/'.join(parts)}")
    return cur


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            i = int(last)
            if i < 0 or i > len(parent):
                raise PatchError(f"add operation index out of bounds: {i}")
            parent.insert(i, value)
    else:
        raise PatchError("add operation does not apply: parent is not a container")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise PatchError("cannot remove the whole document")
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    try:
        if isinstance(parent, dict):
            if last not in parent:
                raise KeyError(last)
            return parent.pop(last)
        if isinstance(parent, list):
            return parent.pop(int(last))
    except (KeyError, IndexError, ValueError) as exc:
        raise PatchError(f"remove operation does not apply: doc is missing path: /{'/'.join(parts)}") from exc
    raise PatchError("remove operation does not apply")


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise PatchError("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"invalid operation {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _walk(doc, parts)  # must exist
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                parent = _walk(doc, parts[:-1])
                if isinstance(parent, list):
                    parent[int(parts[-1])] = copy.deepcopy(op.get("value"))
                else:
                    parent[parts[-1]] = copy.deepcopy(op.get("value"))
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            val = copy.deepcopy(_walk(doc, src))
            if kind == "move":
                _remove(doc, src)
            doc = _add(doc, parts, val)
        elif kind == "test":
            if _walk(doc, parts) != op.get("value"):
                raise PatchError(f"testing value /{'/'.join(parts)} failed")
        else:
            raise PatchError(f"Unexpected kind: {kind}")
    return doc
