"""Put the plan together: assignments → targets → credentials → limits → service accounts and patches.

Pure: the catalog and the options in, a ``Plan`` out. Deterministic: everything is sorted by a
stable identity before it is named or written, so input order never changes the plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from migrator.inventory.catalog import Catalog
from migrator.inventory.gitops import owner_of
from migrator.inventory.link import AzureIndex
from migrator.inventory.model import (
    AzureIdentity,
    ClusterInventory,
    FederatedCredential,
    FleetInventory,
    ObjectRef,
    Workload,
    label,
)
from migrator.inventory.resolve import ClusterResolution
from migrator.limits import MAX_FEDERATED_CREDENTIALS_PER_IDENTITY
from migrator.plan import conflicts as conflicts_mod
from migrator.plan import strategy as strat
from migrator.plan.credential_limit import LimitCheck, classify
from migrator.plan.model import (
    SERVICE_ACCOUNT_REMEDIES,
    STRATEGIES,
    Blocked,
    ClusterPlan,
    Credential,
    CredentialStatus,
    ExistingCredential,
    IdentityPlan,
    IdentityRef,
    NewIdentity,
    Plan,
    Prerequisite,
    Risk,
    ServiceAccountPlan,
    ServiceAccountRemedy,
    Strategy,
    Why,
    WorkloadPatch,
)
from migrator.plan.names import credential_name, subject
from migrator.plan.prerequisites import prerequisites
from migrator.vocabulary import TOKEN_EXCHANGE_AUDIENCE

PATCHABLE = {"Deployment", "StatefulSet", "DaemonSet", "CronJob"}
POD_SECURITY = "pod-security.kubernetes.io/enforce"
DATA_PLANE_NOTE = ("per-workload: ARM role assignments are copied to the new identities, but grants outside ARM "
                   "(Key Vault access policies, SQL/Cosmos DB data-plane users, other tenants) are not: grant them "
                   "to the new identities before cutover")
NEW_STATUSES: tuple[CredentialStatus, ...] = ("create", "pending-prerequisite")  # what counts against the limit


@dataclass(frozen=True)
class PlanOptions:
    strategy: str = "reuse"  # reuse | per-workload
    service_account_conflicts: str = "split"  # split | client-id-env
    proxy_sidecar: frozenset[str] = frozenset()  # "namespace/workload" or "cluster/namespace/workload"
    terraform_issuers: dict[str, str] = field(default_factory=dict)


Placement = tuple[ClusterResolution, conflicts_mod.Assignment]  # an assignment and the cluster it is in
NewIdentities = dict[tuple[strat.LogicalWorkload, str], NewIdentity]  # (logical workload, cluster) -> new identity


class IdentityInCluster(NamedTuple):
    """An AzureIdentity object of one cluster: what a target is looked up by."""

    cluster: str
    namespace: str
    name: str


class CredentialKey(NamedTuple):
    """One credential: a service account of a cluster federated to one identity."""

    cluster: str
    namespace: str
    service_account: str
    identity: str  # _key of the identity, or "unresolved:<namespace>/<name>" of an AzureIdentity not found


@dataclass(frozen=True, slots=True)
class Federation:
    """A service account to federate to an identity (or why it cannot be), and the objects behind it."""

    cluster: str
    namespace: str
    service_account: str
    identity: IdentityRef  # for an AzureIdentity that was not resolved, what it names
    blocked: str | None  # why no credential can be made
    why: Why


@dataclass(frozen=True, slots=True)
class Draft:
    """A federation checked against its cluster and the identity's existing credentials, before the limit."""

    federation: Federation
    name: str
    status: CredentialStatus
    existing_name: str | None = None
    reason: str | None = None

    @property
    def new(self) -> bool:
        return self.status in NEW_STATUSES


def _key(ref: IdentityRef) -> str:
    return (ref.resource_id or f"app:{ref.client_id}").lower()


