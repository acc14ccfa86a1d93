"""Label and field selectors with the API server's syntax and errors."""

from __future__ import annotations

import re
from typing import Any, Callable

__all__ = ["SelectorError", "parse_label_selector", "parse_field_selector", "match_label_selector_obj",
           "POD_FIELDS"]


class SelectorError(ValueError):
    pass


_TOKEN = re.compile(r"\s*(!=|==|=|!|,|\(|\)|[^\s,=!()]+)")

Matcher = Callable[[dict[str, str]], bool]


def parse_label_selector(s: str) -> Matcher:
    """``a=b,c!=d,e in (x,y),f notin (z),g,!h`` -> predicate over a labels dict."""
    s = (s or "").strip()
    if not s:
        return lambda labels: True
    tokens = [t for t in _TOKEN.findall(s)]
    reqs: list[Matcher] = []
    i = 0

    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise SelectorError(f"unable to parse requirement: {msg}")

    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            need(i + 1 < len(tokens), "missing key after !")
            key = tokens[i + 1]
            reqs.append(lambda lb, k=key: k not in lb)
            i += 2
        else:
            key = tok
            need(key not in {",", "(", ")", "=", "==", "!="}, f"unexpected {key!r}")
            op = tokens[i + 1] if i + 1 < len(tokens) else ","
            if op == ",":
                reqs.append(lambda lb, k=key: k in lb)
                i += 1
            elif op in ("=", "==", "!="):
                need(i + 2 < len(tokens), "missing value")
                val = tokens[i + 2]
                if val == ",":  # "a=" means empty value
                    val = ""
                    i -= 1
                if op == "!=":
                    reqs.append(lambda lb, k=key, v=val: lb.get(k) != v)
                else:
                    reqs.append(lambda lb, k=key, v=val: lb.get(k) == v)
                i += 3
            elif op in ("in", "notin"):
                need(i + 2 < len(tokens) and tokens[i + 2] == "(", "expected (")
                j = i + 3
                vals: set[str] = set()
                while j < len(tokens) and tokens[j] != ")":
                    if tokens[j] != ",":
                        vals.add(tokens[j])
                    j += 1
                need(j < len(tokens), "missing )")
                if op == "in":
                    reqs.append(lambda lb, k=key, vs=frozenset(vals): lb.get(k) in vs)
                else:
                    reqs.append(lambda lb, k=key, vs=frozenset(vals): lb.get(k) not in vs)
                i = j + 1
            else:
                raise SelectorError(f"unable to parse requirement: found '{op}', "
                                    "expected: ',', '=', '!=', 'in', 'notin'")
        if i < len(tokens):
            need(tokens[i] == ",", f"expected ',' got {tokens[i]!r}")
            i += 1
    return lambda labels: all(r(labels) for r in reqs)


#: Field selectors kube-apiserver accepts for pods (besides metadata.name/namespace).
POD_FIELDS = {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}
_EXTRA_FIELDS: dict[str, set[str]] = {
    "pods": POD_FIELDS,
    "events": {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
               "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
               "reason", "reportingComponent", "source", "type"},
    "secrets": {"type"},
    "namespaces": {"status.phase"},
    "nodes": {"spec.unschedulable"},
    "replicasets": {"status.replicas"},
    "jobs": {"status.successful"},
}


def _field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        if path == "spec.hostNetwork":
            return "false"
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def parse_field_selector(s: str, plural: str, builtin: bool = True) -> Callable[[dict[str, Any]], bool]:
    s = (s or "").strip()
    if not s:
        return lambda obj: True
    allowed = {"metadata.name", "metadata.namespace"} | _EXTRA_FIELDS.get(plural, set())
    reqs = []
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{s}'; can't understand '{part}'")
        key, op, val = m.group(1), m.group(2), m.group(3)
        if key not in allowed and (builtin or key not in {"metadata.name", "metadata.namespace"}):
            raise SelectorError(f'field label not supported: {key}')
        if op == "!=":
            reqs.append(lambda o, k=key, v=val: _field_value(o, k) != v)
        else:
            reqs.append(lambda o, k=key, v=val: _field_value(o, k) == v)
    return lambda obj: all(r(obj) for r in reqs)


def match_label_selector_obj(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A ``LabelSelector`` object (matchLabels + matchExpressions).  Empty/None matches everything."""
    if not selector:
        return True
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), set(e.get("values") or [])
        if op == "In" and labels.get(k) not in vals:
            return False
        if op == "NotIn" and labels.get(k) in vals:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True
