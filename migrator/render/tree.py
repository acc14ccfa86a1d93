"""The output folder: built whole in a temporary folder beside it, then moved in; a manifest of owned files.

``write_tree(files, out)``:

1. checks everything first: ``out`` is a folder (or does not exist yet), no rendered path would
   replace a file the tool does not own, a folder, or a symbolic link, and no folder on a rendered
   path is a file or a symbolic link; nothing is written otherwise;
2. writes every new or changed file into a temporary folder next to ``out`` (same file system, so
   moves are atomic); an owned file that already holds the rendered bytes is unchanged;
3. records the union of the old and the new owned files in the manifest, so an interrupted run
   still knows what it owns; moves the files in: a folder that ``out`` does not have yet with one
   rename, all it holds included, and every other file with ``os.replace`` (a file is replaced whole
   or not at all; unchanged files are left untouched);
4. removes owned files that are no longer rendered (and the folders this leaves empty), never a
   file a user added; writes the final manifest; removes the temporary folder.

The manifest (``.wi-migrator-manifest``) lists the owned files, sorted, one relative path a line.

A fleet renders hundreds of thousands of files, so the checks look at each folder once and at a file
only where its folder exists, paths stay strings, and two threads write the temporary folder: creating
a file is mostly system time, outside the GIL, so one thread's Python runs while the other's file is
made (more threads only queue for the GIL).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath

from migrator.errors import Location, OutputError

MANIFEST = ".wi-migrator-manifest"
MANIFEST_HEADER = ("# Files written by migrate render; a re-render replaces or removes exactly these.\n"
                   "# Files not listed here are yours and are never touched.\n")
WRITERS = 2  # threads writing the temporary folder (see above)


@dataclass(frozen=True)
class TreeResult:
    written: tuple[str, ...]  # new or changed
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def _safe(rel: str) -> bool:
    """A relative POSIX path that stays inside the folder: no empty, ``.`` or ``..`` part, no backslash."""
    framed = f"/{rel}/"  # every part between two slashes (a leading "/" makes an empty first part)
    return not ("//" in framed or "/./" in framed or "/../" in framed or "\\" in rel)


def _folder(rel: str) -> str:
    """The folder of a relative path, ``""`` for the top of the tree."""
    return rel.rpartition("/")[0]


def _folders(paths: list[str]) -> list[str]:
    """Every folder the relative ``paths`` lie in, parents included, sorted (a parent before its children)."""
    folders: set[str] = set()
    for rel in paths:
        folder = _folder(rel)
        while folder and folder not in folders:
            folders.add(folder)
            folder = _folder(folder)
    return sorted(folders)


def read_manifest(out: Path) -> set[str]:
    """The owned files recorded in ``out``'s manifest (unsafe lines are ignored, never trusted)."""
    try:
        text = (out / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    except (OSError, UnicodeDecodeError) as exc:
        raise OutputError(f"cannot read the manifest: {exc}", location=Location(out / MANIFEST)) from None
    return {line for line in text.splitlines() if line and not line.startswith("#") and _safe(line)}


def manifest_text(paths: Collection[str]) -> str:
    return MANIFEST_HEADER + "".join(f"{p}\n" for p in sorted(paths))  # sorting a sorted list is one pass


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


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


@dataclass
class _Survey:
    """What ``out`` already holds where the rendered files go."""

    folders: set[str]  # folders of the rendered paths that exist in ``out`` ("" is ``out`` itself)
    unchanged: set[str]  # owned files that already hold the rendered bytes
    problems: list[str]


def _survey(files: dict[str, bytes], paths: list[str], out: Path, owned: set[str]) -> _Survey:
    """Each folder of ``paths`` looked at once, top down; a file only where its folder exists."""
    root = str(out)
    survey = _Survey(folders={""} if out.is_dir() else set(), unchanged=set(), problems=[])
    for folder in _folders(paths):
        if _folder(folder) not in survey.folders:
            continue  # its parent is missing (or in the way), so it is missing too
        st = _lstat(os.path.join(root, folder))
        if st is not None and stat.S_ISDIR(st.st_mode):
            survey.folders.add(folder)
        elif st is not None:
            survey.problems.append(f"{folder} is not a folder")
    for rel in paths:
        if _folder(rel) not in survey.folders:
            continue
        target = os.path.join(root, rel)
        st = _lstat(target)
        if st is None:
            continue
        if not stat.S_ISREG(st.st_mode):
            survey.problems.append(f"{rel} exists and is not a regular file")
        elif rel not in owned:
            survey.problems.append(f"{rel} exists and was not written by migrate render")
        elif st.st_size == len(files[rel]) and _read(target) == files[rel]:
            survey.unchanged.add(rel)
    return survey


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _write_files(root: str, files: dict[str, bytes], paths: list[str]) -> None:
    for rel in paths:
        fd = os.open(os.path.join(root, rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            data = files[rel]
            done = os.write(fd, data)
            while done < len(data):  # a short write: rare, but allowed
                done += os.write(fd, memoryview(data)[done:])
        finally:
            os.close(fd)


def _stage(files: dict[str, bytes], paths: list[str], folders: list[str], staging: str) -> None:
    """``paths`` written into ``staging``: first their ``folders``, each created once (sorted: parents
    first), then the files by ``WRITERS`` threads, each a run of neighbours (they seldom share a folder)."""
    for folder in folders:
        os.mkdir(os.path.join(staging, folder))
    size = -(-len(paths) // WRITERS) or 1
    runs = [paths[i:i + size] for i in range(0, len(paths), size)]
    with ThreadPoolExecutor(WRITERS) as pool:
        for _ in pool.map(partial(_write_files, staging, files), runs):
            pass  # re-raises a writer's OSError here


def _move_in(paths: list[str], folders: list[str], present: set[str], staging: str, out: str) -> None:
    """Staged ``paths`` (in ``folders``) into ``out``, where the ``present`` folders exist: a new folder
    with one rename of the topmost new one, a file in an existing folder with ``os.replace``."""
    for folder in folders:
        if folder not in present and _folder(folder) in present:
            os.rename(os.path.join(staging, folder), os.path.join(out, folder))
    for rel in paths:
        if _folder(rel) in present:  # else it moved in with its folder
            os.replace(os.path.join(staging, rel), os.path.join(out, rel))


def write_tree(files: dict[str, bytes], out: Path) -> TreeResult:
    """Write ``files`` (relative POSIX path → bytes) into ``out`` atomically; see the module docstring."""
    for rel in files:
        if not _safe(rel) or rel == MANIFEST:
            raise ValueError(f"unsafe output path {rel!r}")  # a bug: names.py makes every path
    check_out(out)
    owned = read_manifest(out) if out.is_dir() else set()
    paths = sorted(files)
    try:
        survey = _survey(files, paths, out, owned)
    except OSError as exc:
        raise _output_error("cannot read the output folder", exc, out) from None
    if survey.problems:
        problems = sorted(set(survey.problems))
        raise OutputError(f"{len(problems)} file(s) in the way: " + "; ".join(problems[:5])
                          + ("; ..." if len(problems) > 5 else ""), location=Location(out),
                          hint="move them away, or render into another folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror}", location=Location(out)) from None
    written = [rel for rel in paths if rel not in survey.unchanged]
    folders = _folders(written)
    old_and_new = owned.union(files)
    try:
        _stage(files, written, folders, str(staging))
        _write_manifest(out, staging, old_and_new)  # an interrupted run still knows every file it owns
        _move_in(written, folders, survey.folders | {""}, str(staging), str(out))  # out exists now
        removed = []
        for rel in sorted(old_and_new.difference(files)):
            target = out / rel
            if target.is_file() and not target.is_symlink():
                target.unlink()
                removed.append(rel)
            _prune(out, PurePosixPath(rel).parent)
        _write_manifest(out, staging, paths)
    except OSError as exc:
        raise _output_error("cannot write the output", exc, out) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TreeResult(tuple(written), tuple(sorted(survey.unchanged)), tuple(removed))


def _output_error(what: str, exc: OSError, out: Path) -> OutputError:
    return OutputError(f"{what}: {exc.strerror or exc}", location=Location(Path(exc.filename) if exc.filename else out))


def _write_manifest(out: Path, staging: Path, paths: Collection[str]) -> None:
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
