"""One escaping filter per output language. Every value that enters a file goes through one.

Hostile names (quotes, ``${...}``, ``$(...)``, backticks, newlines) must come out inert.
"""

from __future__ import annotations

import io
import json
import shlex

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


def hcl(value: object) -> str:
    """An HCL string literal: quoted, escaped, with ``${`` and ``%{`` doubled so nothing interpolates."""
    text = "" if value is None else str(value)
    out = json.dumps(text, ensure_ascii=False)[1:-1]  # backslashes, quotes, control characters
    out = out.replace("${", "$${").replace("%{", "%%{")
    return f'"{out}"'


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
