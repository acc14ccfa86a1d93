"""A finding: one thing wrong (or worth knowing) about one object, and what to do about it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    cluster: str  # "" for fleet-wide findings (Azure-side)
    namespace: str  # "" for cluster-scoped objects
    object: str  # "Kind/name"
    code: str
    severity: Severity
    message: str
    remediation: str

    @property
    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        return (-self.severity.rank, self.code, self.cluster, self.namespace, self.object, self.message)
