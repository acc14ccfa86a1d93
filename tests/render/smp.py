"""A minimal strategic merge, enough for the patches render writes: maps merge, ``None`` deletes a key,
``$patch: delete`` deletes the object, anything else replaces. (Lists are never patched by render.)"""

from __future__ import annotations

import copy
from typing import Any


def merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        elif isinstance(value, list):
            raise AssertionError(f"render patches no lists, but {key} is one")
        else:
            out[key] = copy.deepcopy(value)
    return out


def apply(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    """``patch`` applied to ``target``; None when the patch deletes it. Identity fields must agree."""
    for key in ("apiVersion", "kind"):
        assert patch[key] == target[key], (patch[key], target[key])
    assert patch["metadata"]["name"] == target["metadata"]["name"]
    if patch.get("$patch") == "delete":
        return None
    return merge(target, patch)
