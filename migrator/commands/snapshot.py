"""``migrate snapshot``: write the snapshot layout from the live sources, redacted, plus a fleet file.

A security team can review or archive what was read; a colleague without access can run catalog and
plan on it, and gets byte for byte the catalog the live run gives. Written into a temporary folder
beside ``--out`` and moved into place only when every cluster was written: a failed run leaves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec
from ruamel.yaml import YAML

from migrator.commands.catalog import report_unread
from migrator.errors import ExitCode, InputError, Location, OutputError
from migrator.fleet import load_fleet
from migrator.kinds import KINDS
from migrator.pipeline import read_inventory
from migrator.sources.access import LiveSettings, live_access
from migrator.sources.redact import redact


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
        for item in json.loads(data).get("items") or ():
            item.setdefault("apiVersion", info.api_version)
            item.setdefault("kind", info.kind)
            before = msgspec.json.encode(item)
            kept = redact(item)
            self.redacted += msgspec.json.encode(kept) != before
            self.items[key].append(kept)

    def on_managed_cluster(self, cluster: str, data: bytes) -> None:
        self.managed[cluster] = data

    def on_scale_sets(self, cluster: str, data: bytes) -> None:
        self.vmss[cluster] = data

    def on_azure_document(self, name: str, data: bytes) -> None:
        self.azure[name] = data


def _dump(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def run_snapshot(fleet_path: Path, to: Path, *, force: bool, live: LiveSettings) -> ExitCode:
    fleet = load_fleet(fleet_path)
    if to.exists() and not force:
        raise InputError(f"{to} already exists", location=Location(to),
                         hint="choose a new folder, or pass --force to replace it")
    collector = _Collector()
    reader, azure_factory = live_access(fleet, live, on_page=collector.on_page,
                                        on_managed_cluster=collector.on_managed_cluster,
                                        on_scale_sets=collector.on_scale_sets,
                                        on_azure_document=collector.on_azure_document)
    inventory = read_inventory(fleet, live=reader, live_azure=azure_factory)
    read = {c.name: c for c in inventory.clusters}
    parent = to.resolve().parent
    if not parent.is_dir():
        raise OutputError("the parent folder of --out does not exist", location=Location(parent))
    tmp = Path(tempfile.mkdtemp(prefix=f".{to.name}.", dir=parent))
    try:
        for spec in fleet.clusters:
            if spec.name not in read:
                continue
            folder = tmp / spec.name
            if spec.snapshot is not None:
                shutil.copytree(fleet.resolve(spec.snapshot), folder)
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
                _dump(tmp / "azure" / name, json.loads(data))
        elif fleet.azure is not None and fleet.azure.snapshot is not None:
            shutil.copytree(fleet.resolve(fleet.azure.snapshot), tmp / "azure")
        _write_fleet(fleet_path, tmp / "fleet.yaml", read, bool(collector.azure) or bool(
            fleet.azure and fleet.azure.snapshot))
        if to.exists():
            shutil.rmtree(to)
        os.replace(tmp, to)
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


def _write_fleet(source: Path, target: Path, read: dict[str, Any], azure: bool) -> None:
    """The fleet file, each cluster pointing at its snapshot folder (hand edits and comments kept)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    data = yaml.load(source.read_text(encoding="utf-8"))
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