def _wanted_sidecar(options: PlanOptions, cluster: str, ref: ObjectRef) -> bool:
    return f"{ref.namespace}/{ref.name}" in options.proxy_sidecar or \
        f"{cluster}/{ref.namespace}/{ref.name}" in options.proxy_sidecar


def _strategy(options: PlanOptions) -> Strategy:
    for known in STRATEGIES:
        if options.strategy == known:
            return known
    raise ValueError(f"unknown strategy {options.strategy!r} (expected one of {', '.join(STRATEGIES)})")


def _remedy(options: PlanOptions) -> ServiceAccountRemedy:
    for known in SERVICE_ACCOUNT_REMEDIES:
        if options.service_account_conflicts == known:
            return known
    raise ValueError(f"unknown service account conflict remedy {options.service_account_conflicts!r} "
                     f"(expected one of {', '.join(SERVICE_ACCOUNT_REMEDIES)})")


def build_plan(catalog: Catalog, options: PlanOptions = PlanOptions()) -> Plan:
    strategy, remedy = _strategy(options), _remedy(options)
    inv = catalog.inventory
    azure = catalog.azure
    cluster_plans, prereqs = _clusters(inv, options)
    blocked = _unreadable_clusters(inv)
    notes: list[str] = []

    # 1. conflicts → assignments, per cluster
    placements, risks = _assign(catalog.resolutions, remedy)
    blocked += _inactive_uses(catalog.resolutions)

    # 2. targets: which identity each (assignment, identity) federates to
    targets = _targets(placements, azure)
    new_by: NewIdentities = {}
    if strategy == "per-workload" and azure is not None:
        new_by = _new_identities(placements, targets, azure)
        notes.append(DATA_PLANE_NOTE)

    # 3. credentials, service accounts and workload patches
    found: list[tuple[CredentialKey, Federation]] = []
    sa_plans: list[ServiceAccountPlan] = []
    patches: dict[tuple[str, ObjectRef], WorkloadPatch] = {}
    workloads_by_ref = {(r.cluster.name, w.ref): w for r in catalog.resolutions for w in r.cluster.workloads or ()}
    for r, a in placements:
        keyed, sa_plan = _federate(r, a, targets, new_by, strategy)
        found += keyed
        sa_plans.append(sa_plan)
        for wref in a.workloads:
            w = workloads_by_ref.get((r.cluster.name, wref))
            patches[(r.cluster.name, wref)] = _patch(r.cluster, wref, w, a, options, blocked, risks)
    federations = _merge(found)

    # 4. existing credentials, presence, limits
    credentials, identity_plans = _credentials(federations, azure, cluster_plans)
    blocked += _blocked_credentials(credentials, identity_plans)
    new_identities = sorted({(n.name, n.resource_id): n for n in new_by.values()}.values(), key=lambda n: n.resource_id)
    blocked += (Blocked(cluster="", namespace=n.namespace, object=f"UserAssignedIdentity/{n.name}",
                        reason=n.blocked_reason)
                for n in new_identities if n.blocked_reason)

    return Plan(
        strategy=strategy,
        service_account_conflicts=remedy,
        tenant_id=inv.tenant_id,
        clusters=tuple(sorted(cluster_plans, key=lambda c: c.name)),
        prerequisites=tuple(sorted(prereqs, key=lambda p: (p.cluster, p.kind))),
        identities=tuple(sorted(identity_plans, key=lambda p: _key(p.identity))),
        new_identities=tuple(new_identities),
        credentials=tuple(sorted(credentials, key=lambda c: (c.cluster, c.namespace, c.service_account,
                                                            _key(c.identity)))),
        service_accounts=tuple(sorted(sa_plans, key=lambda s: (s.cluster, s.namespace, s.name))),
        workloads=tuple(sorted(patches.values(), key=lambda p: (p.cluster, p.namespace, p.kind, p.name))),
        blocked=tuple(sorted(set(blocked), key=lambda b: (b.cluster, b.namespace, b.object, b.reason))),
        risks=tuple(sorted(set(risks), key=lambda x: (x.code, x.cluster, x.namespace, x.object, x.message))),
        notes=tuple(notes),
    )


