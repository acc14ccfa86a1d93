"""Findings: pure rules over the catalog, one entry each in the registry (``registry.RULES``)."""

from __future__ import annotations

from migrator.findings.model import Finding, Severity

__all__ = ["Finding", "Severity"]
