"""The output folder: built whole in a temporary folder beside it, then moved in; a manifest of owned files.

``write_tree(files, out)``:

1. finishes or discards what an interrupted earlier run left (its staging folder, see below);
2. checks everything first: ``out`` is a folder (or does not exist yet), no rendered path would
   replace a file the tool does not own, a folder, or a symbolic link, no folder on a rendered path is
   a file or a symbolic link, and every path the manifest lists is relative, stays inside ``out`` and
   goes through no symbolic link; nothing is written otherwise;
3. writes every new or changed file into a staging folder next to ``out`` (same file system, so
   moves are atomic); an owned file that already holds the rendered bytes is unchanged;
4. records the union of the old and the new owned files in the manifest, so an interrupted run
   still knows what it owns; moves the files in: a folder that ``out`` does not have yet with one
   rename, all it holds included, and every other file with ``os.replace`` (a file is replaced whole
   or not at all; unchanged files are left untouched);
5. removes owned files that are no longer rendered (and the folders this leaves empty), never a
   file a user added; writes the final manifest; removes the staging folder.

Every path created, replaced or removed in ``out`` is reached from a descriptor of ``out`` one folder
at a time, each opened with ``O_NOFOLLOW``: a symbolic link committed into the rendered folder
(``evil -> /elsewhere``) can neither be followed nor receive a file, whatever the manifest says.

The manifest (``.wi-migrator-manifest``) lists the owned files, sorted, one relative path a line. It is
committed with the rendered folder, so it is input like any other: a line that is absolute, has an
empty, ``.`` or ``..`` part, a backslash or a control character is refused (exit 2), as is a manifest
that is a symbolic link.

Interruptions: the staging folder (``.<out>.<random>.tmp``, mode 0700) holds a marker naming ``out``,
locked while its run lives, and a ``.moving`` flag once the move has begun. Ctrl-C (SIGINT) while
staging stops before anything in ``out`` changes; Ctrl-C once the move has begun is held until the tree
is complete, then the run stops. After a kill (SIGKILL, a crash), the next run finds the staging folder
by its unlocked marker: before the move it is discarded; during the move, the files still in it are
moved in (finishing the interrupted run, whose manifest already lists them) and it is removed.

A fleet renders hundreds of thousands of files, so the checks look at each folder once and at a file
only where its folder exists, paths stay strings, and two threads write the staging folder: creating
a file is mostly system time, outside the GIL, so one thread's Python runs while the other's file is
made (more threads only queue for the GIL).
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from migrator.errors import Location, OutputError
from migrator.inputs import file_kind

MANIFEST = ".wi-migrator-manifest"
MANIFEST_HEADER = ("# Files written by migrate render; a re-render replaces or removes exactly these.\n"
                   "# Files not listed here are yours and are never touched.\n")
STAGING_MARKER = ".wi-migrator-staging"  # in the staging folder: {"out": <real path of out>}, locked while in use
MOVING = ".moving"  # in the staging folder: the move into out has begun
WRITERS = 2  # threads writing the staging folder (see above)

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: called with ("staged", "") once the staging folder is complete and ("moved", path) after each move
Events = Callable[[str, str], None]


@dataclass(frozen=True)
class TreeResult:
    written: tuple[str, ...]  # new or changed
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    recovered: tuple[str, ...] = ()  # what became of interrupted runs' staging folders ("finished", "discarded")


def _safe(rel: str) -> bool:
    """A relative POSIX path that stays inside the folder: no empty, ``.`` or ``..`` part, no backslash,
    no control character."""
    framed = f"/{rel}/"  # every part between two slashes (a leading "/" makes an empty first part)
    return not ("//" in framed or "/./" in framed or "/../" in framed or "\\" in rel or _CONTROL.search(rel))


def _folder(rel: str) -> str:
    """The folder of a relative path, ``""`` for the top of the tree."""
    return rel.rpartition("/")[0]


def _folders(paths: Collection[str]) -> list[str]:
    """Every folder the relative ``paths`` lie in, parents included, sorted (a parent before its children)."""
    folders: set[str] = set()
    for rel in paths:
        folder = _folder(rel)
        while folder and folder not in folders:
            folders.add(folder)
            folder = _folder(folder)
    return sorted(folders)


def _open_nofollow(path: str, dir_fd: int | None = None) -> int:
    """A regular file opened for reading without following a symbolic link (ELOOP if it is one)."""
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)


def read_manifest(out: Path) -> set[str]:
    """The owned files recorded in ``out``'s manifest; an unsafe line or a manifest that is not a regular file
    is refused (``OutputError``), never followed."""
    path = out / MANIFEST
    try:
        fd = _open_nofollow(str(path))
    except FileNotFoundError:
        return set()
    except OSError as exc:
        reason = "it is a symbolic link" if exc.errno == errno.ELOOP else exc.strerror
        raise OutputError(f"cannot read the manifest: {reason}", location=Location(path),
                          hint="the manifest must be the regular file render wrote; remove it to start over "
                               "(files render wrote before then count as yours)") from None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"cannot read the manifest: it is {file_kind(st.st_mode)}", location=Location(path))
        data = handle.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise OutputError("cannot read the manifest: not UTF-8", location=Location(path)) from None
    owned, bad = set(), []
    for number, line in enumerate(text.split("\n"), 1):
        if not line or line.startswith("#"):
            continue
        if _safe(line) and line != MANIFEST:
            owned.add(line)
        else:
            bad.append(f"line {number}: {line!r}")
    if bad:
        raise OutputError(f"the manifest lists {len(bad)} path(s) that are absolute or leave the folder: "
                          + "; ".join(bad[:5]) + ("; ..." if len(bad) > 5 else ""), location=Location(path),
                          hint="the manifest lists files inside the folder, relative to it; remove those lines "
                               "(nothing was written)")
    return owned


def manifest_text(paths: Collection[str]) -> str:
    return MANIFEST_HEADER + "".join(f"{p}\n" for p in sorted(paths))  # sorting a sorted list is one pass


def check_out(out: Path) -> None:
    """``--out`` must be a folder or not exist yet (its parent is created if needed)."""
    try:
        st = os.stat(out)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"cannot use --out: {exc.strerror}", location=Location(out)) from None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        what = "a file" if stat.S_ISREG(st.st_mode) else file_kind(st.st_mode)
        raise OutputError(f"--out is {what}, not a folder", location=Location(out),
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


def _survey(files: dict[str, bytes], paths: list[str], obsolete: list[str], root: str, owned: set[str]) -> _Survey:
    """Each folder of ``paths`` and ``obsolete`` looked at once, top down; a file only where its folder exists."""
    st = _lstat(root)
    survey = _Survey(folders={""} if st is not None and stat.S_ISDIR(st.st_mode) else set(), unchanged=set(),
                     problems=[])
    links: set[str] = set()
    for folder in _folders([*paths, *obsolete]):
        if _folder(folder) not in survey.folders:
            continue  # its parent is missing (or in the way), so it is missing too
        st = _lstat(os.path.join(root, folder))
        if st is not None and stat.S_ISDIR(st.st_mode):
            survey.folders.add(folder)
        elif st is not None:
            survey.problems.append(f"{folder} is not a folder" + (" (a symbolic link)" if stat.S_ISLNK(st.st_mode)
                                                                  else ""))
            if stat.S_ISLNK(st.st_mode):
                links.add(folder)
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
    for rel in obsolete:  # owned files to remove: each must be a plain file, reached through plain folders
        folder = _folder(rel)
        link = next((f for f in _chain(folder) if f in links), None)
        if link is not None:
            survey.problems.append(f"{rel} (listed in the manifest) goes through the symbolic link {link}")
            continue
        if folder not in survey.folders:
            continue  # gone: nothing to remove
        st = _lstat(os.path.join(root, rel))
        if st is not None and not stat.S_ISREG(st.st_mode):
            survey.problems.append(f"{rel} (listed in the manifest) is {file_kind(st.st_mode)}"
                                   if not stat.S_ISLNK(st.st_mode) and not stat.S_ISDIR(st.st_mode) else
                                   f"{rel} (listed in the manifest) is a "
                                   + ("symbolic link" if stat.S_ISLNK(st.st_mode) else "folder")
                                   + ", not a file render wrote")
    return survey


def _chain(folder: str) -> Iterator[str]:
    """``a``, ``a/b``, ``a/b/c`` for ``a/b/c``."""
    parts = folder.split("/") if folder else []
    for i in range(1, len(parts) + 1):
        yield "/".join(parts[:i])


def _read(path: str) -> bytes:
    fd = _open_nofollow(path)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


class _Folders:
    """Folders under a directory descriptor, opened one part at a time with ``O_NOFOLLOW`` (a symbolic link on
    the way raises ELOOP or ENOTDIR, never leads elsewhere); the chain of the last folder stays open, so
    sorted paths mostly reuse it."""

    def __init__(self, root_fd: int) -> None:
        self.root = root_fd
        self.chain: list[tuple[str, int]] = []

    def open(self, folder: str) -> int:
        parts = folder.split("/") if folder else []
        keep = 0
        while keep < len(self.chain) and keep < len(parts) and self.chain[keep][0] == parts[keep]:
            keep += 1
        for _, fd in reversed(self.chain[keep:]):
            os.close(fd)
        del self.chain[keep:]
        parent = self.chain[-1][1] if self.chain else self.root
        for part in parts[keep:]:
            parent = os.open(part, _DIR_FLAGS, dir_fd=parent)
            self.chain.append((part, parent))
        return parent

    def close(self) -> None:
        for _, fd in reversed(self.chain):
            os.close(fd)
        self.chain.clear()


@contextmanager
def _folders_of(root_fd: int) -> Iterator[_Folders]:
    folders = _Folders(root_fd)
    try:
        yield folders
    finally:
        folders.close()


def _write_files(root: str, files: dict[str, bytes], stop: Callable[[], bool], paths: list[str]) -> None:
    for index, rel in enumerate(paths):
        if index % 512 == 0 and stop():
            return
        fd = os.open(os.path.join(root, rel), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            data = files[rel]
            done = os.write(fd, data)
            while done < len(data):  # a short write: rare, but allowed
                done += os.write(fd, memoryview(data)[done:])
        finally:
            os.close(fd)


def _stage(files: dict[str, bytes], paths: list[str], folders: list[str], staging: str,
           stop: Callable[[], bool]) -> None:
    """``paths`` written into ``staging``: first their ``folders``, each created once (sorted: parents
    first), then the files by ``WRITERS`` threads, each a run of neighbours (they seldom share a folder)."""
    for folder in folders:
        os.mkdir(os.path.join(staging, folder))
    size = -(-len(paths) // WRITERS) or 1
    runs = [paths[i:i + size] for i in range(0, len(paths), size)]
    with ThreadPoolExecutor(WRITERS) as pool:
        for _ in pool.map(partial(_write_files, staging, files, stop), runs):
            pass  # re-raises a writer's OSError here


def _move_in(paths: list[str], folders: list[str], present: set[str], staging: str, out_fd: int,
             events: Events) -> None:
    """Staged ``paths`` (in ``folders``) into ``out``, where the ``present`` folders exist: a new folder
    with one rename of the topmost new one, a file in an existing folder with ``os.replace``."""
    with _folders_of(out_fd) as dirs:
        for folder in folders:
            if folder not in present and _folder(folder) in present:
                parent, _, name = folder.rpartition("/")
                os.rename(os.path.join(staging, folder), name, dst_dir_fd=dirs.open(parent))
                events("moved", folder)
        for rel in paths:
            if _folder(rel) in present:  # else it moved in with its folder
                parent, _, name = rel.rpartition("/")
                os.replace(os.path.join(staging, rel), name, dst_dir_fd=dirs.open(parent))
                events("moved", rel)


def _remove(obsolete: list[str], out_fd: int) -> list[str]:
    """Owned files no longer rendered, each a regular file reached without a symbolic link; then the
    folders this leaves empty (deepest first)."""
    removed = []
    with _folders_of(out_fd) as dirs:
        for rel in obsolete:
            parent, _, name = rel.rpartition("/")
            try:
                fd = dirs.open(parent)
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except (FileNotFoundError, NotADirectoryError):
                continue  # gone, or its folder is no folder any more: nothing of ours to remove
            if stat.S_ISREG(st.st_mode):
                os.unlink(name, dir_fd=fd)
                removed.append(rel)
        for folder in sorted(_folders(removed), key=lambda f: (-f.count("/"), f)):
            parent, _, name = folder.rpartition("/")
            with suppress(OSError):
                os.rmdir(name, dir_fd=dirs.open(parent))  # only succeeds when empty
    return removed


def _write_manifest(out_fd: int, staging: str, paths: Collection[str]) -> None:
    tmp = os.path.join(staging, MANIFEST)
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(manifest_text(paths))
    os.replace(tmp, MANIFEST, dst_dir_fd=out_fd)


# ------------------------------------------------------------------------------- staging and interruptions


@contextmanager
def _deferred_interrupts() -> Iterator[Callable[[], bool]]:
    """Ctrl-C (SIGINT) recorded instead of raised, so the caller decides where to stop; yields "was it pressed?".
    Only the main thread can handle signals: elsewhere nothing is deferred."""
    pressed: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)


def _staging_candidates(real_out: str) -> Iterator[str]:
    parent, name = os.path.split(real_out)
    try:
        entries = os.listdir(parent)
    except OSError:
        return
    for entry in sorted(entries):
        if entry.startswith(f".{name}.") and entry.endswith(".tmp"):
            yield os.path.join(parent, entry)


def _owned_staging(path: str, real_out: str) -> int | None:
    """The marker of a staging folder this tool made for ``real_out`` (a 0700 folder of ours, not a link),
    opened; None for anything else."""
    st = _lstat(path)
    if st is None or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or stat.S_IMODE(st.st_mode) & 0o077:
        return None
    try:
        fd = os.open(os.path.join(path, STAGING_MARKER), os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        marker = json.loads(os.pread(fd, 65536, 0))
        if isinstance(marker, dict) and marker.get("out") == real_out and stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except ValueError:
        pass
    os.close(fd)
    return None


def _recover(real_out: str, out: Path) -> list[str]:
    """Finish or discard what interrupted runs into ``real_out`` left; refuse while another run is writing."""
    done = []
    for path in _staging_candidates(real_out):
        fd = _owned_staging(path, real_out)
        if fd is None:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputError("another migrate render is writing into this folder", location=Location(out),
                                  hint="wait for it to finish") from None
            if os.path.lexists(os.path.join(path, MOVING)) and os.path.isdir(real_out):
                _finish_move(path, real_out)
                done.append("finished")
            else:
                done.append("discarded")
            shutil.rmtree(path)
        finally:
            os.close(fd)
    return done


def _finish_move(staging: str, real_out: str) -> None:
    """Move what an interrupted run left in ``staging`` into ``out``: its manifest already lists every file, and
    its checks passed. Regular files only, into folders reached without a symbolic link, over nothing but a
    missing or regular file."""
    out_fd = os.open(real_out, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        with _folders_of(out_fd) as dirs:
            for dirpath, dirnames, filenames in os.walk(staging):
                rel_dir = os.path.relpath(dirpath, staging)
                rel_dir = "" if rel_dir == "." else rel_dir
                try:
                    fd = dirs.open(rel_dir)
                except OSError:
                    dirnames.clear()  # not a plain folder in out (any more): what it would hold is dropped
                    continue
                for name in sorted(dirnames):
                    kind = _kind(name, fd)
                    if kind is None and not os.path.islink(os.path.join(dirpath, name)):
                        os.rename(os.path.join(dirpath, name), name, dst_dir_fd=fd)
                    if kind != "dir":
                        dirnames.remove(name)
                for name in filenames:
                    source = os.path.join(dirpath, name)
                    if (rel_dir == "" and name in (STAGING_MARKER, MOVING, MANIFEST)) or os.path.islink(source):
                        continue
                    if _kind(name, fd) in (None, "file") and stat.S_ISREG(os.lstat(source).st_mode):
                        os.replace(source, name, dst_dir_fd=fd)
    finally:
        os.close(out_fd)


def _kind(name: str, dir_fd: int) -> str | None:
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    return "dir" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"


def _new_staging(real_out: str) -> tuple[str, int]:
    """A staging folder beside ``real_out`` with its marker, locked for this run."""
    parent, name = os.path.split(real_out)
    staging = tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent)
    fd = os.open(os.path.join(staging, STAGING_MARKER), os.O_RDWR | os.O_CREAT | os.O_EXCL
                 | getattr(os, "O_CLOEXEC", 0), 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, json.dumps({"out": real_out}).encode() + b"\n")
    return staging, fd


# ------------------------------------------------------------------------------------------------ write_tree


def _no_events(event: str, path: str) -> None:
    pass


def write_tree(files: dict[str, bytes], out: Path, *, events: Events | None = None) -> TreeResult:
    """Write ``files`` (relative POSIX path → bytes) into ``out`` atomically; see the module docstring.

    ``events`` (tests) is told when the staging folder is complete and after each move."""
    for rel in files:
        if not _safe(rel) or rel == MANIFEST:
            raise ValueError(f"unsafe output path {rel!r}")  # a bug: names.py makes every path
    events = events or _no_events
    check_out(out)
    real_out = os.path.realpath(out)
    try:
        recovered = _recover(real_out, out)
    except OSError as exc:
        raise _output_error("cannot finish an interrupted render", exc, out) from None
    owned = read_manifest(out) if os.path.isdir(real_out) else set()
    paths = sorted(files)
    obsolete = sorted(owned.difference(files))
    try:
        survey = _survey(files, paths, obsolete, real_out, owned)
    except OSError as exc:
        raise _output_error("cannot read the output folder", exc, out) from None
    if survey.problems:
        problems = sorted(set(survey.problems))
        raise OutputError(f"{len(problems)} file(s) in the way: " + "; ".join(problems[:5])
                          + ("; ..." if len(problems) > 5 else ""), location=Location(out),
                          hint="move them away, or render into another folder")
    try:
        os.makedirs(real_out, exist_ok=True)
        out_fd = os.open(real_out, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise OutputError(f"cannot create the output folder: {exc.strerror}", location=Location(out)) from None
    try:
        staging, marker = _new_staging(real_out)
    except OSError as exc:
        os.close(out_fd)
        raise OutputError(f"cannot create the staging folder beside --out: {exc.strerror}",
                          location=Location(Path(real_out).parent),
                          hint="render needs to write in the folder that holds --out") from None
    written = [rel for rel in paths if rel not in survey.unchanged]
    folders = _folders(written)
    try:
        with _deferred_interrupts() as interrupted:
            try:
                _stage(files, written, folders, staging, interrupted)
                events("staged", "")
                if interrupted():
                    raise KeyboardInterrupt  # before the move: nothing in out has changed
                _write_manifest(out_fd, staging, owned.union(files))  # an interrupted run still knows its files
                os.close(os.open(os.path.join(staging, MOVING), os.O_WRONLY | os.O_CREAT, 0o600))
                _move_in(written, folders, survey.folders | {""}, staging, out_fd, events)  # out exists now
                removed = _remove(obsolete, out_fd)
                _write_manifest(out_fd, staging, paths)
            except OSError as exc:
                raise _output_error("cannot write the output", exc, out) from None
            finally:
                shutil.rmtree(staging, ignore_errors=True)  # only a kill leaves it, for the next run
            if interrupted():
                raise KeyboardInterrupt  # pressed during the move: the tree was completed first
    finally:
        os.close(marker)
        os.close(out_fd)
    return TreeResult(tuple(written), tuple(sorted(survey.unchanged)), tuple(removed), tuple(recovered))


def _output_error(what: str, exc: OSError, out: Path) -> OutputError:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return OutputError(f"{what}: a symbolic link or a file appeared where a folder of --out was "
                           f"({exc.strerror})", location=Location(out),
                           hint="nothing is followed through a link; check the folder and render again")
    return OutputError(f"{what}: {exc.strerror or exc}",
                       location=Location(Path(exc.filename) if isinstance(exc.filename, str) else out))

