"""Live progress per cluster on a terminal (rich); nothing in pipes and CI.

A thin subclass of the live reader: the sources stay free of presentation, the commands opt in.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from migrator.escape import visible
from migrator.fleet import ClusterSpec
from migrator.kinds import KINDS
from migrator.sources.live import ClusterRead, LiveFleetReader


def wanted(stream: Any = None) -> bool:
    """A progress display only for a person at a terminal: never in pipes, files or CI."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("CI")


class ProgressFleetReader(LiveFleetReader):
    """Shows, per cluster, the kinds listed so far and how the read ended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        inner = kwargs.pop("on_page", None)
        super().__init__(*args, on_page=self._page, **kwargs)
        self._inner = inner
        self._progress: Progress | None = None
        self._tasks: dict[str, Any] = {}

    def _page(self, cluster: str, plural: str, data: bytes, first: bool) -> None:
        if self._progress is not None and first and cluster in self._tasks:
            self._progress.advance(self._tasks[cluster])
        if self._inner is not None:
            self._inner(cluster, plural, data, first)

    async def read_cluster(self, spec: ClusterSpec) -> ClusterRead:
        if self._progress is not None:
            self._tasks[spec.name] = self._progress.add_task(escape(visible(spec.name)), total=len(KINDS))
        result = await super().read_cluster(spec)
        if self._progress is not None:
            # descriptions are rich markup: every value escaped for it, and for the terminal
            state = "[green]read" if result.error is None else f"[red]not read: {escape(visible(result.error.message))}"
            self._progress.update(self._tasks[spec.name], description=f"{escape(visible(spec.name))}  {state}",
                                  completed=len(KINDS))
        return result

    async def stream_clusters(self, specs: list[ClusterSpec]) -> AsyncIterator[ClusterRead]:
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("kinds"), TimeElapsedColumn())
        with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
            self._progress = progress
            try:
                async for read in super().stream_clusters(specs):
                    yield read
            finally:
                self._progress = None


def reader_class() -> type[LiveFleetReader]:
    """The live reader a command uses: with a progress display at a terminal outside CI, else the plain one."""
    return ProgressFleetReader if wanted() else LiveFleetReader
