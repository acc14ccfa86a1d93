"""A small subset of KQL for the Resource Graph endpoint.

Supported: a table (``Resources``, ``AuthorizationResources``, ``ResourceContainers`` — subscriptions
only) followed by ``| where``, ``| project``,
``| project-away``, ``| extend``, ``| order by`` / ``| sort by``, ``| take`` / ``| limit``, ``| count``.
Expressions: ``and``/``or``/``not(...)``, ``== != =~ !~ contains !contains has !has startswith
endswith in in~ !in``, ``< <= > >=``, property paths (``properties.oidcIssuerProfile.issuerURL``,
``tags['env']``), string/number/bool literals, and ``tolower toupper tostring isnotempty isempty
isnull isnotnull strcat array_length``.  Anything else raises :class:`KqlError` (the server answers
400 ``BadRequest``/``InvalidQuery`` like ARG does for a bad query).
"""

from __future__ import annotations

import re
from typing import Any, Callable

__all__ = ["KqlError", "run_query"]


class KqlError(ValueError):
    pass


_TOK = re.compile(r"""\s*(?:
    (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|
    (?P<num>\d+(?:\.\d+)?)|
    (?P<op>==|!=|=~|!~|<=|>=|!in~|!in|in~|[|(),.\[\]=<>!])|
    (?P<id>[A-Za-z_][A-Za-z0-9_\-]*)
)""", re.X)


