"""One escaping filter per output language. Every value that enters a file goes through one.

Hostile names (quotes, ``${...}``, ``$(...)``, backticks, newlines) must come out inert.
"""

from __future__ import annotations

import io
import re
import shlex
from urllib.parse import quote

_MD_SPECIAL = str.maketrans({
    "\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "|": "\\|", "<": "&lt;", ">": "&gt;",
    "[": "\\[", "]": "\\]", "#": "\\#",
})


def md(value: object) -> str:
    """Markdown text (tables included): special characters escaped, one line."""
    text = "" if value is None else str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    return text.translate(_MD_SPECIAL)


def md_code(value: object) -> str:
    """Inline code: a backtick fence longer than any run of backticks inside."""
    text = ("" if value is None else str(value)).replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def sh(value: object) -> str:
    """One shell word, single-quoted where needed (POSIX)."""
    return shlex.quote("" if value is None else str(value))


_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def hcl(value: object) -> str:
    """An HCL string literal: quoted, escaped, with ``${`` and ``%{`` doubled so nothing interpolates.

    HCL knows only ``\\n \\r \\t \\" \\\\ \\uNNNN``: every other control character becomes ``\\uNNNN``
    (JSON's ``\\b`` and ``\\f`` would not parse).
    """
    text = "" if value is None else str(value)
    out = []
    for ch in text:
        if ch in _HCL_ESCAPES:
            out.append(_HCL_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0x80 <= ord(ch) < 0xA0 or ch in "\u2028\u2029":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    escaped = "".join(out).replace("${", "$${").replace("%{", "%%{")
    return f'"{escaped}"'


_HCL_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_HCL_REF = re.compile(r'[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\]|\["[A-Za-z0-9_.-]+"\])+')


def hcl_ident(value: object) -> str:
    """An HCL identifier (block label, provider alias) made by Python: checked, never escaped."""
    text = str(value)
    if not _HCL_IDENT.fullmatch(text):
        raise ValueError(f"not an HCL identifier: {text!r}")
    return text


def is_hcl_reference(value: object) -> bool:
    """A plain traversal such as ``module.aks_weu.oidc_issuer_url`` or ``module.aks["weu"].oidc_issuer_url``."""
    return isinstance(value, str) and bool(_HCL_REF.fullmatch(value))


def hcl_ref(value: object) -> str:
    """An HCL reference expression given by the user (``terraformIssuer``): checked, then written as is."""
    if not is_hcl_reference(value):
        raise ValueError(f"not a plain HCL reference: {value!r}")
    return str(value)


def comment(value: object) -> str:
    """Text inside a one-line comment (HCL ``#``, YAML ``#``): control characters become spaces."""
    text = "" if value is None else str(value)
    return "".join(" " if (ord(ch) < 0x20 or ord(ch) == 0x7F or ch in "\u0085\u2028\u2029") else ch for ch in text)


def md_url(value: object) -> str:
    """A relative link target in Markdown: percent-encoded, so spaces and parentheses cannot end it."""
    return quote("" if value is None else str(value), safe="/-._~")


def yaml_scalar(value: object) -> str:
    """A YAML scalar emitted by the YAML library (never by concatenation), on one line."""
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)
    y.default_flow_style = True
    y.width = 1 << 30
    buf = io.StringIO()
    y.dump(value if value is None or isinstance(value, (bool, int, float)) else str(value), buf)
    text = buf.getvalue()
    text = text.removesuffix("\n").removesuffix("\n...")
    return text
