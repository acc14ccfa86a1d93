"""YAML documents exactly as PyYAML writes them, written without PyYAML when they are plain.

At fleet scale render writes several hundred thousand small YAML documents (100,000 service
accounts make about 450,000), and PyYAML spends some 80 µs on each: its representer and serializer
visit every node in Python. ``dump(doc)`` returns the bytes of ``yaml.dump(doc, Dumper=Dumper,
**OPTIONS)`` (``tests/render/test_yamlwriter.py`` holds it to that); it writes the common case itself
and hands everything else to PyYAML:

* the layout is PyYAML's block style: a nested mapping is indented by two spaces, a list is not
  indented under its key, a mapping inside a list starts on the list's ``- `` line;
* a string is written bare only when it is *plain-safe* (``PLAIN_SAFE``: letters, digits, and
  punctuation that is no YAML indicator wherever it stands, single spaces between words) and the
  YAML 1.1 resolver reads it back as a string; a plain-safe string that the resolver reads as
  something else (``true``, ``1e3``, ``null``) is double-quoted, as ``Dumper`` does; ``None`` is
  ``null``;
* anything else (another string, an empty mapping or list, a list in a list, a number or a bool, a
  key too long for a simple key) sends the whole document to PyYAML, which decides.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml
from yaml.resolver import Resolver

STR_TAG = "tag:yaml.org,2002:str"
OPTIONS: dict[str, Any] = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True, "width": 1 << 16}


# PyYAML's emitter over libyaml (C) where the wheel has it. PyYAML speaks YAML 1.1, the dialect kubectl
# reads: a string that 1.1 would take for a bool, null or number ("yes", "on", "1e3", "null") is quoted
# by the representer itself.
class Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Strings a YAML 1.1 reader would take for something else are double-quoted, as kubectl writes them."""


def _represent_str(dumper: Any, data: str) -> Any:
    tag = dumper.resolve(yaml.ScalarNode, data, (True, False))
    return dumper.represent_scalar(STR_TAG, data, style='"' if tag != STR_TAG else None)


Dumper.add_representer(str, _represent_str)

#: a string libyaml writes bare in block context, as a key or a value: it starts with a letter, a digit
#: or one of ``_ $ ^ <`` (no indicator); then no ``: # , ? [ ] { }`` or quote, no line break, no leading,
#: trailing or double space. Short, so that no line reaches the emitter's width and every key is simple.
PLAIN_SAFE = re.compile(r"[A-Za-z0-9_$^<][A-Za-z0-9_$^<>.\\/()|+=-]*(?: [A-Za-z0-9_$^<>.\\/()|+=-]+)*")
MAX_PLAIN = 128  # libyaml's longest simple key
_RESOLVER = Resolver()


class _NotPlain(Exception):
    """A value this writer leaves to PyYAML."""


@lru_cache(maxsize=1 << 14)
def _string(text: str) -> str:
    if len(text) > MAX_PLAIN or not PLAIN_SAFE.fullmatch(text):
        raise _NotPlain
    return text if _RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == STR_TAG else f'"{text}"'


def _scalar(value: object) -> str:
    if type(value) is str:
        return _string(value)
    if value is None:
        return "null"
    raise _NotPlain  # PyYAML's representers, not a subclass's look-alike


def _mapping(mapping: dict[Any, Any], indent: str, first: str, lines: list[str]) -> None:
    """``mapping``'s lines at ``indent``; its first line starts with ``first`` (``indent``, or a list's ``- ``)."""
    start = first
    for key, value in mapping.items():
        kind = type(value)
        if kind is str:
            lines.append(f"{start}{_scalar(key)}: {_string(value)}\n")
        elif kind is dict and value:
            lines.append(f"{start}{_scalar(key)}:\n")
            _mapping(value, indent + "  ", indent + "  ", lines)
        elif kind is list and value:
            lines.append(f"{start}{_scalar(key)}:\n")
            _sequence(value, indent, lines)
        else:
            lines.append(f"{start}{_scalar(key)}: {_scalar(value)}\n")
        start = indent


def _sequence(items: list[Any], indent: str, lines: list[str]) -> None:
    for item in items:
        if type(item) is dict and item:
            _mapping(item, indent + "  ", indent + "- ", lines)
        else:
            lines.append(f"{indent}- {_scalar(item)}\n")


def dump(doc: dict[str, Any]) -> str:
    """``doc`` as PyYAML's block-style YAML, the same bytes whichever of the two writes it."""
    if type(doc) is dict and doc:
        lines: list[str] = []
        try:
            _mapping(doc, "", "", lines)
            return "".join(lines)
        except _NotPlain:
            pass
    return yaml.dump(doc, Dumper=Dumper, **OPTIONS)
