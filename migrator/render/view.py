"""The plan as every renderer sees it: clusters in wave order, namespaces, and what is ready.

Render never re-derives a planner decision; it makes only its own few, here, once:

* the **wave order**: clusters by environment (dev, test, staging, then production; other groups
  between staging and production), then by name; namespaces by name within a cluster;
* the **state** of each service account and workload: ``ready`` (a credential is created or
  present), ``pending-prerequisite`` (its credentials wait for the cluster's OIDC issuer),
  ``blocked`` (no credential can be made; the plan says why) or, for a workload, ``not-patched``
  (a kind without a pod template we know how to patch: change it where it is defined);
* which ``AzureIdentityBinding`` objects a namespace may delete at unbind: only those whose every
  credential is in that namespace (a binding that serves other namespaces waits for them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, TypeVar

from migrator.plan.model import (
    Blocked,
    ClusterPlan,
    Credential,
    Plan,
    Prerequisite,
    Risk,
    ServiceAccountPlan,
    WorkloadPatch,
)
from migrator.render.names import path_segment

T = TypeVar("T")
K = TypeVar("K")

State = Literal["ready", "pending-prerequisite", "blocked", "not-patched"]
ACTIVE = ("create", "present")
GROUP_RANK = {
    "dev": 0, "development": 0, "sandbox": 0, "test": 1, "testing": 1, "qa": 1, "int": 1, "integration": 1,
    "staging": 2, "stage": 2, "stg": 2, "preprod": 2, "pre-prod": 2, "uat": 2,
    "prod": 4, "production": 4, "prd": 4,
}
OTHER_GROUP_RANK = 3
#: kinds whose pod template render patches, and where the template is
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Rollout": ("spec", "template"),
    "Pod": (),
}
API_VERSIONS = {
    "Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "ReplicaSet": "apps/v1",
    "Job": "batch/v1", "CronJob": "batch/v1", "Rollout": "argoproj.io/v1alpha1", "Pod": "v1",
    "ServiceAccount": "v1", "AzureIdentityBinding": "aadpodidentity.k8s.io/v1",
}


@dataclass(frozen=True)
class ExceptionNeed:
    """An interim AzurePodIdentityException a cluster needs (FLUX_WITHOUT_EXCEPTION), from the catalog."""

    cluster: str
    namespace: str
    key: str
    value: str
    addon: bool  # the AKS add-on owns exceptions: create it with az, not with a manifest


@dataclass(frozen=True)
class BindingRef:
    namespace: str
    name: str
    namespaces: tuple[str, ...]  # every namespace whose credentials come from this binding


@dataclass(frozen=True)
class ServiceAccountItem:
    plan: ServiceAccountPlan
    state: State
    credentials: tuple[Credential, ...]
    reason: str | None = None


@dataclass(frozen=True)
class WorkloadItem:
    patch: WorkloadPatch
    state: State
    reason: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.patch.kind}/{self.patch.name}"


@dataclass(frozen=True)
class NamespaceView:
    cluster: ClusterPlan
    name: str
    segment: str
    credentials: tuple[Credential, ...]
    service_accounts: tuple[ServiceAccountItem, ...]
    workloads: tuple[WorkloadItem, ...]
    blocked: tuple[Blocked, ...]
    risks: tuple[Risk, ...]
    bindings: tuple[BindingRef, ...]

    @property
    def renders_component(self) -> bool:
        return any(s.state in ("ready", "pending-prerequisite") for s in self.service_accounts) or any(
            w.state in ("ready", "pending-prerequisite") for w in self.workloads)

    @property
    def state(self) -> State:
        states = {w.state for w in self.workloads} | {s.state for s in self.service_accounts}
        if "pending-prerequisite" in states:
            return "pending-prerequisite"
        if "ready" in states:
            return "ready"
        return "blocked"

    @property
    def bindings_to_delete(self) -> tuple[BindingRef, ...]:
        return tuple(b for b in self.bindings if b.namespaces == (self.name,))

    @property
    def bindings_shared(self) -> tuple[BindingRef, ...]:
        return tuple(b for b in self.bindings if b.namespaces != (self.name,))


@dataclass(frozen=True)
class ClusterView:
    plan: ClusterPlan
    wave: int
    segment: str
    prerequisites: tuple[Prerequisite, ...]
    namespaces: tuple[NamespaceView, ...]
    credentials: tuple[Credential, ...]
    blocked: tuple[Blocked, ...]  # cluster-wide (no namespace)
    exceptions: tuple[ExceptionNeed, ...]

    @property
    def name(self) -> str:
        return self.plan.name


@dataclass(frozen=True)
class Wave:
    number: int
    group: str
    clusters: tuple[ClusterView, ...]


@dataclass(frozen=True)
class RenderView:
    plan: Plan
    clusters: tuple[ClusterView, ...]
    waves: tuple[Wave, ...]


def group_rank(group: str) -> int:
    return GROUP_RANK.get(group.lower(), OTHER_GROUP_RANK)


def _split_binding(text: str, cluster: str) -> tuple[str, str] | None:
    """``cluster/namespace/AzureIdentityBinding/name`` → (namespace, name)."""
    prefix, marker = f"{cluster}/", "/AzureIdentityBinding/"
    if not text.startswith(prefix) or marker not in text:
        return None
    namespace, _, name = text[len(prefix):].partition(marker)
    return namespace, name


def _sa_item(sa: ServiceAccountPlan, creds: list[Credential], blocked_reasons: list[str]) -> ServiceAccountItem:
    statuses = {c.status for c in creds}
    if statuses & set(ACTIVE) and (sa.client_id or any(c.identity.kind == "new-managed-identity" for c in creds)):
        return ServiceAccountItem(sa, "ready", tuple(creds))
    if "pending-prerequisite" in statuses and sa.client_id:
        return ServiceAccountItem(sa, "pending-prerequisite", tuple(creds))
    reasons = [c.reason for c in creds if c.status == "blocked" and c.reason] + blocked_reasons
    reason = reasons[0] if reasons else "no federated credential can be planned for it"
    return ServiceAccountItem(sa, "blocked", tuple(creds), reason)


def _grouped(items: Iterable[T], key: Callable[[T], K]) -> defaultdict[K, list[T]]:
    """``items`` by ``key``, each group in the items' order (a missing key reads as an empty group)."""
    groups: defaultdict[K, list[T]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return groups


def build_view(plan: Plan, exceptions: tuple[ExceptionNeed, ...] = ()) -> RenderView:
    # every plan item indexed once, by (cluster, namespace) and by cluster: one pass, not a scan per namespace
    creds_by_ns = _grouped(plan.credentials, lambda c: (c.cluster, c.namespace))
    creds_by_sa = _grouped(plan.credentials, lambda c: (c.cluster, c.namespace, c.service_account))
    creds_by_cluster = _grouped(plan.credentials, lambda c: c.cluster)
    sas_by_ns = _grouped(plan.service_accounts, lambda s: (s.cluster, s.namespace))
    workloads_by_ns = _grouped(plan.workloads, lambda w: (w.cluster, w.namespace))
    blocked_by_ns = _grouped(plan.blocked, lambda b: (b.cluster, b.namespace))  # "": the cluster's own
    blocked_by_obj = _grouped(plan.blocked, lambda b: (b.cluster, b.namespace, b.object))
    risks_by_ns = _grouped(plan.risks, lambda r: (r.cluster, r.namespace))
    prerequisites_by_cluster = _grouped(plan.prerequisites, lambda pr: pr.cluster)
    exceptions_by_cluster = _grouped(sorted(set(exceptions), key=lambda e: (e.namespace, e.key, e.value)),
                                     lambda e: e.cluster)

    # which namespaces each binding's credentials live in, and the bindings each namespace uses
    binding_users: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for c in plan.credentials:
        for text in c.why.bindings:
            split = _split_binding(text, c.cluster)
            if split:
                binding_users[(c.cluster, *split)].add(c.namespace)
    bindings_of_ns: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for (cl, bns, bname), users in binding_users.items():
        for user in users:
            bindings_of_ns[(cl, user)].add((bns, bname))

    namespaces_of: dict[str, set[str]] = defaultdict(set)
    for cluster_ns in (*creds_by_ns, *sas_by_ns, *workloads_by_ns, *blocked_by_ns, *risks_by_ns):
        if cluster_ns[1]:
            namespaces_of[cluster_ns[0]].add(cluster_ns[1])

    clusters: list[ClusterView] = []
    ordered = sorted(plan.clusters, key=lambda c: (group_rank(c.group), c.group, c.name))
    ranks = sorted({(group_rank(c.group), c.group) for c in ordered})
    wave_of = {key: i + 1 for i, key in enumerate(ranks)}
    for cp in ordered:
        name = cp.name
        namespaces = sorted(namespaces_of[name])
        ns_views = []
        for ns in namespaces:
            sa_items = tuple(
                _sa_item(s, creds_by_sa[(name, ns, s.name)],
                         [b.reason for b in blocked_by_obj[(name, ns, f"ServiceAccount/{s.name}")]])
                for s in sas_by_ns[(name, ns)])
            sa_state = {s.plan.name: s for s in sa_items}
            workloads = []
            for w in workloads_by_ns[(name, ns)]:
                own = blocked_by_obj[(name, ns, f"{w.kind}/{w.name}")]
                sa = sa_state.get(w.service_account)
                if own:
                    workloads.append(WorkloadItem(w, "blocked", own[0].reason))
                elif sa is None or sa.state == "blocked":
                    why = sa.reason if sa else f"service account {w.service_account} is not in the plan"
                    workloads.append(WorkloadItem(w, "blocked", why))
                elif w.kind not in TEMPLATE_PATHS:
                    workloads.append(WorkloadItem(w, "not-patched", w.note or f"{w.kind} has no pod template "
                                                  "render knows: change it where it is defined"))
                else:
                    workloads.append(WorkloadItem(w, sa.state))
            bindings = sorted(bindings_of_ns[(name, ns)])
            ns_views.append(NamespaceView(
                cluster=cp, name=ns, segment=path_segment(ns), credentials=tuple(creds_by_ns[(name, ns)]),
                service_accounts=sa_items, workloads=tuple(workloads),
                blocked=tuple(blocked_by_ns[(name, ns)]),
                risks=tuple(risks_by_ns[(name, ns)]),
                bindings=tuple(BindingRef(bns, bname, tuple(sorted(binding_users[(name, bns, bname)])))
                               for bns, bname in bindings),
            ))
        clusters.append(ClusterView(
            plan=cp, wave=wave_of[(group_rank(cp.group), cp.group)], segment=path_segment(name),
            prerequisites=tuple(prerequisites_by_cluster[name]),
            namespaces=tuple(ns_views),
            credentials=tuple(creds_by_cluster[name]),
            blocked=tuple(blocked_by_ns[(name, "")]),
            exceptions=tuple(exceptions_by_cluster[name]),
        ))
    clusters_of_wave = _grouped(clusters, lambda cv: cv.wave)
    waves = tuple(Wave(number=wave_of[key], group=key[1], clusters=tuple(clusters_of_wave[wave_of[key]]))
                  for key in ranks)
    return RenderView(plan=plan, clusters=tuple(clusters), waves=waves)
