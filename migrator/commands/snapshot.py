"""``migrate snapshot``: write the snapshot layout from the live sources, redacted, plus a fleet file.

A security team can review or archive what was read; a colleague without access can run catalog and
plan on it, and gets byte for byte the catalog the live run gives. Written into a temporary folder
beside ``--out`` and moved into place only when every cluster was written: a failed run leaves nothing.

Every folder and file name comes through ``write.inside`` (a cluster name cannot climb out of
``--out``); ``--out`` itself must be a folder or not exist (a symbolic link, a file or a device is
refused, also with ``--force``). A cluster read from a snapshot folder is archived as the files that
were read (the kinds, ``managedcluster.json``, ``vmss.json``), regular files only: nothing else the
folder holds comes along.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec

from migrator.commands.catalog import report_unread
from migrator.errors import ExitCode, InputError, Location, OutputError, SourceError
from migrator.fleet import load_fleet
from migrator.fleet.model import read_text
from migrator.inputs import InputLimitError, bounded_yaml, file_kind, json_too_deep, read_regular
from migrator.kinds import KINDS
from migrator.pipeline import read_inventory
from migrator.sources.access import LiveSettings, live_access
from migrator.sources.redact import redact
from migrator.write import inside

AZURE_FILES = ("identities.json", "federatedIdentityCredentials.json", "roleAssignments.json")
CLUSTER_FILES = ("managedcluster.json", "vmss.json", *(f"kube/{plural}.json" for plural in KINDS))


def _parse(what: str, data: bytes) -> Any:
    """A live document as JSON, refused (that cluster fails) when it nests deeper than a snapshot may."""
    problem = json_too_deep(data)
    if problem is not None:
        raise SourceError(f"{what}: refused: {problem}")
    return json.loads(data)


class _Collector:
    """Pages as they arrive, redacted, per (cluster, kind); restarted lists start over."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.managed: dict[str, bytes] = {}
        self.vmss: dict[str, bytes] = {}
        self.azure: dict[str, bytes] = {}
        self.redacted = 0  # objects redaction removed something from

    def on_page(self, cluster: str, plural: str, data: bytes, first: bool) -> None:
        key = (cluster, plural)
        if first:
            self.items[key] = []
        info = KINDS[plural]
        for item in _parse(f"list {plural}", data).get("items") or ():
            item.setdefault("apiVersion", info.api_version)
            item.setdefault("kind", info.kind)
            before = msgspec.json.encode(item)
            kept = redact(item)
            self.redacted += msgspec.json.encode(kept) != before
            self.items[key].append(kept)

    def on_managed_cluster(self, cluster: str, data: bytes) -> None:
        _parse("managedCluster", data)
        self.managed[cluster] = data

    def on_scale_sets(self, cluster: str, data: bytes) -> None:
        _parse("virtualMachineScaleSets", data)
        self.vmss[cluster] = data

    def on_azure_document(self, name: str, data: bytes) -> None:
        _parse(name, data)
        self.azure[name] = data