def _tokens(s: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    s = s.strip()
    while pos < len(s):
        m = _TOK.match(s, pos)
        if not m or m.end() == pos:
            raise KqlError(f"Query is invalid near {s[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        val = m.group(kind)
        if kind == "id" and "-" in val and val not in ("project-away",):
            # identifiers with '-' only for project-away; split the rest
            head, _, tail = val.partition("-")
            out.append(("id", head))
            out.append(("op", "-"))
            out.append(("id", tail))
            continue
        out.append((kind, val))
    return out


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


def _s(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v if isinstance(v, str) else str(v)


_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "=~": lambda a, b: _lower(_s(a)) == _lower(_s(b)),
    "!~": lambda a, b: _lower(_s(a)) != _lower(_s(b)),
    "contains": lambda a, b: _s(b).lower() in _s(a).lower(),
    "!contains": lambda a, b: _s(b).lower() not in _s(a).lower(),
    "has": lambda a, b: _s(b).lower() in re.split(r"[^0-9a-z]+", _s(a).lower()),
    "!has": lambda a, b: _s(b).lower() not in re.split(r"[^0-9a-z]+", _s(a).lower()),
    "startswith": lambda a, b: _s(a).lower().startswith(_s(b).lower()),
    "endswith": lambda a, b: _s(a).lower().endswith(_s(b).lower()),
    "in": lambda a, b: a in b,
    "in~": lambda a, b: _lower(_s(a)) in [_lower(_s(x)) for x in b],
    "!in": lambda a, b: a not in b,
    "<": lambda a, b: a is not None and a < b,
    "<=": lambda a, b: a is not None and a <= b,
    ">": lambda a, b: a is not None and a > b,
    ">=": lambda a, b: a is not None and a >= b,
}
_FUNCS: dict[str, Callable[..., Any]] = {
    "tolower": lambda v: _s(v).lower(), "toupper": lambda v: _s(v).upper(), "tostring": _s,
    "isnotempty": lambda v: v not in (None, "", [], {}), "isempty": lambda v: v in (None, "", [], {}),
    "isnull": lambda v: v is None, "isnotnull": lambda v: v is not None,
    "strcat": lambda *vs: "".join(_s(v) for v in vs), "array_length": lambda v: len(v) if isinstance(v, list) else None,
}
Expr = Callable[[dict[str, Any]], Any]


class _Parser:
    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.t = toks
        self.i = 0

    def peek(self, k: int = 0) -> tuple[str, str]:
        return self.t[self.i + k] if self.i + k < len(self.t) else ("eof", "")

    def take(self, val: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if val is not None and tok[1].lower() != val.lower():
            raise KqlError(f"Query is invalid: expected {val!r}, got {tok[1]!r}")
        self.i += 1
        return tok

    def at(self, *vals: str) -> bool:
        return self.peek()[1].lower() in vals and self.peek()[0] in ("id", "op")

    # expression grammar
    def expr(self) -> Expr:
        left = self.and_()
        while self.at("or"):
            self.take()
            right = self.and_()
            left = (lambda a, b: lambda r: bool(a(r)) or bool(b(r)))(left, right)
        return left

    def and_(self) -> Expr:
        left = self.cmp()
        while self.at("and"):
            self.take()
            right = self.cmp()
            left = (lambda a, b: lambda r: bool(a(r)) and bool(b(r)))(left, right)
        return left

    def cmp(self) -> Expr:
        left = self.value()
        tok = self.peek()
        op = tok[1].lower()
        if op == "!" and self.peek(1)[1].lower() in ("contains", "has", "in", "in~"):
            self.take()
            op = "!" + self.take()[1].lower()
        elif op in _CMP and tok[0] in ("op", "id"):
            self.take()
        else:
            return left
        if op in ("in", "in~", "!in"):
            self.take("(")
            items: list[Expr] = []
            while not self.at(")"):
                items.append(self.value())
                if self.at(","):
                    self.take()
            self.take(")")
            fn = _CMP[op]
            return lambda r: fn(left(r), [x(r) for x in items])
        right = self.value()
        fn = _CMP[op]
        return lambda r: fn(left(r), right(r))

    def value(self) -> Expr:
        kind, val = self.peek()
        if kind == "str":
            self.take()
            s = bytes(val[1:-1], "utf-8").decode("unicode_escape")
            return lambda r: s
        if kind == "num":
            self.take()
            n = float(val) if "." in val else int(val)
            return lambda r: n
        if kind == "op" and val == "(":
            self.take()
            e = self.expr()
            self.take(")")
            return e
        if kind == "id":
            low = val.lower()
            if low in ("true", "false"):
                self.take()
                return lambda r: low == "true"
            if low == "not" and self.peek(1)[1] == "(":
                self.take()
                self.take("(")
                e = self.expr()
                self.take(")")
                return lambda r: not e(r)
            if self.peek(1)[1] == "(" and low in _FUNCS:
                self.take()
                self.take("(")
                args: list[Expr] = []
                while not self.at(")"):
                    args.append(self.expr())
                    if self.at(","):
                        self.take()
                self.take(")")
                fn = _FUNCS[low]
                return lambda r: fn(*[a(r) for a in args])
            path = self.path()
            return lambda r: _get(r, path)
        raise KqlError(f"Query is invalid near {val!r}")

    def path(self) -> list[Any]:
        parts: list[Any] = [self.take()[1]]
        while True:
            if self.at("."):
                self.take()
                parts.append(self.take()[1])
            elif self.at("["):
                self.take()
                k, v = self.take()
                parts.append(v[1:-1] if k == "str" else int(v))
                self.take("]")
            else:
                return parts


def _get(row: dict[str, Any], path: list[Any]) -> Any:
    cur: Any = row
    for i, p in enumerate(path):
        if isinstance(cur, dict):
            if isinstance(p, str) and p not in cur:
                # KQL property names are case-sensitive for dynamic, but columns are not
                if i == 0:
                    match = [k for k in cur if k.lower() == p.lower()]
                    cur = cur[match[0]] if match else None
                else:
                    cur = None
            else:
                cur = cur.get(p) if isinstance(p, str) else None
        elif isinstance(cur, list) and isinstance(p, int):
            cur = cur[p] if -len(cur) <= p < len(cur) else None
        else:
            return None
    return cur


def _col_name(path: list[Any]) -> str:
    return "_".join(str(p) for p in path)


def run_query(query: str, tables: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    toks = _tokens(query)
    p = _Parser(toks)
    kind, table = p.take()
    if kind != "id" or table.lower() not in tables:
        raise KqlError(f"Table '{table}' could not be found or is not supported")
    rows = list(tables[table.lower()])
    while p.peek()[0] != "eof":
        p.take("|")
        op = p.take()[1].lower()
        if op == "where":
            e = p.expr()
            rows = [r for r in rows if e(r)]
        elif op in ("project", "extend"):
            cols: list[tuple[str, Expr]] = []
            while True:
                if p.peek()[0] == "id" and p.peek(1)[1] == "=" and p.peek(1)[0] == "op":
                    name = p.take()[1]
                    p.take("=")
                    cols.append((name, p.expr()))
                else:
                    start = p.i
                    e = p.expr()
                    seg = p.t[start:p.i]
                    if all(k in ("id", "op", "str") for k, _ in seg) and seg and seg[0][0] == "id":
                        q = _Parser(seg)
                        name = _col_name(q.path()) if len(seg) > 1 else seg[0][1]
                    else:
                        name = f"Column{len(cols) + 1}"
                    cols.append((name, e))
                if p.at(","):
                    p.take()
                    continue
                break
            if op == "project":
                rows = [{n: e(r) for n, e in cols} for r in rows]
            else:
                rows = [{**r, **{n: e(r) for n, e in cols}} for r in rows]
        elif op == "project-away":
            names = {p.take()[1]}
            while p.at(","):
                p.take()
                names.add(p.take()[1])
            rows = [{k: v for k, v in r.items() if k not in names} for r in rows]
        elif op in ("order", "sort"):
            p.take("by")
            keys: list[tuple[Expr, bool]] = []
            while True:
                e = p.value()
                desc = True  # KQL default is descending
                if p.at("asc", "desc"):
                    desc = p.take()[1].lower() == "desc"
                keys.append((e, desc))
                if p.at(","):
                    p.take()
                    continue
                break
            for e, desc in reversed(keys):
                rows.sort(key=lambda r, e=e: (e(r) is None, _s(e(r)) if not isinstance(e(r), (int, float)) else e(r)),
                          reverse=desc)
        elif op in ("take", "limit"):
            n = int(p.take()[1])
            rows = rows[:n]
        elif op == "count":
            rows = [{"Count": len(rows)}]
        else:
            raise KqlError(f"Operator '{op}' is not supported by the local Resource Graph")
    return rows
