"""The output folder: built whole in a temporary folder beside it, then moved in; a manifest of owned files.

``write_tree(files, out)``:

1. checks everything first: ``out`` is a folder (or does not exist yet), no rendered path would
   replace a file the tool does not own, a folder, or a symbolic link; nothing is written otherwise;
2. writes every file into a temporary folder next to ``out`` (same file system, so moves are atomic);
3. records the union of the old and the new owned files in the manifest, so an interrupted run
   still knows what it owns; moves each file in with ``os.replace`` (a file is replaced whole or
   not at all; unchanged files are left untouched);
4. removes owned files that are no longer rendered (and the folders this leaves empty), never a
   file a user added; writes the final manifest; removes the temporary folder.

The manifest (``.wi-migrator-manifest``) lists the owned files, sorted, one relative path a line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from migrator.errors import Location, OutputError

MANIFEST = ".wi-migrator-manifest"
MANIFEST_HEADER = ("# Files written by migrate render; a re-render replaces or removes exactly these.\n"
                   "# Files not listed here are yours and are never touched.\n")


@dataclass(frozen=True)
class TreeResult:
    written: tuple[str, ...]  # new or changed
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def _safe(rel: str) -> PurePosixPath | None:
    path = PurePosixPath(rel)
    if not rel or path.is_absolute() or any(p in ("", ".", "..") for p in path.parts) or "\\" in rel:
        return None
    return path


def read_manifest(out: Path) -> set[str]:
    """The owned files recorded in ``out``'s manifest (unsafe lines are ignored, never trusted)."""
    try:
        text = (out / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read the manifest: {exc}", location=Location(out / MANIFEST)) from None
    return {line for line in text.splitlines() if line and not line.startswith("#") and _safe(line)}


def manifest_text(paths: set[str] | list[str]) -> str:
    return MANIFEST_HEADER + "".join(f"{p}\n" for p in sorted(paths))


def check_out(out: Path) -> None:
    """``--out`` must be a folder or not exist yet (its parent is created if needed)."""
    if out.exists() and not out.is_dir():
        raise OutputError("--out is a file, not a folder", location=Location(out),
                          hint="give a folder (it is created if it does not exist)")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputError("a parent of --out is a file", location=Location(parent))
            break


def _conflicts(files: dict[str, bytes], out: Path, owned: set[str]) -> list[str]:
    problems = []
    for rel in sorted(files):
        target = out / rel
        for parent in PurePosixPath(rel).parents:
            if str(parent) != "." and (out / parent).exists() and (
                    not (out / parent).is_dir() or (out / parent).is_symlink()):
                problems.append(f"{parent} is not a folder")
        if target.is_symlink() or (target.exists() and not target.is_file()):
            problems.append(f"{rel} exists and is not a regular file")
        elif target.exists() and rel not in owned:
            problems.append(f"{rel} exists and was not written by migrate render")
    return sorted(set(problems))


def write_tree(files: dict[str, bytes], out: Path) -> TreeResult:
    """Write ``files`` (relative POSIX path → bytes) into ``out`` atomically; see the module docstring."""
    for rel in files:
        if _safe(rel) is None or rel == MANIFEST:
            raise ValueError(f"unsafe output path {rel!r}")  # a bug: names.py makes every path
    check_out(out)
    owned = read_manifest(out) if out.is_dir() else set()
    problems = _conflicts(files, out, owned)
    if problems:
        raise OutputError(f"{len(problems)} file(s) in the way: " + "; ".join(problems[:5])
                          + ("; ..." if len(problems) > 5 else ""), location=Location(out),
                          hint="move them away, or render into another folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror}", location=Location(out)) from None
    try:
        for rel, data in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        _write_manifest(out, staging, owned | set(files))
        written, unchanged = [], []
        for rel in sorted(files):
            target = out / rel
            if target.is_file() and target.read_bytes() == files[rel]:
                unchanged.append(rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
            written.append(rel)
        removed = []
        for rel in sorted(owned - set(files)):
            target = out / rel
            if target.is_file() and not target.is_symlink():
                target.unlink()
                removed.append(rel)
            _prune(out, PurePosixPath(rel).parent)
        _write_manifest(out, staging, set(files))
    except OSError as exc:
        raise OutputError(f"cannot write the output: {exc.strerror or exc}",
                          location=Location(Path(exc.filename) if exc.filename else out)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TreeResult(tuple(written), tuple(unchanged), tuple(removed))


def _write_manifest(out: Path, staging: Path, paths: set[str]) -> None:
    tmp = staging / MANIFEST
    tmp.write_text(manifest_text(paths), encoding="utf-8", newline="\n")
    os.replace(tmp, out / MANIFEST)


def _prune(out: Path, folder: PurePosixPath) -> None:
    """Remove folders a removal left empty, up to (not including) ``out``."""
    while str(folder) not in (".", ""):
        path = out / folder
        try:
            path.rmdir()  # only succeeds when empty
        except OSError:
            return
        folder = folder.parent
