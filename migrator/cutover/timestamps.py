"""How the cutover writes the clock's moments: RFC 3339 UTC in records and journal lines, ``metav1.MicroTime``
in Leases, and the one parser for both. Pure."""

from __future__ import annotations

import datetime as _dt


def utc_text(moment: _dt.datetime) -> str:
    """RFC 3339 UTC with seconds (timestamps in records and journal lines)."""
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(moment: _dt.datetime) -> str:
    """``metav1.MicroTime`` (Lease acquireTime/renewTime)."""
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> _dt.datetime | None:
    if not text:
        return None
    try:
        return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
