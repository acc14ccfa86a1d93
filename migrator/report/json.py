"""The JSON report: the view, encoded stably (indented, key order as documented).

Encoded by msgspec and indented by its formatter: the same bytes as ``json.dumps(view, indent=2,
ensure_ascii=False)`` for every value a view holds (strings, integers, booleans, null, lists and
mappings; the view has no floats, whose exponents the two spell differently). The standard library's
encoder is pure Python when it indents: at 1,000 clusters it built the 176 MB report out of tens of
millions of small strings, the catalog's peak memory.
"""

from __future__ import annotations

import msgspec

from migrator.report.view import CatalogReport


def encode(report: CatalogReport) -> bytes:
    """The report as UTF-8 bytes: ``--out`` writes these, never a copy of them as a string."""
    return msgspec.json.format(msgspec.json.encode(report.view()), indent=2) + b"\n"


def render(report: CatalogReport) -> str:
    return encode(report).decode()
