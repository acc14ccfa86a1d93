"""Silencing accepted findings: ``--ignore CODE`` and the fleet file's per-object ``ignore`` list."""

from __future__ import annotations

from migrator.findings.model import Finding
from migrator.fleet import IgnoreRule


def _matches(rule: IgnoreRule, f: Finding) -> bool:
    return (rule.code == f.code
            and (rule.cluster is None or rule.cluster == f.cluster)
            and (rule.namespace is None or rule.namespace == f.namespace)
            and (rule.object is None or rule.object == f.object))


def apply_ignores(findings: tuple[Finding, ...], codes: frozenset[str], rules: tuple[IgnoreRule, ...]
                  ) -> tuple[tuple[Finding, ...], int]:
    """The findings that stay, and how many were ignored."""
    kept = tuple(f for f in findings if f.code not in codes and not any(_matches(r, f) for r in rules))
    return kept, len(findings) - len(kept)
