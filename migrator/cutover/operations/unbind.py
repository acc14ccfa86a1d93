"""Removing the AAD Pod Identity bindings of migrated namespaces (``migrate unbind``).

A binding goes only when no workload matches it any more, in *any* namespace: with cluster-wide
matching (standard mode without ``forceNamespaced``) a binding in one namespace serves pods in others,
and removing it early is an outage. Matching is AAD Pod Identity's own (``inventory.resolve``: the
``aadpodidbinding`` label of pod templates and of running pods), read live.

The bindings in scope are the ones the plan traced the namespace's identities to
(``why.bindings``). Each is removed where it lives:

* an ``AzureIdentityBinding`` object: deleted (with its ``resourceVersion`` as a precondition), after its
  full document is written to the record of every planned namespace it served and to the journal;
* a pod identity of the AKS add-on (``podIdentityProfile``, where the add-on also materializes the
  binding in the cluster and would put it back): removed through ARM, all of the cluster's in one
  managed-cluster update (``clients/arm_writes.py``: ETag, 409 while another operation runs, long-running
  operation), the entries kept in the records first.

``migrate rollback`` recreates both from the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from msgspec.structs import replace

from migrator.cutover import preflight
from migrator.cutover.clients.kube_api import KubeApiError
from migrator.cutover.engine.context import Run, Step, StepBase, StepResult, migrate_command
from migrator.cutover.engine.executor import Operation, Outcome
from migrator.cutover.engine.record import Record
from migrator.cutover.errors import StepFailed, StepRefused
from migrator.cutover.timestamps import utc_text
from migrator.plan.model import Credential, ServiceAccountPlan


@dataclass(frozen=True, slots=True)
class Candidate:
    namespace: str
    name: str
    selector: str | None
    addon: tuple[str, str] | None  # (namespace, pod identity name) when the AKS add-on owns it
    serves: tuple[str, ...]  # the planned namespaces whose identities it carried
    matched: tuple[str, ...]  # workloads still matching it: "namespace/Kind/name"

    @property
    def ref(self) -> str:
        if self.addon is not None:
            return f"add-on pod identity {self.addon[0]}/{self.addon[1]}"
        return f"AzureIdentityBinding {self.namespace}/{self.name}"


def plan_bindings(run: Run, namespace: str | None) -> dict[tuple[str, str], set[str]]:
    """(binding namespace, name) -> the planned namespaces it served, from the plan's ``why``."""
    plan, cluster = run.target.plan, run.target.cluster.name
    out: dict[tuple[str, str], set[str]] = {}
    items: list[ServiceAccountPlan | Credential] = [*plan.service_accounts, *plan.credentials]
    for item in items:
        if item.cluster != cluster or (namespace is not None and item.namespace != namespace):
            continue
        for ref in item.why.bindings:
            parts = ref.split("/")
            if len(parts) == 4 and parts[0] == cluster and parts[2] == "AzureIdentityBinding":
                out.setdefault((parts[1], parts[3]), set()).add(item.namespace)
    return out


def find_candidates(run: Run, namespace: str | None) -> list[Candidate]:
    """The plan's bindings for the scope that are still on the cluster, with what still matches them."""
    from migrator.inventory.resolve import resolve

    wanted = plan_bindings(run, namespace)
    served = plan_bindings(run, None)  # a binding in scope may serve other namespaces too
    inv = run.conn.inventory(run.target.cluster)
    run.inventory = inv
    addon_bindings = inv.facts.addon.bindings if inv.facts is not None and inv.facts.addon.enabled else ()
    out = []
    for m in resolve(inv).bindings:
        b = m.binding
        if (b.namespace, b.name) not in wanted:
            continue
        addon = None
        if b.managed_by == "add-on":
            twin = next((a for a in addon_bindings if a.namespace == b.namespace and a.selector == b.selector), None)
            addon = (b.namespace, twin.name if twin else b.name)
        matched = tuple(sorted(f"{w.ref.namespace}/{w.ref.kind}/{w.ref.name}" for w in m.workloads))
        serves = served.get((b.namespace, b.name), set()) | wanted[(b.namespace, b.name)]
        out.append(Candidate(b.namespace, b.name, b.selector, addon, tuple(sorted(serves)), matched))
    return out


@dataclass
class Scope:
    """What one unbind run is about: one namespace's bindings, or (``namespace`` None) the cluster's; the
    candidates are read once per run (the preflight reads them afresh)."""

    namespace: str | None
    found: list[Candidate] | None = None

    def candidates(self, run: Run, *, fresh: bool = False) -> list[Candidate]:
        if fresh or self.found is None:
            self.found = find_candidates(run, self.namespace)
        return self.found


def _addon_profile(run: Run) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    mc, _ = run.managed_cluster_writer().read()
    profile = (mc.get("properties") or {}).get("podIdentityProfile") or {}
    return mc, list(profile.get("userAssignedIdentities") or [])


