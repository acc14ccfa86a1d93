"""The table of finding rules: code, severity, the long explanation, and the check.

Codes are a public interface (docs/findings.md is generated from this table). A rule is a pure
function from the catalog to findings; adding one is one entry here and one small function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from migrator.findings.model import Finding, Severity
from migrator.inventory.catalog import Catalog


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity
    title: str
    cause: str
    risk: str
    remediation: str
    references: tuple[str, ...]
    check: Callable[[Catalog], Iterable[Finding]]
    #: the captured kinds (snapshot plurals, ``managedcluster``, ``vmss``, ``azure.identities``,
    #: ``azure.credentials``) the rule reads: where one is missing it does not judge (or judges in part)
    needs: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The rule module's name: podidentity, bindings, identities, ..."""
        return self.check.__module__.rsplit(".", 1)[-1]


RULES: dict[str, Rule] = {}


def rule(code: str, severity: Severity, *, title: str, cause: str, risk: str, remediation: str,
         references: tuple[str, ...] = (), needs: tuple[str, ...] = ()
         ) -> Callable[[Callable[[Catalog], Iterable[Finding]]], Callable[[Catalog], Iterable[Finding]]]:
    """Register ``check`` under ``code``; a code can be registered once."""

    def register(check: Callable[[Catalog], Iterable[Finding]]) -> Callable[[Catalog], Iterable[Finding]]:
        if code in RULES:
            raise ValueError(f"finding code {code} registered twice")
        RULES[code] = Rule(code, severity, title, cause, risk, remediation, references, check, needs)
        return check

    return register


def run_rules(catalog: Catalog, rules: Iterable[Rule] | None = None) -> tuple[Finding, ...]:
    """Every rule over the catalog; findings sorted, duplicates dropped."""
    _load_rules()
    found: set[Finding] = set()
    for r in rules if rules is not None else RULES.values():
        for f in r.check(catalog):
            found.add(f)
    return tuple(sorted(found, key=lambda f: f.sort_key))


def all_rules() -> dict[str, Rule]:
    """Every registered rule, by code (the rule modules are imported first)."""
    _load_rules()
    return RULES


def _load_rules() -> None:
    # the rule modules register themselves on import
    from migrator.findings import rules  # noqa: F401
