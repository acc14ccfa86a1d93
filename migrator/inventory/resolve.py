"""Resolve bindings to the workloads and (cluster, namespace, serviceaccount) triples that use them.

The matching rules are AAD Pod Identity's own (docs/matching.md):

* a pod uses a binding when its ``aadpodidbinding`` label equals the binding's selector exactly;
* the binding's ``azureIdentity`` names an AzureIdentity in the binding's own namespace;
* by default a binding matches pods in any namespace; ``--forceNamespaced``/``FORCENAMESPACED``,
  managed mode (and so the AKS add-on), or ``aadpodidentity.k8s.io/Behavior: namespaced`` on the
  identity make it namespace-local;
* several bindings may share a selector: one pod, several identities.

Workloads are matched by their pod templates, and by the labels of their running pods (a label set
by hand on a pod counts too). The AKS add-on's pod identities act as bindings; the CRD objects the
add-on materializes in the cluster are the same bindings and are counted once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from migrator.inventory.model import (
    AzureIdentity,
    Binding,
    ClusterInventory,
    ObjectRef,
    PodIdentityException,
    Schema,
    Workload,
)
from migrator.inventory.podidentity import PodIdentityInstall, detect


@dataclass(frozen=True, slots=True)
class BindingMatch:
    """One effective binding, what it points at, and what it matches."""

    binding: Binding
    identity: AzureIdentity | None  # None: dangling (no such AzureIdentity in the binding's namespace)
    workloads: tuple[Workload, ...]
    namespaced: bool
    active: bool
    inactive_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Use:
    """A (cluster, namespace, serviceaccount) that uses an identity, and the workloads behind it."""

    cluster: str
    namespace: str
    service_account: str
    identity: AzureIdentity
    workloads: tuple[ObjectRef, ...]
    bindings: tuple[ObjectRef, ...]

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.cluster, self.namespace, self.service_account, self.identity.namespace, self.identity.name)


@dataclass(frozen=True, slots=True)
class ClusterResolution:
    cluster: ClusterInventory
    install: PodIdentityInstall
    identities: tuple[AzureIdentity, ...]  # effective: CRD objects and add-on identities, once each
    bindings: tuple[BindingMatch, ...]
    exceptions: tuple[PodIdentityException, ...]
    uses: tuple[Use, ...]
    inactive_uses: tuple[Use, ...]  # through legacy-schema objects v1.6+ controllers ignore


def _same_id(a: str | None, b: str | None) -> bool:
    return bool(a and b and a.strip().lower() == b.strip().lower())


def effective_objects(cluster: ClusterInventory) -> tuple[tuple[AzureIdentity, ...], tuple[Binding, ...],
                                                           tuple[PodIdentityException, ...]]:
    """CRD objects plus the add-on's declarations, each counted once, add-on ownership marked."""
    identities = list(cluster.identities or ())
    bindings = list(cluster.bindings or ())
    exceptions = list(cluster.exceptions or ())
    addon = cluster.facts.addon if cluster.facts else None
    if addon and addon.enabled:
        for pid in addon.identities:
            twin = next((i for i, x in enumerate(identities)
                         if x.namespace == pid.namespace and _same_id(x.resource_id, pid.resource_id)), None)
            if twin is None:
                identities.append(pid)
            else:
                identities[twin] = replace(identities[twin], managed_by="add-on")
        for pb in addon.bindings:
            pid_rid = next((i.resource_id for i in addon.identities
                            if i.namespace == pb.namespace and i.name == pb.identity_name), None)
            twin = next((i for i, x in enumerate(bindings)
                         if x.namespace == pb.namespace and x.selector == pb.selector and
                         any(_same_id(idn.resource_id, pid_rid) for idn in identities
                             if idn.namespace == x.namespace and idn.name == x.identity_name)), None)
            if twin is None:
                bindings.append(pb)
            else:
                bindings[twin] = replace(bindings[twin], managed_by="add-on")
        for pe in addon.exceptions:
            if not any(e.namespace == pe.namespace and e.pod_labels == pe.pod_labels for e in exceptions):
                exceptions.append(pe)
    key = lambda o: (o.namespace, o.name, o.origin.value)  # noqa: E731
    return tuple(sorted(identities, key=key)), tuple(sorted(bindings, key=key)), tuple(sorted(exceptions, key=key))


