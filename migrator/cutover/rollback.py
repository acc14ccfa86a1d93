"""Rollback of a namespace: the cutover's steps reversed, from the before-state recorded in the cluster.

Works from any machine: everything it needs is in the namespace's record (``record.py``), not in the
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

from typing import Any

from migrator.cutover.armwrite import ManagedClusterWriter
from migrator.cutover.connect import utc_text
from migrator.cutover.context import Run, StepBase
from migrator.cutover.errors import StepFailed, StepRefused
from migrator.cutover.executor import Operation
from migrator.cutover.kube import MERGE, KubeApiError
from migrator.cutover.objects import (
    has_injection,
    meta,
    restore_patch,
    rollout_state,
    template_labels,
    workload_pods,
)
from migrator.cutover.steps import nmi_log_lines, patch_live, refuse_if_leased
from migrator.cutover.target import ROLLED, TEMPLATED
from migrator.vocabulary import BINDING_LABEL, WI_USE_LABEL


def _workload_entries(run: Run) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for key in run.record.keys("before."):
        _, kind, name = key.split(".", 2)
        if kind in TEMPLATED:
            out.append((kind, name, run.record.get(key)))
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
        refuse_if_leased(run)
        progress = run.record.get("progress") or {}
        run.reporter.info(f"record: {len(_workload_entries(run))} workload(s), {len(_sa_entries(run))} service "
                          f"account(s), {len(removed_bindings(run)) + len(removed_addon(run))} removed binding(s); "
                          f"last operation: {progress.get('operation', '-')} ({progress.get('state', '-')})")
        for w in t.workloads:
            if w.mode in ("refused", "at-source") and w.patch.gitops_owner:
                run.reporter.info(f"{w.ref} is owned by {w.patch.gitops_owner}: revert it in its source "
                                  "repository (this command does not touch it)")

    def act(self, run: Run) -> None:
        pass

    def verify(self, run: Run) -> str:
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


def cluster_writer(run: Run) -> ManagedClusterWriter:
    def on_event(event: str, why: str) -> None:
        run.reporter.waiting(why)
        run.journal.write(event, **run.where, why=why)
        run.interrupts.check()
        run.lease.renew()

    return ManagedClusterWriter(run.conn.arm, run.target.cluster, clock=run.clock, retry=run.access.retry,
                                timeout=run.options.rollout_timeout * 3, poll=run.options.poll * 3,
                                on_event=on_event)


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
            mc, _ = cluster_writer(run).read()
            entries = ((mc.get("properties") or {}).get("podIdentityProfile") or {}).get("userAssignedIdentities")
            return all(_addon_present(entries or [], e) for _k, e in addon)
        return True

    def act(self, run: Run) -> None:
        self._n = 0
        for key, doc in removed_bindings(run):
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
            self._n += 1
            run.changed += 1
        addon = [e for _k, e in removed_addon(run)]
        if not addon:
            return
        for e in addon:
            run.reporter.diff(f"add-on pod identity {e.get('namespace')}/{e.get('name')} (re-added)",
                              [f"+ bindingSelector {e.get('bindingSelector') or e.get('name')} → "
                               f"{(e.get('identity') or {}).get('resourceId')}"])
        if run.dry_run:
            run.reporter.info("dry run: ARM has no server-side dry run for managed clusters; the update above "
                              "was not sent")
            return

        def add(mc: dict[str, Any]) -> dict[str, Any] | None:
            profile = (mc.setdefault("properties", {}).get("podIdentityProfile") or {})
            entries = list(profile.get("userAssignedIdentities") or [])
            missing = [e for e in addon if not _addon_present(entries, e)]
            if not missing:
                return None
            profile["userAssignedIdentities"] = entries + missing
            mc["properties"]["podIdentityProfile"] = profile
            return mc

        cluster_writer(run).update(add, "re-adding the add-on's pod identities")
        run.journal.write("recreated", **run.where, object="podIdentityProfile", entries=addon)
        self._n += len(addon)
        run.changed += 1

    def verify(self, run: Run) -> str:
        if not run.dry_run and not self.done(run):
            raise StepFailed("a recreated binding is not there")
        return f"{getattr(self, '_n', 0)} recreated"


# ============================================================================= 3 and 4. templates


class _RestoreTemplates(StepBase):
    key = ""
    title = ""
    mutates = True
    labels_only: tuple[str, ...] | None = None

    def _pods_ok(self, pod: dict[str, Any], before: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def _holds(self, run: Run, kind: str, name: str, before: dict[str, Any],
               pods: list[dict[str, Any]] | None) -> tuple[bool, str]:
        obj = run.kube.get(kind, run.namespace, name)
        if obj is None:
            return True, ""  # deleted since: nothing to restore
        if restore_patch(obj, kind, before, labels_only=self.labels_only) is not None:
            return False, f"{kind}/{name}: template not restored"
        if kind not in ROLLED:
            return True, ""
        state = rollout_state(obj, kind)
        if not state.complete:
            return False, f"{kind}/{name}: rollout {state.progress}"
        for pod in workload_pods(obj, kind, pods or []):
            problem = self._pods_ok(pod, before)
            if problem:
                return False, f"{kind}/{name}: pod {meta(pod).get('name')} {problem}"
        return True, ""

    def done(self, run: Run) -> bool:
        entries = _workload_entries(run)
        if not entries:
            return True
        pods = run.kube.list("Pod", run.namespace)
        return all(self._holds(run, k, n, b, pods)[0] for k, n, b in entries)

    def act(self, run: Run) -> None:
        self._n = 0
        for kind, name, before in _workload_entries(run):
            run.interrupts.check()
            obj = run.kube.get(kind, run.namespace, name)
            if obj is None:
                run.reporter.warn(f"{kind}/{name} no longer exists: nothing to restore")
                continue
            body = restore_patch(obj, kind, before, labels_only=self.labels_only)
            if body is None:
                continue
            lines = _restore_lines(obj, kind, before, self.labels_only)
            patch_live(run, kind, name, lambda o, k=kind, b=before: restore_patch(o, k, b, labels_only=self.labels_only)
                       or {}, first=obj)
            run.reporter.diff(f"{kind}/{name}", lines)
            run.journal.write("changed", **run.where, object=f"{kind}/{name}", step=self.key, change=lines,
                              dryRun=run.dry_run or None)
            run.changed += 1
            self._n += 1

    def verify(self, run: Run) -> str:
        n = getattr(self, "_n", 0)
        if run.dry_run:
            return f"{n} workload(s) would change (dry run: no rollout)"
        waited = 0.0
        for kind, name, before in _workload_entries(run):
            if kind not in ROLLED:
                continue

            def probe(kind: str = kind, name: str = name, before: dict[str, Any] = before
                      ) -> tuple[bool, str, str | None]:
                obj = run.kube.get(kind, run.namespace, name)
                if obj is None:
                    return True, "deleted", None
                state = rollout_state(obj, kind)
                if state.failure:
                    return False, state.progress, state.failure
                holds, why = self._holds(run, kind, name, before, run.kube.list("Pod", run.namespace))
                return holds, why or state.progress, None

            def timeout(progress: str, elapsed: float, kind: str = kind, name: str = name) -> str:
                return (f"the rollout of {kind}/{name} did not complete within {int(run.options.rollout_timeout)} s "
                        f"({progress}); nothing was reverted: fix the rollout and run the same command again")

            waited += run.wait_until(f"rollout of {kind}/{name}", probe, timeout=run.options.rollout_timeout,
                                     on_timeout=timeout)
        return f"{n} restored, rollouts complete, pods verified" + (f" ({int(waited)} s)" if waited >= 1 else "")


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
        from migrator.cutover.objects import template_service_account

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

    def _pods_ok(self, pod: dict[str, Any], before: dict[str, Any]) -> str | None:
        want = (before.get("labels") or {}).get(BINDING_LABEL)
        if want is not None and (meta(pod).get("labels") or {}).get(BINDING_LABEL) != want:
            return f"lacks {BINDING_LABEL}={want}"
        return None

    def verify(self, run: Run) -> str:
        started = run.clock.now()
        summary = super().verify(run)
        if run.options.check_nmi_logs and not run.dry_run:
            _wait_nmi_serving(run, utc_text(started))
        return summary


def _wait_nmi_serving(run: Run, since: str) -> None:
    """With --check-nmi-logs: wait (bounded) until NMI's logs show it serving the namespace's pods again."""
    def probe() -> tuple[bool, str, str | None]:
        result = nmi_log_lines(run, run.kube.list("Pod", run.namespace), since)
        if result is None:
            return False, "", "no NMI runs on the cluster"
        readable, lines = result
        if not readable:
            run.reporter.warn("NMI logs not readable (permissions?): not checked")
            return True, "", None
        return bool(lines), f"{len(lines)} token(s) served so far", None

    def timeout(progress: str, elapsed: float) -> str:
        return (f"NMI served no token to the pods of {run.namespace} within {int(elapsed)} s of the rollout: the "
                "labels are back, but nothing shows the pods using pod identity yet (do they request a token at "
                "start?); check the application, then run again")

    run.wait_until("NMI serving the pods", probe, timeout=run.options.rollout_timeout, on_timeout=timeout)
    run.reporter.info(f"NMI logs: serving the pods of {run.namespace} again")


class RemoveWorkloadIdentity(_RestoreTemplates):
    key = "remove-workload-identity"
    title = f"remove {WI_USE_LABEL} (and the planned service account, AZURE_CLIENT_ID) and roll out"
    labels_only = None

    def _pods_ok(self, pod: dict[str, Any], before: dict[str, Any]) -> str | None:
        labels = meta(pod).get("labels") or {}
        if (before.get("labels") or {}).get(WI_USE_LABEL) is None and (WI_USE_LABEL in labels or has_injection(pod)):
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
            users = [meta(p).get("name") for p in pods if (p.get("spec") or {}).get("serviceAccountName") == name
                     and not meta(p).get("deletionTimestamp")]
            if users and run.kube.get("ServiceAccount", run.namespace, name) is not None:
                raise StepRefused(f"ServiceAccount/{name} was created by the cutover but pods still use it "
                                  f"({', '.join(users[:3])}): it is kept",
                                  hint="change those workloads back (or at their source), then run again")

    def act(self, run: Run) -> None:
        self._n = 0
        for name, before in _sa_entries(run):
            if self._holds(run, name, before):
                continue
            if not before.get("existed", True):
                run.kube.delete("ServiceAccount", run.namespace, name, dry_run=run.dry_run)
                run.reporter.diff(f"ServiceAccount/{name}", ["- deleted (the cutover created it)"])
            else:
                want = {k: v for k, v in (before.get("annotations") or {}).items()}
                live = run.kube.get("ServiceAccount", run.namespace, name) or {}
                ann = meta(live).get("annotations") or {}
                patch_live(run, "ServiceAccount", name, lambda o, w=want: {"metadata": {"annotations": w}}, MERGE,
                           first=live)
                run.reporter.diff(f"ServiceAccount/{name}", [
                    f"- annotation {k}: {ann.get(k)}" if v is None else f"~ annotation {k}: {ann.get(k)} → {v}"
                    for k, v in want.items() if ann.get(k) != v])
            run.journal.write("changed", **run.where, object=f"ServiceAccount/{name}", step=self.key,
                              dryRun=run.dry_run or None)
            run.changed += 1
            self._n += 1

    def verify(self, run: Run) -> str:
        n = getattr(self, "_n", 0)
        if run.dry_run:
            return f"{n} service account(s) would change (dry run)"
        if not self.done(run):
            raise StepFailed("a service account is not as recorded after the change")
        return f"{n} restored"


ROLLBACK_STEPS: tuple[type, ...] = (RollbackPreflight, RestoreBindings, RestoreBindingLabels, RemoveWorkloadIdentity,
                                    RestoreServiceAccounts)


def _unsettled(run: Run) -> bool:
    return bool(run.record.keys("before.") or run.record.keys("removed.")) or (
        (run.record.get("progress") or {}).get("operation") == "rollback"
        and (run.record.get("progress") or {}).get("state") != "rolled-back")


def _settle(run: Run) -> None:
    restored = run.record.keys("before.") + run.record.keys("removed.")
    run.record.forget(*restored)
    progress = dict(run.record.get("progress") or {})
    progress.update(operation="rollback", state="rolled-back", completed=utc_text(run.clock.now()),
                    by=run.journal.base["operator"])
    progress.pop("label", None)
    run.record.put("progress", progress)


def _confirm(run: Run, pending: list[Any]) -> list[str]:
    keys = {s.key for s in pending}
    lines = []
    if "restore-bindings" in keys:
        lines += [f"recreate {k.split('.', 2)[2]}" for k, _ in removed_bindings(run) + removed_addon(run)]
    if "restore-binding-label" in keys:
        lines += [f"put {BINDING_LABEL} back on {k}/{n} (rolling restart)" for k, n, _ in _workload_entries(run)]
    if "remove-workload-identity" in keys:
        lines += [f"remove workload identity from {k}/{n} (rolling restart)" for k, n, _ in _workload_entries(run)]
    if "restore-service-accounts" in keys:
        lines += [f"restore ServiceAccount/{n}" for n, _ in _sa_entries(run)]
    return lines


def _finished(run: Run) -> list[str]:
    t = run.target
    if run.dry_run:
        return ["dry run complete: nothing was changed",
                f"to apply: migrate rollback --plan {run.plan_ref} --cluster {t.cluster.name} "
                f"--namespace {t.namespace}"]
    _settle(run)
    return [f"rolled back: {t.cluster.name}/{t.namespace} runs on AAD Pod Identity again "
            f"({run.changed} change(s) made by this run; the record keeps state rolled-back)",
            f"to cut over again: migrate cutover --plan {run.plan_ref} --cluster {t.cluster.name} "
            f"--namespace {t.namespace}"]


def rollback_operation(run: Run) -> Operation:
    t = run.target
    return Operation(name="rollback", title="rollback", steps=[cls() for cls in ROLLBACK_STEPS],
                     command=f"migrate rollback --plan {run.plan_ref} --cluster {t.cluster.name} "
                             f"--namespace {t.namespace}",
                     confirm=_confirm, finished=_finished, unsettled=_unsettled, settle=_settle,
                     already_done=f"nothing to roll back in {t.cluster.name}/{t.namespace}: the record holds no "
                                  "change (never cut over, or already rolled back)")
