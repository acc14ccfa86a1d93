"""Untrusted input files, read within bounds: regular files only, a size limit, a nesting limit, and YAML
whose aliases cannot expand without end (docs/security.md).

Every file the tool reads is written by someone else (a fleet file from a repository, snapshot files
archived by a colleague, a plan edited in review), so none of them may make the tool hang, exhaust
memory or overflow the stack:

* ``read_regular``: a FIFO, a device (``/dev/zero``) or a socket is refused before a byte is read
  (opening a FIFO or reading ``/dev/zero`` would never end); a size limit is checked before reading
  and again while reading (a file that grows).
* ``json_too_deep``: JSON nested deeper than ``MAX_JSON_DEPTH`` is refused before it is decoded (the
  decoders recurse once per level), with the JSON path where the limit is crossed.
* ``bounded_yaml``: a ruamel.yaml loader whose documents nest at most ``MAX_YAML_DEPTH`` levels, hold at
  most ``MAX_YAML_ALIASES`` aliases, and expand (every alias counted as the whole node it repeats) to
  at most ``MAX_YAML_NODES`` nodes: a 400-byte "billion laughs" file is refused at once.

A leaf module (errors aside): the callers turn ``InputLimitError`` and ``OSError`` into their own error
with the file's location, or let ``read_input`` do it.
"""

from __future__ import annotations

import array
import errno
import os
import re
import stat
from itertools import accumulate
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError
from ruamel.yaml.events import AliasEvent

#: the fleet file (a thousand clusters take about 300 kB)
MAX_FLEET_BYTES = 10 * 1024 * 1024
#: JSON nesting: Kubernetes objects, even CRD schemas, stay far below; Python recursion ends near 1,000
MAX_JSON_DEPTH = 256
#: YAML nesting (a fleet file nests five levels)
MAX_YAML_DEPTH = 64
#: aliases in one YAML document (one ``<<: *defaults`` per cluster of a large fleet)
MAX_YAML_ALIASES = 10_000
#: nodes of one YAML document with every alias expanded
MAX_YAML_NODES = 1_000_000


class InputLimitError(ValueError):
    """An input file is not a regular file, or exceeds a limit; the message says which."""


_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _check_regular(st: os.stat_result, path: Path) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(st.st_mode):
        raise InputLimitError(f"not a regular file: it is {file_kind(st.st_mode)}")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit >= 1024 * 1024 else f"{limit} bytes"


def read_regular(path: Path, *, limit: int | None = None) -> bytes:
    """The bytes of a regular file (symbolic links followed), at most ``limit`` of them.

    Raises ``FileNotFoundError``, ``IsADirectoryError`` and other ``OSError`` as ``open`` does, and
    ``InputLimitError`` for a FIFO, device or socket, or a file larger than ``limit``.
    """
    _check_regular(os.stat(path), path)  # a FIFO is never opened: opening one for reading blocks
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        _check_regular(st, path)  # replaced between the two looks
        if limit is not None and st.st_size > limit:
            raise InputLimitError(f"larger than {_size(limit)} ({st.st_size} bytes)")
        data = handle.read() if limit is None else handle.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise InputLimitError(f"larger than {_size(limit)}")
    return data


# ------------------------------------------------------------------------------------------ JSON depth

_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')
_DELTAS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 / -1 as signed bytes


def json_depth(data: bytes) -> int:
    """How deep ``data`` (JSON) nests, counting the brackets outside strings; fast (no Python loop per byte).

    Escapes go first (``\\\\`` then ``\\"``), then everything but quotes and brackets; adjacent quotes
    (a string without a bracket) drop out in pairs, which keeps every bracket's side of the quotes;
    what remains splits on quotes into outside (even) and inside (odd) pieces.
    """
    if b"\\" in data:
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = data.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in skeleton:
        skeleton = b"".join(skeleton.split(b'"')[0::2])
    return max(accumulate(array.array("b", skeleton.translate(_DELTAS))), default=0)


_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}:,]', re.S)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _json_path(parts: list[Any]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


def _path_at_depth(data: bytes, limit: int) -> str:
    """The JSON path of the first value nested deeper than ``limit`` (only called once it is known to be)."""
    stack: list[Any] = []  # per open container: its current key (object) or index (array)
    kinds: list[bytes] = []
    last_string: str | None = None
    for match in _TOKEN.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            if len(stack) >= limit:
                return _json_path(stack)
            stack.append(0 if token == b"[" else "")
            kinds.append(token)
        elif token in (b"]", b"}"):
            if stack:
                stack.pop()
                kinds.pop()
        elif token == b",":
            if kinds and kinds[-1] == b"[":
                stack[-1] += 1
        elif token == b":":
            if kinds and kinds[-1] == b"{" and last_string is not None:
                stack[-1] = last_string
        else:
            last_string = token[1:-1].decode("utf-8", "replace")[:80]
    return _json_path(stack)


def json_too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """None when ``data`` nests at most ``limit`` levels, else a message with the JSON path where it goes deeper."""
    if data.count(b"[") + data.count(b"{") <= limit or json_depth(data) <= limit:
        return None
    return f"nested deeper than {limit} levels at {_path_at_depth(data, limit)}"


# ------------------------------------------------------------------------------------------ YAML


class YamlLimitError(MarkedYAMLError):
    """A YAML document that nests too deep, or whose aliases expand too far."""


class _BoundedComposer(Composer):
    """ruamel.yaml's composer, counting depth, aliases and the expanded size of every node as it is built."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False  # legal YAML (the later anchor wins); a warning would print Python's lines
        self._level = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, aliases expanded

    def compose_document(self) -> Any:
        self._level, self._aliases, self._sizes = 0, 0, {}
        try:
            return super().compose_document()
        finally:
            self._sizes = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise YamlLimitError(None, None, f"more than {MAX_YAML_ALIASES} aliases", event.start_mark)
        self._level += 1
        if self._level > MAX_YAML_DEPTH:
            raise YamlLimitError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._level -= 1
        key = id(node)
        if key not in self._sizes:  # an alias repeats a node already counted
            size = 1
            if isinstance(node.value, list):
                for item in node.value:
                    for child in item if isinstance(item, tuple) else (item,):
                        size += self._sizes.get(id(child), 1)
            if size > MAX_YAML_NODES:
                raise YamlLimitError(None, None, f"more than {MAX_YAML_NODES} values once its aliases are "
                                                 "expanded (an alias bomb?)", node.start_mark)
            self._sizes[key] = size
        return node


def bounded_yaml() -> YAML:
    """A round-trip ruamel.yaml instance (line numbers, comments) that refuses deep nesting and alias
    expansion beyond the limits above. Round-trip only: the other loaders may compose in C."""
    yaml = YAML(typ="rt")
    yaml.Composer = _BoundedComposer
    return yaml


def read_input(path: Path, what: str, *, hint: str, limit: int | None = None) -> bytes:
    """The bytes of the input file ``what`` (``"the plan file"``) at ``path``, or ``InputError`` (exit 2) saying
    why not: missing (with ``hint``), a folder, not a regular file (a FIFO is never opened), unreadable."""
    from migrator.errors import InputError, Location

    try:
        return read_regular(path, limit=limit)
    except FileNotFoundError:
        raise InputError(f"{what} does not exist", location=Location(path), hint=hint) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a folder", location=Location(path), hint=hint) from None
    except InputLimitError as exc:
        raise InputError(f"cannot read {what}: {exc}", location=Location(path), hint=hint) from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror or exc}", location=Location(path)) from None