def _selectors(cluster: ClusterInventory) -> dict[ObjectRef, set[str]]:
    """Every ``aadpodidbinding`` value each workload's pods carry: template and running pods."""
    out: dict[ObjectRef, set[str]] = defaultdict(set)
    for w in cluster.workloads or ():
        if w.template.binding_selector is not None:
            out[w.ref].add(w.template.binding_selector)
    for pod in cluster.pods or ():
        if pod.owner is not None and pod.template.binding_selector is not None:
            out[pod.owner].add(pod.template.binding_selector)
    return out


def resolve(cluster: ClusterInventory) -> ClusterResolution:
    install = detect(cluster)
    identities, bindings, exceptions = effective_objects(cluster)
    by_name = {(i.namespace, i.name): i for i in identities}
    workloads = {w.ref: w for w in cluster.workloads or ()}
    selectors = _selectors(cluster)
    by_selector: dict[str, list[Workload]] = defaultdict(list)
    for ref, values in sorted(selectors.items()):
        if ref in workloads:
            for value in values:
                by_selector[value].append(workloads[ref])

    legacy_ignored = install.honours_legacy_schema is False
    matches = []
    for binding in bindings:
        identity = by_name.get((binding.namespace, binding.identity_name)) if binding.identity_name else None
        namespaced = install.namespaced or bool(identity and identity.namespaced)
        matched = tuple(w for w in by_selector.get(binding.selector or "\0", ())
                        if not namespaced or w.ref.namespace == binding.namespace) if binding.selector else ()
        legacy = binding.schema is Schema.LEGACY or bool(identity and identity.schema is Schema.LEGACY)
        reason = None
        if legacy and legacy_ignored:
            version = "v" + ".".join(map(str, install.version)) if install.version else "add-on (v1.6+)"
            reason = f"spec keys in the old capitalized schema, ignored by the {version} controllers on this cluster"
        matches.append(BindingMatch(binding, identity, matched, namespaced, reason is None, reason))

    uses = _uses(cluster.name, [m for m in matches if m.active])
    inactive = _uses(cluster.name, [m for m in matches if not m.active])
    return ClusterResolution(cluster, install, identities, tuple(matches), exceptions, uses, inactive)


def identity_key(identity: AzureIdentity) -> str:
    """One Azure identity, however many AzureIdentity objects name it (resource ID, any casing)."""
    if identity.resource_id:
        return identity.resource_id.strip().lower()
    if identity.client_id:
        return "client:" + identity.client_id.strip().lower()
    return f"object:{identity.namespace}/{identity.name}"


def _uses(cluster: str, matches: list[BindingMatch]) -> tuple[Use, ...]:
    """One use per (namespace, serviceaccount, Azure identity): two AzureIdentity objects naming the
    same identity (a chart's and the add-on's, say) need one credential, not two."""
    grouped: dict[tuple[str, str, str], tuple[list[AzureIdentity], set[ObjectRef], set[ObjectRef]]] = {}
    for m in matches:
        if m.identity is None:
            continue
        for w in m.workloads:
            key = (w.ref.namespace, w.template.service_account, identity_key(m.identity))
            entry = grouped.setdefault(key, ([], set(), set()))
            entry[0].append(m.identity)
            entry[1].add(w.ref)
            entry[2].add(m.binding.ref)

    def representative(ns: str, identities: list[AzureIdentity]) -> AzureIdentity:
        # the object in the workload's own namespace reads best; then a stable order
        return min(identities, key=lambda i: (i.namespace != ns, i.namespace, i.name))

    uses = [Use(cluster, ns, sa, representative(ns, ids), tuple(sorted(ws)), tuple(sorted(bs)))
            for (ns, sa, _), (ids, ws, bs) in grouped.items()]
    return tuple(sorted(uses, key=lambda u: u.key))


