"""``migrate catalog``: read the fleet, resolve it, judge it, report it."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from migrator.errors import ExitCode
from migrator.findings.model import Severity
from migrator.inventory.model import ClusterFailure, FleetInventory
from migrator.pipeline import FleetRun, read_fleet
from migrator.report import OutputFormat
from migrator.report.view import CatalogReport
from migrator.sources.access import LiveSettings
from migrator.write import atomic_write_bytes, atomic_write_text, check_target, is_stdout


def build_report(fleet_path: Path, ignore: frozenset[str] = frozenset(),
                 live: LiveSettings | None = None) -> tuple[CatalogReport, bool]:
    """The catalog report of a fleet file, and whether some clusters could not be read."""
    run = read_fleet(fleet_path, live=live, ignore=ignore)
    return report_of(run), run.partial


def report_of(run: FleetRun) -> CatalogReport:
    return CatalogReport(run.catalog, run.findings, run.ignored)


def exit_code(report: CatalogReport, partial: bool, fail_on: str) -> ExitCode:
    if partial:
        return ExitCode.PARTIAL
    if fail_on != "never":
        threshold = Severity(fail_on).rank
        if any(f.severity.rank >= threshold for f in report.findings):
            return ExitCode.FINDINGS
    return ExitCode.OK


def run_catalog(fleet_path: Path, *, output: str, out: Path | None, fail_on: str, ignore: frozenset[str],
                live: LiveSettings | None = None) -> ExitCode:
    if out is not None and is_stdout(out):
        out = None
    if out is not None:
        check_target(out)  # a device or a FIFO is refused before the fleet is read
    report, partial = build_report(fleet_path, ignore, live)
    fmt = OutputFormat(output)
    where = f"in {out}" if out is not None else ("above" if fmt is OutputFormat.TABLE else "in the report")
    if out is not None and fmt is OutputFormat.JSON:
        from migrator.report.json import encode

        atomic_write_bytes(out, encode(report))  # 176 MB at 1,000 clusters: never copied into a string
    elif fmt is OutputFormat.TABLE:
        from migrator.report.table import render as render_table

        color = out is None and sys.stdout.isatty()
        text = render_table(report, color=color, width=table_width(sys.stdout if out is None else None))
        if out is not None:
            atomic_write_text(out, text)
        else:
            sys.stdout.write(text)
    elif out is not None:
        atomic_write_text(out, fmt.renderer()(report))
    else:
        sys.stdout.write(fmt.renderer()(report))
    sys.stdout.flush()
    report_unread(report.catalog.inventory, where)
    return exit_code(report, partial, fail_on)


def report_unread(inventory: FleetInventory | Sequence[ClusterFailure], where: str | Path) -> None:
    """One line on stderr per cluster not read, and where its details are, whatever the output is."""
    failures = inventory.failures if isinstance(inventory, FleetInventory) else inventory
    for f in failures:
        reason = f.reason.splitlines()[0] if f.reason else "not read"
        sys.stderr.write(f"error: cluster {f.name} ({f.region}) not read: {reason}\n")
    if failures:
        sys.stderr.write(f"  {len(failures)} cluster(s) not read (exit code 3); the details are {where}\n")


def table_width(stream: object = None) -> int:
    """The table's width on ``stream``: the terminal's; else COLUMNS; else as wide as the lines are (pipes, CI).
    A file (``stream`` None) has no width: its lines are as long as they are."""
    if stream is None:
        return UNLIMITED_WIDTH
    if getattr(stream, "isatty", lambda: False)():
        import shutil

        return max(100, shutil.get_terminal_size((140, 40)).columns)
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(60, int(columns))
    return UNLIMITED_WIDTH


UNLIMITED_WIDTH = 100_000  # no wrapping: a pipe or a file takes lines of any length