def _clusters(inv: FleetInventory, options: PlanOptions) -> tuple[list[ClusterPlan], list[Prerequisite]]:
    """Each cluster's plan (its issuer, whether a prerequisite is pending) and the prerequisites themselves."""
    plans: list[ClusterPlan] = []
    prereqs: list[Prerequisite] = []
    for c in inv.clusters:
        pending = prerequisites(c)
        prereqs.extend(pending)
        plans.append(ClusterPlan(
            name=c.name, region=c.region, group=c.group, subscription_id=c.subscription_id,
            resource_group=c.resource_group, issuer=c.facts.oidc_issuer_url if c.facts else None,
            terraform_issuer=options.terraform_issuers.get(c.name), tenant_id=inv.tenant_id,
            prerequisites_pending=bool(pending),
        ))
    return plans, prereqs


def _unreadable_clusters(inv: FleetInventory) -> list[Blocked]:
    """Clusters without their managedCluster document, and clusters that could not be read at all."""
    blocked = [Blocked(cluster=c.name, namespace="", object="ManagedCluster/" + c.name,
                       reason="managedcluster.json was not captured: the cluster's OIDC issuer is unknown",
                       proposal="export it: az aks show -g <rg> -n <cluster> -o json > managedcluster.json")
               for c in inv.clusters if c.facts is None]
    blocked += (Blocked(cluster=f.name, namespace="", object="ManagedCluster/" + f.name,
                        reason=f"the cluster could not be read: {f.reason}")
                for f in inv.failures)
    return blocked


def _assign(resolutions: Iterable[ClusterResolution], remedy: ServiceAccountRemedy
            ) -> tuple[list[Placement], list[Risk]]:
    """Every cluster's uses resolved into assignments, and the conflicts that were resolved as risks."""
    placements: list[Placement] = []
    risks: list[Risk] = []
    for r in resolutions:
        taken: dict[str, set[str]] = defaultdict(set)  # names of the service accounts in each namespace
        for sa in r.cluster.service_accounts or ():
            taken[sa.namespace].add(sa.name)
        found, conflicts = conflicts_mod.assign(r, remedy, taken)
        placements.extend((r, a) for a in found)
        for cf in conflicts:
            code = "SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES" if cf.kind == "shared-service-account" else \
                "MULTIPLE_IDENTITIES_PER_WORKLOAD"
            risks.append(Risk(code=code, cluster=cf.cluster, namespace=cf.namespace,
                              object=f"ServiceAccount/{cf.service_account}", message=cf.message))
    return placements, risks


def _inactive_uses(resolutions: Iterable[ClusterResolution]) -> list[Blocked]:
    """Service accounts bound only through legacy-schema objects, which the controllers ignore."""
    return [Blocked(
        cluster=r.cluster.name, namespace=u.namespace, object=f"ServiceAccount/{u.service_account}",
        reason=(f"bound to {u.identity.namespace}/{u.identity.name} only through objects in the old "
                "capitalized schema, which this cluster's controllers ignore: the workloads "
                f"({', '.join(map(str, u.workloads))}) probably do not use that identity today"),
        proposal="confirm with the owners; fix the binding in camelCase if the identity is really needed",
    ) for r in resolutions for u in r.inactive_uses]


def _targets(placements: Iterable[Placement], azure: AzureIndex | None) -> dict[IdentityInCluster, strat.Target]:
    """The identity in Azure that each AzureIdentity of each cluster stands for (``reuse``)."""
    targets: dict[IdentityInCluster, strat.Target] = {}
    for r, a in placements:
        for ident in a.identities:
            targets.setdefault(IdentityInCluster(r.cluster.name, ident.namespace, ident.name),
                               strat.reuse_target(ident, azure))
    return targets


