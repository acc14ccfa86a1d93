"""One escaping filter per output language. Every value that enters a file goes through one.

A leaf module: the pure core (findings' remediation commands, plan prerequisites) and the renderers
both use it, and it imports nothing of the package but ``errors`` (``visible``: text for a terminal, the
same escaping every error line gets).

Hostile names (quotes, ``${...}``, ``$(...)``, backticks, newlines) must come out inert.

The text filters escape each distinct string once (``_per_string``): a fleet's cluster, namespace and
identity names recur in hundreds of thousands of lines.
"""

from __future__ import annotations

import io
import re
import shlex
from collections.abc import Callable, Iterable
from functools import lru_cache, wraps
from urllib.parse import quote

from migrator.errors import visible

__all__ = ["backtick_fence", "comment", "dns_name", "hcl", "hcl_ident", "hcl_ref", "is_hcl_reference",
           "md", "md_code", "md_url", "sh", "sh_flag", "sh_words", "visible", "yaml_scalar"]


def _per_string(escape: Callable[[object], str]) -> Callable[[object], str]:
    """``escape`` with its result kept for the most recent strings (escaping is a pure function)."""
    cached = lru_cache(maxsize=1 << 16)(escape)

    @wraps(escape)
    def escaped(value: object) -> str:
        return cached(value) if type(value) is str else escape(value)

    return escaped


_MD_SPECIAL = str.maketrans({
    "\\": "\\\\", "`": "\\`", "*": "\\*", "_": "\\_", "|": "\\|", "<": "&lt;", ">": "&gt;",
    "[": "\\[", "]": "\\]", "#": "\\#",
})


@_per_string
def md(value: object) -> str:
    """Markdown text (tables included): special characters escaped, one line; other control characters (ESC,
    BEL, ...) shown as escapes, so the report printed on a terminal cannot drive it."""
    text = "" if value is None else str(value)
    text = visible(text.replace("\r", " ").replace("\n", " "))
    return text.translate(_MD_SPECIAL)


_BACKTICKS = re.compile(r"`+")
_BACKTICK_BYTES = re.compile(rb"`+")


def backtick_fence(text: str | bytes, shortest: int = 1) -> str:
    """A run of backticks longer than any inside ``text`` (and at least ``shortest``): nothing in it can close it."""
    runs = _BACKTICK_BYTES.findall(text) if isinstance(text, bytes) else _BACKTICKS.findall(text)
    return "`" * max(shortest, max(map(len, runs), default=0) + 1)


@_per_string
def md_code(value: object) -> str:
    """Inline code: a backtick fence longer than any run of backticks inside."""
    text = visible(("" if value is None else str(value)).replace("\r", " ").replace("\n", " ")).replace("|", "\\|")
    fence = backtick_fence(text)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


@_per_string
def sh(value: object) -> str:
    """One shell word, single-quoted where needed (POSIX)."""
    return shlex.quote("" if value is None else str(value))


def sh_flag(flag: str, value: object) -> str:
    """``--flag=value`` with the value one shell word: no value can pass for a flag (the runbooks' form)."""
    return f"{flag}={sh(value)}"


def sh_words(values: Iterable[object]) -> str:
    """A command line: each value one shell word (``sh``), separated by spaces."""
    return " ".join(map(sh, values))


_HCL_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_HCL_CONTROLS = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_HCL_TRANSLATION = {**{c: f"\\u{c:04x}" for c in _HCL_CONTROLS}, **{ord(ch): esc for ch, esc in _HCL_ESCAPES.items()}}


@_per_string
def hcl(value: object) -> str:
    """An HCL string literal: quoted, escaped, with ``${`` and ``%{`` doubled so nothing interpolates.

    HCL knows only ``\\n \\r \\t \\" \\\\ \\uNNNN``: every other control character becomes ``\\uNNNN``
    (JSON's ``\\b`` and ``\\f`` would not parse).
    """
    text = "" if value is None else str(value)
    escaped = text.translate(_HCL_TRANSLATION).replace("${", "$${").replace("%{", "%%{")
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


_COMMENT_BREAKS = dict.fromkeys([*range(0x20), 0x7F, 0x85, 0x2028, 0x2029], " ")


@_per_string
def comment(value: object) -> str:
    """Text inside a one-line comment (HCL ``#``, YAML ``#``): control characters become spaces."""
    return ("" if value is None else str(value)).translate(_COMMENT_BREAKS)


@_per_string
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


_NOT_DNS = re.compile(r"[^a-z0-9-]+")


def dns_name(text: str, suffix: str = "") -> str:
    """A DNS-1123 name made from ``text`` (lower case, '-' for anything else), at most 63 characters."""
    base = _NOT_DNS.sub("-", text.lower()).strip("-") or "x"
    return (base[: 63 - len(suffix)].rstrip("-") + suffix)[:63]
