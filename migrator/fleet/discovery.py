"""What ``migrate discover`` found: the scope it searched, the clusters, what it could not read.

Plain data: ``sources.discover`` produces it, ``fleet.discovered`` writes it into a fleet file.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from migrator.errors import InputError

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where to look: named subscriptions, one management group, or every subscription of the tenant."""

    subscriptions: tuple[str, ...] = ()
    management_group: str | None = None
    tenant: bool = False

    def __post_init__(self) -> None:
        given = sum((bool(self.subscriptions), self.management_group is not None, self.tenant))
        if given != 1:
            raise InputError("give one scope: --subscription (repeatable), --management-group or --tenant")
        for sub in self.subscriptions:
            if not _GUID.match(sub.strip()):
                raise InputError(f"--subscription {sub!r} is not a subscription ID",
                                 hint="pass the subscription's GUID (az account list -o table)")

    def describe(self) -> str:
        if self.tenant:
            return "every subscription of the tenant"
        if self.management_group is not None:
            return f"management group {self.management_group}"
        subs = sorted({s.lower() for s in self.subscriptions})
        if len(subs) <= 4:
            return ("subscription " if len(subs) == 1 else "subscriptions ") + ", ".join(subs)
        return f"{len(subs)} subscriptions"


@dataclass(frozen=True, slots=True)
class DiscoveredCluster:
    """One managed cluster as discovery saw it. A flag is ``None`` when nothing could tell it."""

    id: str
    name: str
    region: str
    subscription_id: str
    resource_group: str
    tenant_id: str | None
    tags: dict[str, str]
    pod_identity: bool | None
    oidc_issuer: bool | None
    workload_identity: bool | None
    #: "graph" (Resource Graph), "arm" (re-read with an ARM list), "partial" (Resource Graph was
    #: incomplete and the ARM list failed)
    source: str

    @property
    def key(self) -> tuple[str, str, str]:
        return self.subscription_id.lower(), self.resource_group.lower(), self.name.lower()


@dataclass(frozen=True, slots=True)
class ScopeFailure:
    """A subscription (or management group, or the tenant) that could not be read; the rest completes."""

    scope: str
    message: str
    hint: str | None = None


@dataclass
class Discovery:
    clusters: list[DiscoveredCluster] = field(default_factory=list)
    failures: list[ScopeFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    graph_requests: int = 0
    arm_lists: int = 0

    @property
    def tenant_id(self) -> str | None:
        """The tenant of most clusters (ties: the smallest ID)."""
        counts = Counter(c.tenant_id.lower() for c in self.clusters if c.tenant_id)
        if not counts:
            return None
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
