"""Reports of a catalog: one renderer per output format, chosen by one exhaustive mapping."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from migrator.report.view import CatalogReport


class OutputFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"

    def renderer(self) -> Callable[[CatalogReport], str]:
        from migrator.report import json as json_report
        from migrator.report import markdown, table

        return {
            OutputFormat.TABLE: table.render,
            OutputFormat.JSON: json_report.render,
            OutputFormat.MARKDOWN: markdown.render,
        }[self]