def _new_identities(placements: Iterable[Placement], targets: dict[IdentityInCluster, strat.Target],
                    azure: AzureIndex) -> NewIdentities:
    """``per-workload``: the new identity of each logical workload found in Azure, per cluster."""
    placed = [(strat.LogicalWorkload(r.cluster.group, a.namespace, a.service_account, t.azure), r.cluster.name)
              for r, a in placements for i in a.identities
              if (t := targets[IdentityInCluster(r.cluster.name, i.namespace, i.name)]).azure is not None]
    logical, multiple = strat.group_logical(placed)
    return strat.new_identities(logical, azure, multiple)


def _federated_ref(r: ClusterResolution, a: conflicts_mod.Assignment, ident: AzureIdentity,
                   targets: dict[IdentityInCluster, strat.Target], new_by: NewIdentities, strategy: Strategy
                   ) -> tuple[IdentityRef | None, str | None]:
    """The identity ``ident`` of assignment ``a`` federates to, and why it is blocked, if it is."""
    t = targets[IdentityInCluster(r.cluster.name, ident.namespace, ident.name)]
    if t.ref is None:
        return None, t.blocked
    if strategy == "per-workload" and t.azure is not None:
        new = new_by[(strat.LogicalWorkload(r.cluster.group, a.namespace, a.service_account, t.azure),
                      r.cluster.name)]
        return IdentityRef(resource_id=new.resource_id, name=new.name, client_id=None,
                           kind="new-managed-identity"), new.blocked_reason
    return t.ref, None


def _federate(r: ClusterResolution, a: conflicts_mod.Assignment, targets: dict[IdentityInCluster, strat.Target],
              new_by: NewIdentities, strategy: Strategy
              ) -> tuple[list[tuple[CredentialKey, Federation]], ServiceAccountPlan]:
    """An assignment's federations, one per identity, and the plan of its service account."""
    cname = r.cluster.name
    why = Why(bindings=tuple(f"{cname}/{b.namespace}/{b}" for b in a.bindings),
              workloads=tuple(f"{cname}/{w.namespace}/{w}" for w in a.workloads))
    federations: list[tuple[CredentialKey, Federation]] = []
    refs: list[IdentityRef] = []
    for ident in a.identities:
        ref, reason = _federated_ref(r, a, ident, targets, new_by, strategy)
        if ref is not None:
            refs.append(ref)
        key = CredentialKey(cname, a.namespace, a.service_account,
                            _key(ref) if ref else f"unresolved:{ident.namespace}/{ident.name}")
        named = ref or IdentityRef(resource_id=strat.canonical(ident.resource_id) if ident.resource_id else None,
                                   name=ident.name, client_id=ident.client_id)
        federations.append((key, Federation(cluster=cname, namespace=a.namespace, service_account=a.service_account,
                                            identity=named, blocked=reason, why=why)))
    primary = refs[0] if refs else None
    sa_plan = ServiceAccountPlan(
        cluster=cname, namespace=a.namespace, name=a.service_account,
        client_id=primary.client_id if primary and primary.kind != "new-managed-identity" else None,
        tenant_id=None, create=a.created, identities=tuple(_key(x) for x in refs), why=why,
    )
    return federations, sa_plan


def _merge(found: Iterable[tuple[CredentialKey, Federation]]) -> list[Federation]:
    """One federation per credential, the first found, with the bindings and workloads of all of them."""
    first: dict[CredentialKey, Federation] = {}
    bindings: dict[CredentialKey, set[str]] = defaultdict(set)
    workloads: dict[CredentialKey, set[str]] = defaultdict(set)
    for key, f in found:
        first.setdefault(key, f)
        bindings[key].update(f.why.bindings)
        workloads[key].update(f.why.workloads)
    return [replace(f, why=Why(bindings=tuple(sorted(bindings[key])), workloads=tuple(sorted(workloads[key]))))
            for key, f in first.items()]


