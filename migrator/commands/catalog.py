"""``migrate catalog``: read the fleet, resolve it, judge it, report it."""

from __future__ import annotations

import sys
from pathlib import Path

from migrator.errors import ExitCode
from migrator.findings.model import Severity
from migrator.pipeline import FleetRun, read_fleet
from migrator.report import OutputFormat
from migrator.report.view import CatalogReport
from migrator.sources.access import LiveSettings
from migrator.write import atomic_write_bytes, atomic_write_text


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
    report, partial = build_report(fleet_path, ignore, live)
    fmt = OutputFormat(output)
    if out is not None and fmt is OutputFormat.JSON:
        from migrator.report.json import encode

        atomic_write_bytes(out, encode(report))  # 176 MB at 1,000 clusters: never copied into a string
    elif out is not None:
        atomic_write_text(out, fmt.renderer()(report))
    elif fmt is OutputFormat.TABLE and sys.stdout.isatty():
        from migrator.report.table import render as render_table

        sys.stdout.write(render_table(report, color=True, width=_width()))
    else:
        sys.stdout.write(fmt.renderer()(report))
    return exit_code(report, partial, fail_on)


def _width() -> int:
    import shutil

    return max(100, shutil.get_terminal_size((140, 40)).columns)