def _dump(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def _copy_read_files(source: Path, target: Path, names: tuple[str, ...]) -> None:
    """The files of a snapshot folder the catalog reads, as regular files; anything else stays behind."""
    for name in names:
        try:
            data = read_regular(source / name)
        except (FileNotFoundError, InputLimitError, OSError):
            continue  # not captured, or not a file the catalog could read
        path = inside(target, *name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _check_to(to: Path, force: bool) -> None:
    """``--out`` is a new folder, or (with ``--force``) a folder to replace; never a link, a file or a device."""
    try:
        st = os.lstat(to)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot use --out: {exc.strerror}", location=Location(to)) from None
    if stat.S_ISLNK(st.st_mode):
        raise OutputError("--out is a symbolic link: it is not replaced", location=Location(to),
                          hint="give the folder itself, or a new folder")
    if not stat.S_ISDIR(st.st_mode):
        what = "a file" if stat.S_ISREG(st.st_mode) else file_kind(st.st_mode)
        raise OutputError(f"--out is {what}, not a folder", location=Location(to), hint="give a new folder")
    if not force:
        raise InputError(f"{to} already exists", location=Location(to),
                         hint="choose a new folder, or pass --force to replace it")


def run_snapshot(fleet_path: Path, to: Path, *, force: bool, live: LiveSettings) -> ExitCode:
    fleet = load_fleet(fleet_path)
    _check_to(to, force)
    collector = _Collector()
    reader, azure_factory = live_access(fleet, live, on_page=collector.on_page,
                                        on_managed_cluster=collector.on_managed_cluster,
                                        on_scale_sets=collector.on_scale_sets,
                                        on_azure_document=collector.on_azure_document)
    inventory = read_inventory(fleet, live=reader, live_azure=azure_factory)
    read = {c.name: c for c in inventory.clusters}
    parent = to.absolute().parent
    if not parent.is_dir():
        raise OutputError("the parent folder of --out does not exist", location=Location(parent))
    _check_to(to, force)  # again: the read took a while
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write beside --out: {exc.strerror}", location=Location(parent),
                          hint="check that the folder is writable, or choose another --out") from None
    try:
        _write_snapshot(fleet, fleet_path, tmp, read, collector)
        if os.path.lexists(to):
            _check_to(to, force)
            shutil.rmtree(to)
        os.replace(tmp, to)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(f"cannot write the snapshot: {exc.strerror or exc}",
                          location=Location(Path(exc.filename) if isinstance(exc.filename, str) else to)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _summary(to, len(read), collector.redacted)
    report_unread(inventory, f"above; they are left out of {to / 'fleet.yaml'}")
    return ExitCode.PARTIAL if inventory.failures else ExitCode.OK


def _summary(to: Path, clusters: int, redacted: int) -> None:
    """What was written, like the other commands' one line (stdout)."""
    files = [p for p in to.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    sys.stdout.write(f"wrote {to}: {clusters} cluster(s), {len(files)} files, {_bytes(size)}; "
                     f"{redacted} object(s) redacted (managed fields, last-applied annotations, "
                     "environment values)\n")


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = float(n)
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


def _write_snapshot(fleet: Any, fleet_path: Path, tmp: Path, read: dict[str, Any], collector: _Collector) -> None:
    for spec in fleet.clusters:
        if spec.name not in read:
            continue
        folder = inside(tmp, spec.name)
        if spec.snapshot is not None:
            _copy_read_files(fleet.resolve(spec.snapshot), folder, CLUSTER_FILES)
            continue
        (folder / "kube").mkdir(parents=True)
        for plural in KINDS:
            items = collector.items.get((spec.name, plural))
            if plural not in read[spec.name].not_captured:  # read: pages, or none (API not served)
                _dump(folder / "kube" / f"{plural}.json",
                      {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                       "items": sorted(items or [], key=lambda i: (i.get("metadata", {}).get("namespace", ""),
                                                                    i.get("metadata", {}).get("name", "")))})
        if spec.name in collector.managed:
            _dump(folder / "managedcluster.json", json.loads(collector.managed[spec.name]))
        if spec.name in collector.vmss:
            _dump(folder / "vmss.json", json.loads(collector.vmss[spec.name]))
    if collector.azure:
        for name, data in collector.azure.items():
            _dump(inside(tmp, "azure", name), json.loads(data))
    elif fleet.azure is not None and fleet.azure.snapshot is not None:
        _copy_read_files(fleet.resolve(fleet.azure.snapshot), tmp / "azure", AZURE_FILES)
    _write_fleet(fleet_path, tmp / "fleet.yaml", read, bool(collector.azure) or bool(
        fleet.azure and fleet.azure.snapshot))


def _write_fleet(source: Path, target: Path, read: dict[str, Any], azure: bool) -> None:
    """The fleet file, each cluster pointing at its snapshot folder (hand edits and comments kept)."""
    yaml = bounded_yaml()  # the file load_fleet validated, within the same limits
    yaml.preserve_quotes = True
    data = yaml.load(read_text(source))
    clusters = data["clusters"]
    for index in reversed(range(len(clusters))):
        cluster = clusters[index]
        if cluster["name"] not in read:
            del clusters[index]
            continue
        for key in ("context", "managedCluster", "scaleSets"):  # the snapshot folder holds what they named
            cluster.pop(key, None)
        cluster["snapshot"] = cluster["name"]
    if azure:
        data["azure"] = {"snapshot": "azure"}
    elif "azure" in data:
        del data["azure"]
    with target.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