def _credentials(federations: list[Federation], azure: AzureIndex | None, cluster_plans: list[ClusterPlan]
                 ) -> tuple[list[Credential], list[IdentityPlan]]:
    """Every credential: those of each identity (in order of identity), then those that cannot be made."""
    clusters = {c.name: c for c in cluster_plans}
    fleet_issuers = {c.issuer for c in clusters.values() if c.issuer}
    by_identity: dict[str, list[Federation]] = defaultdict(list)
    for f in federations:
        if f.blocked is None:
            by_identity[_key(f.identity)].append(f)
    credentials: list[Credential] = []
    identity_plans: list[IdentityPlan] = []
    for key in sorted(by_identity):
        of_identity, identity_plan = _identity_credentials(key, by_identity[key], azure, clusters, fleet_issuers)
        credentials += of_identity
        identity_plans.append(identity_plan)
    credentials += (_credential(f, f.identity, clusters[f.cluster],
                                credential_name(f.cluster, f.namespace, f.service_account), "blocked", reason=f.blocked)
                    for f in federations if f.blocked is not None)
    return credentials, identity_plans


def _identity_credentials(key: str, federations: list[Federation], azure: AzureIndex | None,
                          clusters: dict[str, ClusterPlan], fleet_issuers: set[str]
                          ) -> tuple[list[Credential], IdentityPlan]:
    """The credentials of one identity, checked against those it already has and against the limit."""
    federations = sorted(federations, key=lambda f: (f.cluster, f.namespace, f.service_account))
    ref = federations[0].identity
    existing = azure.credentials.get(key, ()) if azure is not None and ref.kind == "managed-identity" else ()
    needed = {(issuer, subject(f.namespace, f.service_account)) for f in federations
              if (issuer := clusters[f.cluster].issuer)}
    by_pair = {(c.issuer, c.subject): c for c in existing}
    by_name = {c.name: c for c in existing}
    drafts = [_draft(f, ref, clusters[f.cluster], by_pair, by_name) for f in federations]
    check = LimitCheck(existing=len(existing), to_create=sum(1 for d in drafts if d.new))
    proposal = None
    if check.over:
        movable = [f"{d.federation.cluster}/{d.federation.namespace}/{d.federation.service_account}"
                   for d in drafts if d.new][-check.overflow:]
        stale = [c.name for c in existing if classify(c, needed, fleet_issuers) == "stale"]
        proposal = (f"move {', '.join(movable)} to a new identity (or run plan with --strategy per-workload)"
                    + (f"; or delete the stale credentials {', '.join(stale)}" if stale else ""))
        over = (f"{ref.name} would hold {check.total} federated credentials ({check.existing} existing + "
                f"{check.to_create} new); Azure allows {MAX_FEDERATED_CREDENTIALS_PER_IDENTITY}")
        drafts = [replace(d, status="blocked", reason=over) if d.new else d for d in drafts]
    credentials = [_credential(d.federation, ref, clusters[d.federation.cluster], d.name, d.status,
                               existing_name=d.existing_name, reason=d.reason) for d in drafts]
    identity_plan = IdentityPlan(
        identity=ref,
        existing=tuple(sorted((ExistingCredential(name=c.name, issuer=c.issuer, subject=c.subject,
                                                  classification=classify(c, needed, fleet_issuers))
                               for c in existing), key=lambda x: x.name)),
        to_create=check.to_create, total_after=check.total, limit=check.limit, over_limit=check.over,
        proposal=proposal,
    )
    return credentials, identity_plan


def _draft(f: Federation, identity: IdentityRef, cluster: ClusterPlan,
           by_pair: dict[tuple[str, str], FederatedCredential], by_name: dict[str, FederatedCredential]) -> Draft:
    """A federation's credential on ``identity``, given its cluster's issuer and the credentials the identity
    already has."""
    name = credential_name(f.cluster, f.namespace, f.service_account)
    if cluster.issuer is None and not cluster.prerequisites_pending:
        return Draft(f, name, "blocked", reason="the cluster's OIDC issuer is unknown")
    hit = by_pair.get((cluster.issuer, subject(f.namespace, f.service_account))) if cluster.issuer else None
    if hit is not None:
        return Draft(f, hit.name, "present", existing_name=hit.name)
    if name in by_name:
        other = by_name[name]
        return Draft(f, name, "blocked", reason=(f"a credential named {name} already exists on {identity.name} "
                                                 f"with issuer {other.issuer} and subject {other.subject}"))
    return Draft(f, name, "pending-prerequisite" if cluster.prerequisites_pending else "create")


