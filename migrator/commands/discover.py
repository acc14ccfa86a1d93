"""``migrate discover``: write a fleet file for every AKS cluster in scope (docs/discover.md).

The clusters come from ``sources.discover`` (Resource Graph, ARM where it falls short); the file's
text from ``fleet.discovered`` (new, or merged with ``--merge``) with each cluster's peer group
guessed by ``fleet.groups``. This module is the command: refuse what must be refused, write
atomically (never over an existing file without ``--force``), report.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.clock import Clock
from migrator.errors import ExitCode, InputError, Location, OutputError, SourceError, visible
from migrator.fleet import load_fleet
from migrator.fleet.discovered import DiscoverResult, build_text
from migrator.fleet.discovery import Discovery, Scope
from migrator.fleet.model import read_text
from migrator.sources.discover import BATCH_LIMIT, PAGE_LIMIT, GraphReader, discover
from migrator.write import atomic_write_text, check_target, is_stdout, write_stdout


@dataclass
class DiscoverSettings:
    """How to reach Azure (tests inject the credential, the endpoint and the clock)."""

    arm_endpoint: str | None = None
    ca_bundle: str | None = None
    cloud: str = "AzureCloud"
    credential: Any = None  # a TokenCredential; DefaultAzureCredential when None
    clock: Clock | None = None
    page_size: int = PAGE_LIMIT
    batch_size: int = BATCH_LIMIT



# ------------------------------------------------------------------------------------------- command


def run_discover(out: Path, *, scope: Scope, where: str | None = None, only_pod_identity: bool = False,
                 force: bool = False, merge: bool = False, settings: DiscoverSettings | None = None) -> ExitCode:
    """Discover, build the file, write it atomically; the summary and any failure go to stderr."""
    settings = settings or DiscoverSettings()
    if force and merge:
        raise InputError("give --force (replace the file) or --merge (keep your edits), not both")
    existing: str | None = None
    to_stdout = is_stdout(out)
    if to_stdout and (force or merge):
        raise InputError("--out - writes to standard output: --force and --merge need a file")
    if not to_stdout:
        check_target(out)
    if not to_stdout and out.exists():
        if not (force or merge):
            raise OutputError("the output file already exists", location=Location(out),
                              hint="pass --merge to add new clusters and keep your edits, or --force to replace it")
        if out.is_dir():
            raise OutputError("the output path is a folder", location=Location(out))
        if merge:
            load_fleet(out, check_folders=False)  # refuse to merge into a file that is not a valid fleet
            existing = read_text(out)
    folder = out.parent if str(out.parent) else Path(".")
    if not to_stdout and not folder.is_dir():
        raise OutputError("the output folder does not exist", location=Location(folder),
                          hint="create it first, or choose another --out path")

    credential = settings.credential
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    reader = GraphReader(credential, cloud=settings.cloud, base_url=settings.arm_endpoint,
                         connection_verify=settings.ca_bundle, clock=settings.clock, page_size=settings.page_size)
    discovery = discover(reader, scope, where=where, batch_size=settings.batch_size)
    _report_failures(discovery)
    if not discovery.clusters and existing is None:
        if discovery.failures:
            raise SourceError("no cluster found, and part of the scope could not be read (above); nothing written")
        raise InputError(f"no AKS cluster found in {scope.describe()}" + (" matching --where" if where else ""),
                         hint="check the scope and the filter; nothing was written")
    try:
        result = build_text(discovery, scope=scope, where=where, only_pod_identity=only_pod_identity,
                            existing=existing, path=out, cloud=settings.cloud)
    except InputError:
        if discovery.failures:
            raise SourceError("no cluster to write, and part of the scope could not be read (above); "
                              "nothing written") from None
        raise
    if to_stdout:
        write_stdout(result.text)
    else:
        atomic_write_text(out, result.text)
    _summary(out, result, merged=existing is not None)
    return ExitCode.PARTIAL if discovery.failures else ExitCode.OK


def _report_failures(discovery: Discovery) -> None:
    for failure in discovery.failures:  # Azure's messages: shown escaped, a line each
        sys.stderr.write(f"error: {visible(failure.scope)}: {visible(failure.message)}\n")
        if failure.hint:
            sys.stderr.write(f"  hint: {visible(failure.hint)}\n")
    for note in discovery.notes:
        sys.stderr.write(f"note: {visible(note)}\n")


def _summary(out: Path, result: DiscoverResult, *, merged: bool) -> None:
    d = result.discovery
    via_arm = sum(1 for c in d.clusters if c.source == "arm")
    parts = [f"wrote {out}: {result.written} cluster(s)"]
    if merged:
        parts.append(f"{result.new} new, {result.kept} already listed, {result.untouched} listed but not found "
                     "this time (kept)")
    parts.append(f"{d.graph_requests} Resource Graph request(s)")
    if via_arm:
        parts.append(f"{via_arm} read with an ARM list")
    if result.not_listed:
        parts.append(f"{len(result.not_listed)} not listed (see the end of the file)")
    sys.stderr.write(visible("; ".join(parts)) + "\n")
