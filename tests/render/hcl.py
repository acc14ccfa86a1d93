"""Reading rendered HCL back: python-hcl2's raw literals decoded, interpolation detected, blocks walked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_ESC = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class Interpolation(AssertionError):
    pass


def unquote(raw: str) -> str:
    """The value of an HCL quoted string literal; raises ``Interpolation`` on an unescaped ``${`` or ``%{``."""
    assert raw.startswith('"') and raw.endswith('"') and len(raw) >= 2, raw
    body, out, i = raw[1:-1], [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
            elif nxt == "U":
                out.append(chr(int(body[i + 2:i + 10], 16)))
                i += 10
            else:
                out.append(_ESC[nxt])
                i += 2
        elif body.startswith("$${", i) or body.startswith("%%{", i):
            out.append(body[i + 1:i + 3])
            i += 3
        elif body.startswith("${", i) or body.startswith("%{", i):
            raise Interpolation(f"live template sequence in {raw!r}")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def blocks(doc: dict[str, Any]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(block type, resource type, label, body) of every resource/data block; labels unquoted."""
    for kind in ("resource", "data"):
        for entry in doc.get(kind, []):
            for rtype, by_label in entry.items():
                for label, body in by_label.items():
                    yield kind, rtype.strip('"'), label.strip('"'), body


def strings(value: Any) -> Iterator[str]:
    """Every quoted literal inside an attribute value (lists and nested objects included)."""
    if isinstance(value, str) and value.startswith('"'):
        yield value
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k != "__is_block__":
                yield from strings(v)


_REF = re.compile(r"\$\{(.*)\}", re.S)


def reference(value: Any) -> str | None:
    """The expression of an unquoted attribute (python-hcl2 writes it as ``${...}``)."""
    if isinstance(value, str):
        m = _REF.fullmatch(value)
        return m.group(1) if m else None
    return None