def _credential(f: Federation, identity: IdentityRef, cluster: ClusterPlan, name: str, status: CredentialStatus,
                *, existing_name: str | None = None, reason: str | None = None) -> Credential:
    """A federation's credential on ``identity`` (every credential of an identity names it the same way)."""
    return Credential(
        name=name, issuer=None if cluster.prerequisites_pending else cluster.issuer,
        subject=subject(f.namespace, f.service_account), audiences=(TOKEN_EXCHANGE_AUDIENCE,), identity=identity,
        cluster=f.cluster, namespace=f.namespace, service_account=f.service_account, status=status,
        existing_name=existing_name, reason=reason, why=f.why,
    )


def _blocked_credentials(credentials: Iterable[Credential], identity_plans: list[IdentityPlan]) -> list[Blocked]:
    """Each blocked credential, with its identity's proposal when the limit blocked it."""
    return [Blocked(cluster=c.cluster, namespace=c.namespace, object=f"ServiceAccount/{c.service_account}",
                    reason=f"credential {c.name} on {c.identity.name}: {c.reason}",
                    proposal=next((p.proposal for p in identity_plans if p.identity == c.identity and p.proposal),
                                  None))
            for c in credentials if c.status == "blocked"]


def _patch(cluster: ClusterInventory, ref: ObjectRef, workload: Workload | None, a: conflicts_mod.Assignment,
           options: PlanOptions, blocked: list[Blocked], risks: list[Risk]) -> WorkloadPatch:
    template = workload.template if workload else None
    owner = owner_of(workload) if workload else None
    sidecar = _wanted_sidecar(options, cluster.name, ref)
    note = None
    if ref.kind == "Job":
        note = "a Job's pod template is immutable: a running Job finishes on Pod Identity; its next run must be changed at its source"
    elif ref.kind not in PATCHABLE:
        note = f"{ref.kind} is not patched in place: change it where it is defined"
    if sidecar and template is not None and (template.host_network or template.windows):
        why = "hostNetwork" if template.host_network else "Windows nodes"
        blocked.append(Blocked(cluster=cluster.name, namespace=ref.namespace, object=str(ref),
                               reason=f"the migration sidecar cannot serve a workload on {why}",
                               proposal="move the workload to an Azure SDK that supports workload identity"))
        sidecar = False
    elif sidecar:
        ns = next((n for n in cluster.namespaces or () if n.name == ref.namespace), None)
        level = label(ns.labels, POD_SECURITY) if ns else None
        if level in ("baseline", "restricted"):
            risks.append(Risk(code="PROXY_SIDECAR_POD_SECURITY", cluster=cluster.name, namespace=ref.namespace,
                              object=str(ref), message=(f"namespace enforces Pod Security '{level}': the sidecar's "
                                                        "init container needs NET_ADMIN and will be rejected")))
    if a.service_account == "default":
        risks.append(Risk(code="DEFAULT_SERVICEACCOUNT", cluster=cluster.name, namespace=ref.namespace, object=str(ref),
                          message="runs as the 'default' service account: every pod of the namespace running as "
                                  "default could exchange its token for this identity; give it its own service account"))
    env = a.client_id_env.get(ref) if a.client_id_env else None
    return WorkloadPatch(
        cluster=cluster.name, namespace=ref.namespace, kind=ref.kind, name=ref.name,
        service_account=a.service_account, previous_service_account=a.previous_service_account,
        binding_selector=template.binding_selector if template else None,
        client_id_env=env.client_id if env else None, proxy_sidecar=sidecar,
        gitops_owner=str(owner) if owner else None, patchable=ref.kind in PATCHABLE and owner is None, note=note,
    )
