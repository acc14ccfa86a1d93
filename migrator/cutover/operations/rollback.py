"""Rollback of a namespace: the cutover's steps reversed, from the before-state recorded in the cluster.

Works from any machine: everything it needs is in the namespace's record (``engine/record.py``), not in the
plan's assumptions or a local file. Order matters as much as on the way in — pods must never be
without an identity:

1. ``preflight`` (read-only): there is a record to roll back from; AAD Pod Identity still runs on the
   cluster (after ``finalize`` a rollback would leave the pods with no identity at all); lease free.
2. ``restore-bindings``: recreate the AzureIdentityBindings ``unbind`` removed (and re-add the
   add-on's pod identities through ARM), from the full documents kept in the record.
3. ``restore-binding-label``: put ``aadpodidbinding`` back on each pod template first; rollouts
   complete; every pod carries it again (and, with ``--check-nmi-logs``, NMI serves them).
4. ``remove-workload-identity``: restore the rest of each template (the workload-identity label,
   ``serviceAccountName``, ``AZURE_CLIENT_ID``) as recorded; rollouts complete; no pod is labelled.
5. ``restore-service-accounts``: annotations back as recorded; service accounts the cutover created
   are deleted once no pod uses them.

Each step is judged against the live cluster, so a rollback resumes like a cutover does. When every
step holds, the record keeps only its ``progress`` (state ``rolled-back``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from msgspec.structs import replace

from migrator.cutover import preflight
from migrator.cutover.clients.kube_api import MERGE, KubeApiError
from migrator.cutover.engine.context import Run, Step, StepBase, StepResult, migrate_command
from migrator.cutover.engine.executor import Operation, Outcome
from migrator.cutover.errors import StepFailed, StepRefused
from migrator.cutover.nmi import wait_nmi_serving
from migrator.cutover.objects import (
    annotations_patch,
    has_injection,
    meta,
    restore_patch,
    template_labels,
    template_service_account,
)
from migrator.cutover.rollout import TemplateStep
from migrator.cutover.target import ROLLED, TEMPLATED
from migrator.cutover.timestamps import utc_text
from migrator.vocabulary import BINDING_LABEL, WI_USE_LABEL


@dataclass(frozen=True, slots=True)
class RecordedWorkload:
    """A workload whose before-state the record keeps (``before.<Kind>.<name>``)."""

    kind: str
    name: str
    before: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def rolled(self) -> bool:
        return self.kind in ROLLED


def _workload_entries(run: Run) -> list[RecordedWorkload]:
    out = []
    for key in run.record.keys("before."):
        _, kind, name = key.split(".", 2)
        if kind in TEMPLATED:
            out.append(RecordedWorkload(kind, name, run.record.get(key)))
    return out


def _sa_entries(run: Run) -> list[tuple[str, dict[str, Any]]]:
    return [(key.split(".", 2)[2], run.record.get(key)) for key in run.record.keys("before.ServiceAccount.")]


def removed_bindings(run: Run) -> list[tuple[str, dict[str, Any]]]:
    return [(k, run.record.get(k)) for k in run.record.keys("removed.AzureIdentityBinding.")]


def removed_addon(run: Run) -> list[tuple[str, dict[str, Any]]]:
    return [(k, run.record.get(k)) for k in run.record.keys("removed.addon.")]


# ============================================================================= 1. preflight


class RollbackPreflight(StepBase):
    key = "preflight"
    title = "preflight checks (read-only)"
    mutates = False

    def check(self, run: Run) -> None:
        from migrator.inventory.podidentity import detect

        t = run.target
        inv = run.conn.inventory(t.cluster)
        run.inventory = inv
        install = detect(inv)
        addon = inv.facts is not None and inv.facts.addon.enabled
        if not install.nmi and not addon:
            raise StepRefused(f"AAD Pod Identity no longer runs on {t.cluster.name} (no NMI): rolling back would "
                              "leave the pods of this namespace with no identity at all",
                              hint="fix workload identity instead (migrate cutover status, the webhook, the "
                                   "credentials); nothing was changed")
        preflight.refuse_if_leased(run)
        progress = run.record.progress
        run.reporter.info(f"record: {len(_workload_entries(run))} workload(s), {len(_sa_entries(run))} service "
                          f"account(s), {len(removed_bindings(run)) + len(removed_addon(run))} removed binding(s); "
                          f"last operation: {progress.operation or '-'} ({progress.state or '-'})")
        for w in t.workloads:
            if w.mode in ("refused", "at-source") and w.patch.gitops_owner:
                run.reporter.info(f"{w.ref} is owned by {w.patch.gitops_owner}: revert it in its source "
                                  "repository (this command does not touch it)")

    def verify(self, run: Run, result: StepResult) -> str:
        return "pod identity is running; record found"


# ============================================================================= 2. bindings back


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    m = dict(doc.get("metadata") or {})
    for key in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                "deletionTimestamp", "deletionGracePeriodSeconds"):
        m.pop(key, None)
    return {k: v for k, v in {**doc, "metadata": m}.items() if k != "status"}


def _addon_present(profile_entries: list[dict[str, Any]], entry: dict[str, Any]) -> bool:
    return any(e.get("namespace") == entry.get("namespace") and e.get("name") == entry.get("name")
               for e in profile_entries)


class RestoreBindings(StepBase):
    key = "restore-bindings"
    title = "recreate the pod identity bindings unbind removed"
    mutates = True

    def done(self, run: Run) -> bool:
        for _key, doc in removed_bindings(run):
            m = doc.get("metadata") or {}
            if run.kube.get("AzureIdentityBinding", m.get("namespace"), m.get("name", "")) is None:
                return False
        addon = removed_addon(run)
        if addon:
            mc, _ = run.managed_cluster_writer().read()
            entries = ((mc.get("properties") or {}).get("podIdentityProfile") or {}).get("userAssignedIdentities")
            return all(_addon_present(entries or [], e) for _k, e in addon)
        return True

    def act(self, run: Run) -> StepResult:
        n = 0
        for _key, doc in removed_bindings(run):
            m = doc.get("metadata") or {}
            if run.kube.get("AzureIdentityBinding", m.get("namespace"), m.get("name", "")) is not None:
                continue
            try:
                run.kube.create("AzureIdentityBinding", m.get("namespace"), _strip(doc), dry_run=run.dry_run)
            except KubeApiError as exc:
                if exc.status in (401, 403):
                    raise
                if exc.status != 409:
                    raise StepFailed(f"recreating AzureIdentityBinding {m.get('namespace')}/{m.get('name')}: "
                                     f"{exc.api_message}") from None
            run.reporter.diff(f"AzureIdentityBinding {m.get('namespace')}/{m.get('name')} (recreated)",
                              [f"+ selector {(doc.get('spec') or {}).get('selector')} → "
                               f"{(doc.get('spec') or {}).get('azureIdentity')}"])
            run.journal.write("recreated", **run.where, object=f"AzureIdentityBinding/{m.get('name')}",
                              document=doc, dryRun=run.dry_run or None)
            n += 1
            run.changed += 1
        addon = [e for _k, e in removed_addon(run)]
        if not addon:
            return StepResult(n)
        for e in addon:
            run.reporter.diff(f"add-on pod identity {e.get('namespace')}/{e.get('name')} (re-added)",
                              [f"+ bindingSelector {e.get('bindingSelector') or e.get('name')} → "
                               f"{(e.get('identity') or {}).get('resourceId')}"])
        if run.dry_run:
            run.reporter.info("dry run: ARM has no server-side dry run for managed clusters; the update above "
                              "was not sent")
            return StepResult(n)

        def add(mc: dict[str, Any]) -> dict[str, Any] | None:
            profile = (mc.setdefault("properties", {}).get("podIdentityProfile") or {})
            entries = list(profile.get("userAssignedIdentities") or [])
            missing = [e for e in addon if not _addon_present(entries, e)]
            if not missing:
                return None
            profile["userAssignedIdentities"] = entries + missing
            mc["properties"]["podIdentityProfile"] = profile
            return mc

        run.managed_cluster_writer().update(add, "re-adding the add-on's pod identities")
        run.journal.write("recreated", **run.where, object="podIdentityProfile", entries=addon)
        run.changed += 1
        return StepResult(n + len(addon))

    def verify(self, run: Run, result: StepResult) -> str:
        if not run.dry_run and not self.done(run):
            raise StepFailed("a recreated binding is not there")
        return f"{result.count} recreated"


# ============================================================================= 3 and 4. templates


class _RestoreTemplates(TemplateStep[RecordedWorkload]):
    """Steps 3 and 4: put each recorded template back (``labels_only``: only these labels), wait, verify the pods."""

    verb = "restored"
    not_applied = "template not restored"
    gone_is_done = True  # deleted since: nothing to restore
    labels_only: tuple[str, ...] | None = None

    def workloads(self, run: Run) -> list[RecordedWorkload]:
        return _workload_entries(run)

    def holds(self, obj: dict[str, Any], w: RecordedWorkload) -> bool:
        return restore_patch(obj, w.kind, w.before, labels_only=self.labels_only) is None

    def patch(self, obj: dict[str, Any], w: RecordedWorkload) -> dict[str, Any]:
        return restore_patch(obj, w.kind, w.before, labels_only=self.labels_only) or {}

    def diff_lines(self, obj: dict[str, Any], w: RecordedWorkload) -> list[str]:
        return _restore_lines(obj, w.kind, w.before, self.labels_only)

    def gone(self, run: Run, w: RecordedWorkload) -> None:
        run.reporter.warn(f"{w.ref} no longer exists: nothing to restore")

    def timeout_message(self, run: Run, w: RecordedWorkload, progress: str) -> str:
        return (f"the rollout of {w.ref} did not complete within {int(run.options.rollout_timeout)} s "
                f"({progress}); nothing was reverted: fix the rollout and run the same command again")


def _restore_lines(obj: dict[str, Any], kind: str, before: dict[str, Any],
                   labels_only: tuple[str, ...] | None) -> list[str]:
    lines = []
    now = template_labels(obj, kind)
    for key, value in (before.get("labels") or {}).items():
        if labels_only is not None and key not in labels_only:
            continue
        if now.get(key) != value:
            if key in now:
                lines.append(f"- pod label {key}: {now[key]}")
            if value is not None:
                lines.append(f"+ pod label {key}: {value}")
    if labels_only is None:
        sa = before.get("serviceAccountName")
        if template_service_account(obj, kind) != (sa or "default"):
            lines.append(f"- serviceAccountName: {template_service_account(obj, kind)}")
            lines.append(f"+ serviceAccountName: {sa or '(unset: default)'}")
        for container, value in (before.get("clientIdEnv") or {}).items():
            if restore_patch(obj, kind, {"clientIdEnv": {container: value}}) is not None:
                lines.append(f"~ container {container}: AZURE_CLIENT_ID "
                             f"{'removed' if value is None else 'restored to ' + value}")
    return lines


class RestoreBindingLabels(_RestoreTemplates):
    key = "restore-binding-label"
    title = f"put the {BINDING_LABEL} labels back and roll out"
    labels_only = (BINDING_LABEL,)

    def pod_problem(self, pod: dict[str, Any], w: RecordedWorkload) -> str | None:
        want = (w.before.get("labels") or {}).get(BINDING_LABEL)
        if want is not None and (meta(pod).get("labels") or {}).get(BINDING_LABEL) != want:
            return f"lacks {BINDING_LABEL}={want}"
        return None

    def verify(self, run: Run, result: StepResult) -> str:
        started = run.clock.now()
        summary = super().verify(run, result)
        if run.options.check_nmi_logs and not run.dry_run:
            wait_nmi_serving(run, utc_text(started))
        return summary


class RemoveWorkloadIdentity(_RestoreTemplates):
    key = "remove-workload-identity"
    title = f"remove {WI_USE_LABEL} (and the planned service account, AZURE_CLIENT_ID) and roll out"
    labels_only = None

    def pod_problem(self, pod: dict[str, Any], w: RecordedWorkload) -> str | None:
        labels = meta(pod).get("labels") or {}
        if (w.before.get("labels") or {}).get(WI_USE_LABEL) is None and (WI_USE_LABEL in labels or has_injection(pod)):
            return "still runs with workload identity"
        return None


# ============================================================================= 5. service accounts


class RestoreServiceAccounts(StepBase):
    key = "restore-service-accounts"
    title = "restore the service accounts"
    mutates = True

    def _holds(self, run: Run, name: str, before: dict[str, Any]) -> bool:
        live = run.kube.get("ServiceAccount", run.namespace, name)
        if not before.get("existed", True):
            return live is None
        if live is None:
            return True
        ann = meta(live).get("annotations") or {}
        return all(ann.get(k) == v for k, v in (before.get("annotations") or {}).items())

    def done(self, run: Run) -> bool:
        return all(self._holds(run, n, b) for n, b in _sa_entries(run))

    def check(self, run: Run) -> None:
        if run.dry_run:
            return
        pods = run.kube.list("Pod", run.namespace)
        for name, before in _sa_entries(run):
            if before.get("existed", True):
                continue
            users = [str(meta(p).get("name")) for p in pods if (p.get("spec") or {}).get("serviceAccountName") == name
                     and not meta(p).get("deletionTimestamp")]
            if users and run.kube.get("ServiceAccount", run.namespace, name) is not None:
                raise StepRefused(f"ServiceAccount/{name} was created by the cutover but pods still use it "
                                  f"({', '.join(users[:3])}): it is kept",
                                  hint="change those workloads back (or at their source), then run again")

    def act(self, run: Run) -> StepResult:
        n = 0
        for name, before in _sa_entries(run):
            if self._holds(run, name, before):
                continue
            if not before.get("existed", True):
                run.kube.delete("ServiceAccount", run.namespace, name, dry_run=run.dry_run)
                run.reporter.diff(f"ServiceAccount/{name}", ["- deleted (the cutover created it)"])
            else:
                want = dict(before.get("annotations") or {})
                live = run.kube.get("ServiceAccount", run.namespace, name) or {}
                ann = meta(live).get("annotations") or {}
                run.patch_live("ServiceAccount", name, annotations_patch(want), MERGE, first=live)
                run.reporter.diff(f"ServiceAccount/{name}", [
                    f"- annotation {k}: {ann.get(k)}" if v is None else f"~ annotation {k}: {ann.get(k)} → {v}"
                    for k, v in want.items() if ann.get(k) != v])
            run.journal.write("changed", **run.where, object=f"ServiceAccount/{name}", step=self.key,
                              dryRun=run.dry_run or None)
            run.changed += 1
            n += 1
        return StepResult(n)

    def verify(self, run: Run, result: StepResult) -> str:
        n = result.count
        if run.dry_run:
            return f"{n} service account(s) would change (dry run)"
        if not self.done(run):
            raise StepFailed("a service account is not as recorded after the change")
        return f"{n} restored"


def _unsettled(run: Run) -> bool:
    return bool(run.record.keys("before.") or run.record.keys("removed.")) or (
        run.record.progress.operation == "rollback" and run.record.progress.state != "rolled-back")


def _settle(run: Run) -> None:
    restored = run.record.keys("before.") + run.record.keys("removed.")
    run.record.forget(*restored)
    run.record.put_progress(replace(run.record.progress.begin("rollback"), operation="rollback", state="rolled-back",
                                    completed=utc_text(run.clock.now()), by=run.journal.base["operator"], label=None))


def _confirm(run: Run, pending: list[Step]) -> list[str]:
    keys = {s.key for s in pending}
    lines = []
    if "restore-bindings" in keys:
        lines += [f"recreate {k.split('.', 2)[2]}" for k, _ in removed_bindings(run) + removed_addon(run)]
    if "restore-binding-label" in keys:
        lines += [f"put {BINDING_LABEL} back on {w.ref} (rolling restart)" for w in _workload_entries(run)]
    if "remove-workload-identity" in keys:
        lines += [f"remove workload identity from {w.ref} (rolling restart)" for w in _workload_entries(run)]
    if "restore-service-accounts" in keys:
        lines += [f"restore ServiceAccount/{n}" for n, _ in _sa_entries(run)]
    return lines


def _finished(run: Run, outcome: Outcome) -> list[str]:
    t = run.target
    if run.dry_run:
        return ["dry run complete: nothing was changed",
                f"to apply: {migrate_command('rollback', run.plan_ref, t.cluster.name, t.namespace)}"]
    _settle(run)
    return [f"rolled back: {t.cluster.name}/{t.namespace} runs on AAD Pod Identity again "
            f"({run.changed} change(s) made by this run; the record keeps state rolled-back)",
            f"to cut over again: {migrate_command('cutover', run.plan_ref, t.cluster.name, t.namespace)}"]


def rollback_operation(run: Run) -> Operation:
    t = run.target
    steps = [RollbackPreflight(), RestoreBindings(), RestoreBindingLabels(), RemoveWorkloadIdentity(),
             RestoreServiceAccounts()]
    return Operation(name="rollback", title="rollback", steps=steps,
                     command=migrate_command("rollback", run.plan_ref, t.cluster.name, t.namespace),
                     confirm=_confirm, finished=_finished, unsettled=_unsettled, settle=_settle,
                     already_done=f"nothing to roll back in {t.cluster.name}/{t.namespace}: the record holds no "
                                  "change (never cut over, or already rolled back)")
