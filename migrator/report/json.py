"""The JSON report: the view, encoded stably (indented, key order as documented)."""

from __future__ import annotations

import json

from migrator.report.view import CatalogReport


def render(report: CatalogReport) -> str:
    return json.dumps(report.view(), indent=2, ensure_ascii=False) + "\n"