def _records(run: Run, scope: Scope, namespaces: tuple[str, ...]) -> list[Record]:
    out = [Record(run.kube, ns, dry_run=run.dry_run) for ns in namespaces]
    if scope.namespace and scope.namespace not in namespaces:
        out.append(Record(run.kube, scope.namespace, dry_run=run.dry_run))
    return out


class _ScopedStep(StepBase):
    def __init__(self, scope: Scope) -> None:
        self.scope = scope


class UnbindPreflight(_ScopedStep):
    key = "preflight"
    title = "preflight checks (read-only)"
    mutates = False

    def check(self, run: Run) -> None:
        from migrator.cutover.status import namespace_status
        from migrator.cutover.target import namespace_target

        preflight.refuse_if_leased(run)
        ns = self.scope.namespace
        found = self.scope.candidates(run, fresh=True)
        problems = []
        namespaces = sorted({n for c in found for n in c.serves} | ({ns} if ns else set()))
        for name in namespaces:
            target = namespace_target(run.target.plan, run.target.cluster.name, name, frozenset(
                f"{w.kind}/{w.name}" for w in run.target.plan.workloads
                if w.cluster == run.target.cluster.name and w.namespace == name))
            probe = Run(target=target, kube=run.kube, conn=run.conn, access=run.access, options=run.options,
                        reporter=run.reporter, journal=run.journal, record=Record(run.kube, name), lease=run.lease)
            status = namespace_status(probe)
            if status.stage not in ("cut-over", "unbound"):
                problems.append(f"namespace {name} is not cut over ({status.summary}): "
                                + migrate_command("cutover", run.plan_ref, run.target.cluster.name, name))
        for c in found:
            if c.matched:
                problems.append(f"{c.ref} (selector {c.selector}) still serves "
                                + ", ".join(f"{w} ({'aadpodidbinding'}={c.selector})" for w in c.matched)
                                + ": removing it would take their identity away; cut them over first")
        if problems:
            raise StepRefused("unbind refused:", details=tuple(f"- {p}" for p in problems), hint="nothing was changed")
        for c in found:
            run.reporter.info(f"{c.ref}: no workload matches it any more (served {', '.join(c.serves)})")

    def verify(self, run: Run, result: StepResult) -> str:
        found = self.scope.candidates(run)
        return f"{len(found)} binding(s) to remove, none in use"


class RemoveBindings(_ScopedStep):
    key = "remove-bindings"
    title = "remove the AzureIdentityBindings (kept in the record)"
    mutates = True

    def _mine(self, run: Run) -> list[Candidate]:
        return [c for c in self.scope.candidates(run) if c.addon is None]

    def done(self, run: Run) -> bool:
        return all(run.kube.get("AzureIdentityBinding", c.namespace, c.name) is None for c in self._mine(run))

    def act(self, run: Run) -> StepResult:
        n = 0
        for c in self._mine(run):
            run.interrupts.check()
            doc = run.kube.get("AzureIdentityBinding", c.namespace, c.name)
            if doc is None:
                continue
            kept = {k: v for k, v in doc.items() if k != "status"}
            kept["metadata"] = {k: v for k, v in (doc.get("metadata") or {}).items() if k != "managedFields"}
            for record in _records(run, self.scope, c.serves):
                record.remember(f"removed.AzureIdentityBinding.{c.namespace}.{c.name}", kept)
            run.journal.write("removed", **run.where, object=f"AzureIdentityBinding/{c.namespace}/{c.name}",
                              document=kept, dryRun=run.dry_run or None)
            try:
                run.kube.delete("AzureIdentityBinding", c.namespace, c.name, dry_run=run.dry_run,
                                resource_version=(doc.get("metadata") or {}).get("resourceVersion"))
            except KubeApiError as exc:
                if exc.status in (401, 403):
                    raise
                raise StepFailed(f"deleting {c.ref}: {exc.api_message}") from None
            run.reporter.diff(c.ref, [f"- selector {c.selector} → {(doc.get('spec') or {}).get('azureIdentity')} "
                                      f"(kept in the record of {', '.join(c.serves)})"])
            run.changed += 1
            n += 1
        return StepResult(n)

    def verify(self, run: Run, result: StepResult) -> str:
        n = result.count
        if run.dry_run:
            return f"{n} would be removed (dry run)"
        if not self.done(run):
            raise StepFailed("a binding is still there after its deletion")
        return f"{n} removed"


