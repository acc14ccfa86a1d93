"""Atomic output: a file is either replaced whole or left untouched.

The target of ``--out`` is checked first: a regular file (replaced, keeping its permissions) or
nothing yet (created with the umask's permissions). A character or block device, a FIFO, a socket or
a folder is refused, never replaced: ``--out /dev/null`` run as root would otherwise put a regular
file where the system's ``/dev/null`` was. ``-`` is standard output (``STDOUT``).
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from pathlib import Path

from migrator.errors import Location, OutputError
from migrator.inputs import file_kind

#: ``--out -``: write to standard output instead of a file
STDOUT = Path("-")


def is_stdout(path: Path | None) -> bool:
    """No ``--out``, or ``--out -``: the output goes to standard output."""
    return path is None or str(path) == "-"


def write_stdout(data: str | bytes) -> None:
    if isinstance(data, str):
        sys.stdout.write(data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    sys.stdout.flush()


def check_target(path: Path) -> os.stat_result | None:
    """The existing regular file at ``path`` (symbolic links followed), None when there is none; else refused."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"cannot use the output path: {exc.strerror or exc}", location=Location(path)) from None
    if stat.S_ISDIR(st.st_mode):
        raise OutputError("the output path is a folder", location=Location(path),
                          hint="give a file name (or --out - for standard output)")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"the output path is {file_kind(st.st_mode)}, not a file: it is never replaced",
                          location=Location(path), hint="give a file name, or --out - for standard output")
    return st


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file in the same folder and ``os.replace``."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    ``path`` must be a regular file or not exist; a replaced file keeps its permission bits (and, for
    root, its owner); a new one gets the umask's.
    """
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError("the output folder does not exist", location=Location(folder),
                          hint="create it first, or choose another --out path")
    existing = check_target(path)
    tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        raise OutputError(f"cannot write in the output folder: {exc.strerror or exc}", location=Location(folder),
                          hint="check that the folder is writable, or choose another --out path") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if existing is not None:
                os.fchmod(fd, stat.S_IMODE(existing.st_mode))
                if os.geteuid() == 0:
                    os.fchown(fd, existing.st_uid, existing.st_gid)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write the output: {exc.strerror or exc}", location=Location(path)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def inside(root: Path, *names: str) -> Path:
    """``root / name / ...`` for names that are each one plain path component: no separator, not empty, ``.``
    or ``..``, no control character. The one way a name from the input becomes part of an output path."""
    for name in names:
        if (not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name
                or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name)):
            raise OutputError(f"{name!r} cannot be a file or folder name: it would leave the output folder",
                              location=Location(root), hint="names that become paths are plain names")
    return root.joinpath(*names)
