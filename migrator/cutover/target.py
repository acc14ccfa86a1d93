"""What the plan asks of one (cluster, namespace): the cutover's contract, read from the plan file.

Pure: built from ``plan.model.Plan`` only. The plan decided everything (client IDs, service
accounts, which workloads are patched in place); the cutover does not re-derive any decision, it
checks that the world still matches the plan before acting on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from migrator.errors import InputError
from migrator.plan.model import (
    Blocked,
    ClusterPlan,
    Credential,
    Plan,
    ServiceAccountPlan,
    WorkloadPatch,
)

#: workload kinds whose pod template the cutover patches in place (and whose rollout it waits for)
ROLLED = ("Deployment", "StatefulSet", "DaemonSet")
TEMPLATED = (*ROLLED, "CronJob")



@dataclass(frozen=True, slots=True)
class WorkloadTarget:
    patch: WorkloadPatch
    mode: str  # in-place | at-source | job | not-patched
    reason: str | None = None

    @property
    def kind(self) -> str:
        return self.patch.kind

    @property
    def name(self) -> str:
        return self.patch.name

    @property
    def ref(self) -> str:
        return f"{self.patch.kind}/{self.patch.name}"

    @property
    def templated(self) -> bool:
        return self.patch.kind in TEMPLATED

    @property
    def rolled(self) -> bool:
        return self.patch.kind in ROLLED


@dataclass(frozen=True, slots=True)
class NamespaceTarget:
    plan: Plan
    cluster: ClusterPlan
    namespace: str
    workloads: tuple[WorkloadTarget, ...]
    service_accounts: tuple[ServiceAccountPlan, ...]
    credentials: tuple[Credential, ...]
    blocked: tuple[Blocked, ...]

    @property
    def tenant_id(self) -> str:
        return self.cluster.tenant_id or self.plan.tenant_id

    def service_account(self, name: str) -> ServiceAccountPlan | None:
        return next((s for s in self.service_accounts if s.name == name), None)

    def credentials_of(self, service_account: str) -> tuple[Credential, ...]:
        return tuple(c for c in self.credentials if c.service_account == service_account)

    def by_mode(self, *modes: str) -> tuple[WorkloadTarget, ...]:
        return tuple(w for w in self.workloads if w.mode in modes)

    @property
    def changed(self) -> tuple[WorkloadTarget, ...]:
        """Workloads whose pod template moves to workload identity (patched here or at their source)."""
        return tuple(w for w in self.workloads if w.mode in ("in-place", "at-source"))

    def selectors(self) -> set[str]:
        return {w.patch.binding_selector for w in self.workloads if w.patch.binding_selector}


def load_plan(path: Path) -> Plan:
    """The plan file, checked in full (another file of ours given instead is named as what it is)."""
    from migrator.plan_file import read_plan

    return read_plan(path)


def cluster_plan(plan: Plan, name: str) -> ClusterPlan:
    for c in plan.clusters:
        if c.name == name:
            return c
    names = ", ".join(c.name for c in plan.clusters) or "none"
    raise InputError(f"cluster '{name}' is not in the plan (clusters: {names})",
                     hint="pass --cluster with one of them, or re-plan a fleet file that has it")


def planned_namespaces(plan: Plan, cluster: str) -> list[str]:
    found = {w.namespace for w in plan.workloads if w.cluster == cluster}
    found |= {s.namespace for s in plan.service_accounts if s.cluster == cluster}
    return sorted(found)


def namespace_target(plan: Plan, cluster: str, namespace: str,
                     changed_at_source: frozenset[str] = frozenset()) -> NamespaceTarget:
    """The plan's items for one namespace; ``changed_at_source`` names workloads (``Kind/name`` or
    ``name``) the user changed in their source repository."""
    cp = cluster_plan(plan, cluster)
    if namespace not in planned_namespaces(plan, cluster):
        known = ", ".join(planned_namespaces(plan, cluster)) or "none"
        raise InputError(f"the plan has nothing for namespace '{namespace}' on cluster {cluster} "
                         f"(planned namespaces: {known})", hint="check --namespace, or re-plan")
    workloads = []
    for w in sorted((w for w in plan.workloads if w.cluster == cluster and w.namespace == namespace),
                    key=lambda w: (w.kind, w.name)):
        acknowledged = f"{w.kind}/{w.name}" in changed_at_source or w.name in changed_at_source
        if w.kind == "Job":
            workloads.append(WorkloadTarget(w, "job", w.note or "a Job's pod template is immutable: a running Job "
                                                               "finishes on Pod Identity"))
        elif w.gitops_owner:
            workloads.append(WorkloadTarget(w, "at-source" if acknowledged else "refused",
                                            f"owned by {w.gitops_owner}: change it in its source repository"))
        elif not w.patchable or w.kind not in TEMPLATED:
            workloads.append(WorkloadTarget(w, "at-source" if acknowledged else "refused",
                                            w.note or f"{w.kind} is not patched in place: change it where it is "
                                                      "defined"))
        else:
            workloads.append(WorkloadTarget(w, "in-place"))
    return NamespaceTarget(
        plan=plan, cluster=cp, namespace=namespace, workloads=tuple(workloads),
        service_accounts=tuple(sorted((s for s in plan.service_accounts
                                       if s.cluster == cluster and s.namespace == namespace), key=lambda s: s.name)),
        credentials=tuple(sorted((c for c in plan.credentials if c.cluster == cluster and c.namespace == namespace),
                                 key=lambda c: (c.service_account, c.identity.client_id or "", c.name))),
        blocked=tuple(b for b in plan.blocked if b.cluster == cluster and b.namespace == namespace),
    )


def cluster_target(plan: Plan, cluster: str, home: str = "default") -> NamespaceTarget:
    """A target for commands that act on the whole cluster (unbind without --namespace, finalize):
    no workloads of its own; ``home`` is where its lease lives."""
    return NamespaceTarget(plan=plan, cluster=cluster_plan(plan, cluster), namespace=home, workloads=(),
                           service_accounts=(), credentials=(), blocked=())