class RemoveAddonIdentities(_ScopedStep):
    key = "remove-addon-identities"
    title = "remove the add-on's pod identities (one managed-cluster update)"
    mutates = True

    def _mine(self, run: Run) -> list[Candidate]:
        return [c for c in self.scope.candidates(run) if c.addon is not None]

    def done(self, run: Run) -> bool:
        mine = self._mine(run)
        if not mine:
            return True
        _, entries = _addon_profile(run)
        present = {(e.get("namespace"), e.get("name")) for e in entries}
        return not any(c.addon in present for c in mine)

    def act(self, run: Run) -> StepResult:
        n = 0
        mine = self._mine(run)
        _, entries = _addon_profile(run)
        doomed = {c.addon for c in mine}
        for c in mine:
            entry = next((e for e in entries if (e.get("namespace"), e.get("name")) == c.addon), None)
            if entry is None:
                continue
            kept = {k: v for k, v in entry.items() if k not in ("provisioningState", "provisioningInfo")}
            assert c.addon is not None
            for record in _records(run, self.scope, c.serves):
                record.remember(f"removed.addon.{c.addon[0]}.{c.addon[1]}", kept)
            run.journal.write("removed", **run.where, object=f"podIdentityProfile/{c.addon[0]}/{c.addon[1]}",
                              document=kept, dryRun=run.dry_run or None)
            run.reporter.diff(c.ref, [f"- bindingSelector {entry.get('bindingSelector') or entry.get('name')} → "
                                      f"{(entry.get('identity') or {}).get('resourceId')}"])
            n += 1
        if run.dry_run:
            run.reporter.info("dry run: ARM has no server-side dry run for managed clusters; this update was not "
                              "sent")
            return StepResult(n)

        def remove(mc: dict[str, Any]) -> dict[str, Any] | None:
            profile = (mc.get("properties") or {}).get("podIdentityProfile") or {}
            entries = list(profile.get("userAssignedIdentities") or [])
            left = [e for e in entries if (e.get("namespace"), e.get("name")) not in doomed]
            if len(left) == len(entries):
                return None
            profile["userAssignedIdentities"] = left
            mc["properties"]["podIdentityProfile"] = profile
            return mc

        what = f"removing {len(doomed)} pod identit{'y' if len(doomed) == 1 else 'ies'}"
        puts = run.managed_cluster_writer().update(remove, what)
        run.journal.write("arm-updated", **run.where, puts=puts)
        run.changed += 1
        return StepResult(n)

    def verify(self, run: Run, result: StepResult) -> str:
        n = result.count
        if run.dry_run:
            return f"{n} would be removed (dry run)"
        if not self.done(run):
            raise StepFailed("a pod identity is still in the managed cluster's podIdentityProfile")
        return f"{n} removed in one managed-cluster update"


def _settle(run: Run, scope: Scope) -> None:
    ns = scope.namespace
    namespaces = {ns} if ns else {n for (_bns, _b), served in plan_bindings(run, None).items() for n in served}
    for name in sorted(namespaces):
        record = Record(run.kube, name, dry_run=run.dry_run)
        progress = record.progress
        if progress.state in ("cut-over", None) or progress.operation == "cutover":
            record.put_progress(replace(progress, operation="unbind", state="unbound",
                                        unbound=utc_text(run.clock.now())))


def _unsettled(run: Run, scope: Scope) -> bool:
    ns = scope.namespace
    if not ns:
        return False
    return Record(run.kube, ns).progress.state == "cut-over"


def _confirm(run: Run, pending: list[Step], scope: Scope) -> list[str]:
    return [f"remove {c.ref} (selector {c.selector}), kept in the record of {', '.join(c.serves)}"
            for c in scope.candidates(run)]


def _finished(run: Run, outcome: Outcome, scope: Scope) -> list[str]:
    t = run.target
    ns = scope.namespace
    if run.dry_run:
        return ["dry run complete: nothing was changed",
                f"to apply: {migrate_command('unbind', run.plan_ref, t.cluster.name, ns)}"]
    _settle(run, scope)
    rollback = migrate_command("rollback", run.plan_ref, t.cluster.name, ns) if ns else \
        migrate_command("rollback", run.plan_ref, t.cluster.name) + " --namespace=<namespace>"
    return [f"unbound: {run.label} no longer has pod identity bindings ({run.changed} change(s) made by this run)",
            f"rollback still works: {rollback} (recreates them from the record)",
            f"when every namespace is unbound: {migrate_command('finalize', run.plan_ref, t.cluster.name)}"]


def unbind_operation(run: Run, namespace: str | None) -> Operation:
    scope = Scope(namespace)
    t = run.target
    return Operation(name="unbind", title="unbind",
                     steps=[UnbindPreflight(scope), RemoveBindings(scope), RemoveAddonIdentities(scope)],
                     command=migrate_command("unbind", run.plan_ref, t.cluster.name, namespace),
                     confirm=partial(_confirm, scope=scope), finished=partial(_finished, scope=scope),
                     unsettled=partial(_unsettled, scope=scope), settle=partial(_settle, scope=scope),
                     already_done=f"nothing to unbind in {run.label}: the plan's bindings are gone already")
