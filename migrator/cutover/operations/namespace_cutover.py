"""The cutover of one namespace, as six named steps. Each step: check its precondition, act, verify its
postcondition; each is idempotent and judged against the live cluster, so a re-run continues from the
first step whose postcondition does not hold.

1. ``preflight`` (read-only): plan items ready, OIDC issuer and workload identity on, webhook installed
   and ready, every credential in Azure with the issuer the cluster reports now, namespace not
   protected by an admission policy, workloads as planned (GitOps owners acknowledged), lease free.
2. ``federation`` (read-only): a TokenRequest per service account, ``iss`` checked, exchanged at
   Entra for the planned client ID (AADSTS70021 retried while the credential propagates).
3. ``service-accounts``: annotate (or create, where the plan splits) with the client ID.
4. ``webhook``: a server-side dry-run pod per workload comes back injected.
5. ``label``: ``azure.workload.identity/use: "true"`` on the pod templates (and the planned
   ``serviceAccountName``/``AZURE_CLIENT_ID``); rollouts complete; new pods injected.
6. ``unbind-label``: ``aadpodidbinding`` removed from the pod templates; rollouts complete; pods
   still injected and no longer bound (optionally: NMI served them no token since step 5).

Steps act through ``Run`` (the edges: KubeApi, Connections, Record, Journal, Reporter); judgements
on objects are the pure functions of ``objects.py``, the checks of step 1 are in ``preflight.py``,
steps 5 and 6 are ``rollout.TemplateStep`` (shared with rollback) and NMI's logs are read by ``nmi.py``. ``cutover_operation`` wraps the steps for the executor: what the
question before the first write lists, what is recorded as each step completes, and what to do next.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from migrator.cutover import preflight
from migrator.cutover.clients.kube_api import MERGE, KubeApiError
from migrator.cutover.clients.token_exchange import TokenExchanger, explain, jwt_claims
from migrator.cutover.engine.context import Run, Step, StepBase, StepResult, migrate_command
from migrator.cutover.engine.executor import Operation, Outcome
from migrator.cutover.engine.record import LabelMark, Progress, StepMark
from migrator.cutover.errors import StepFailed, StepRefused
from migrator.cutover.nmi import refuse_if_nmi_served
from migrator.cutover.objects import (
    TemplateChange,
    annotations_patch,
    before_state,
    dry_run_pod,
    has_injection,
    injection_problems,
    meta,
    template_labels,
    template_service_account,
)
from migrator.cutover.rollout import TemplateStep
from migrator.cutover.target import WorkloadTarget
from migrator.cutover.timestamps import utc_text
from migrator.escape import sh, sh_flag
from migrator.plan.model import Credential
from migrator.vocabulary import (
    BINDING_LABEL,
    CLIENT_ID_ANNOTATION,
    TENANT_ID_ANNOTATION,
    TOKEN_EXCHANGE_AUDIENCE,
    WI_USE_LABEL,
)


def _short(client_id: str | None) -> str:
    return f"{client_id[:8]}…" if client_id else "-"


# ============================================================================= 1. preflight


class Preflight(StepBase):
    key = "preflight"
    title = "preflight checks (read-only)"
    mutates = False

    def check(self, run: Run) -> None:
        t = run.target
        preflight.refuse_if_the_plan_blocks(t)
        run.inventory = run.conn.inventory(t.cluster)
        problems = preflight.issuer_problems(run)
        problems += preflight.webhook_problems(run)
        if run.issuer:
            problems += preflight.credential_problems(run, run.issuer)
        problems += preflight.protection_problems(run)
        problems += preflight.workload_problems(run)
        preflight.refuse_if_leased(run)
        if problems:
            raise StepRefused("preflight refused:", details=tuple(f"- {p}" for p in problems), hint="nothing was changed")
        preflight.notes(run)

    def verify(self, run: Run, result: StepResult) -> str:
        return f"issuer, webhook, {len(run.target.credentials)} credential(s), workloads: ok"


# ============================================================================= 2. federation


class Federation(StepBase):
    key = "federation"
    title = "prove the federation: token request + exchange at Entra (read-only)"
    mutates = False

    def act(self, run: Run) -> StepResult:
        proved = 0
        for cred in run.target.credentials:
            sa = run.target.service_account(cred.service_account)
            if sa is not None and sa.create and run.kube.get("ServiceAccount", run.namespace, sa.name) is None:
                run.deferred.append(cred)
                run.reporter.info(f"ServiceAccount/{sa.name} is created in step 3: its federation is proved there")
                continue
            prove(run, cred)
            proved += 1
        return StepResult(proved)

    def verify(self, run: Run, result: StepResult) -> str:
        return f"{result.count} credential(s) exchanged for a token" + (f", {len(run.deferred)} after step 3"
                                                             if run.deferred else "")


def exchanger(run: Run) -> TokenExchanger:
    return TokenExchanger(run.access.authority, clock=run.clock, connection_verify=run.access.ca_bundle,
                          retry=run.access.retry)


def prove(run: Run, cred: Credential) -> None:
    """TokenRequest for the credential's service account, then the exchange at Entra; StepRefused on failure."""
    sa_name = cred.service_account
    client_id = cred.identity.client_id
    if not client_id:
        raise StepRefused(f"credential {cred.name}: the plan has no client ID for {cred.identity.name}")
    sa_plan = run.target.service_account(sa_name)
    tenant = (sa_plan.tenant_id if sa_plan and sa_plan.tenant_id else None) or run.target.tenant_id
    expected_sub = f"system:serviceaccount:{run.namespace}:{sa_name}"
    cache: dict[str, Any] = {}

    def assertion() -> str:
        if "token" not in cache or run.clock.monotonic() - cache["at"] > 300:
            try:
                cache["token"] = run.kube.token_request(run.namespace, sa_name, TOKEN_EXCHANGE_AUDIENCE)
            except KubeApiError as exc:
                raise StepRefused(f"TokenRequest for ServiceAccount/{sa_name} failed: {exc.api_message}") from None
            cache["at"] = run.clock.monotonic()
        return str(cache["token"])

    claims = jwt_claims(assertion())
    if run.issuer and claims.get("iss") != run.issuer:
        raise StepRefused(f"the token of ServiceAccount/{sa_name} is issued by {claims.get('iss')}, not by the "
                          f"cluster's OIDC issuer {run.issuer}: the federated credentials would not match",
                          hint="check --service-account-issuer of the cluster (az aks show --query oidcIssuerProfile)")
    if claims.get("sub") != expected_sub:
        raise StepRefused(f"the token's subject is {claims.get('sub')}, expected {expected_sub}")

    def on_wait(waited: float, message: str) -> None:
        run.reporter.waiting(f"{cred.identity.name}: credential not propagated yet (AADSTS70021), retrying "
                             f"({int(waited)} s of {int(run.options.propagation_timeout)} s)")
        run.interrupts.check("while waiting for the credential to propagate")

    result = exchanger(run).exchange(tenant, client_id, assertion, propagation_timeout=run.options.propagation_timeout,
                                     poll=min(10.0, max(1.0, run.options.poll * 2)), on_wait=on_wait)
    run.reporter.done_waiting()
    if not result.ok:
        waited = f" (retried for {int(result.waited)} s)" if result.attempts > 1 else ""
        raise StepRefused(f"ServiceAccount/{sa_name} → {cred.identity.name} (client {client_id}): "
                          f"{explain(result.code, result.message)}{waited}", hint="nothing was changed")
    after = f" after {int(result.waited)} s of propagation" if result.attempts > 1 else ""
    run.reporter.info(f"ServiceAccount/{sa_name} → {cred.identity.name} ({_short(client_id)}): token "
                      f"exchanged{after}")
    run.journal.write("federation-proved", cluster=run.target.cluster.name, namespace=run.namespace,
                      serviceAccount=sa_name, clientId=client_id, attempts=result.attempts)


# ============================================================================= 3. service accounts


def _sa_wanted(run: Run, name: str) -> dict[str, str]:
    sa = run.target.service_account(name)
    assert sa is not None
    want = {CLIENT_ID_ANNOTATION: sa.client_id or ""}
    if sa.tenant_id:
        want[TENANT_ID_ANNOTATION] = sa.tenant_id
    return want


def _sa_holds(obj: dict[str, Any] | None, want: dict[str, str]) -> bool:
    if obj is None:
        return False
    ann = meta(obj).get("annotations") or {}
    return all(ann.get(k) == v for k, v in want.items())


class ServiceAccounts(StepBase):
    key = "service-accounts"
    title = "annotate the service accounts with the client ID"
    mutates = True

    def done(self, run: Run) -> bool:
        return all(_sa_holds(run.kube.get("ServiceAccount", run.namespace, s.name), _sa_wanted(run, s.name))
                   for s in run.target.service_accounts if s.client_id)

    def check(self, run: Run) -> None:
        for s in run.target.service_accounts:
            if not s.client_id:
                raise StepRefused(f"ServiceAccount/{s.name}: the plan has no client ID for it")
            if not s.create and run.kube.get("ServiceAccount", run.namespace, s.name) is None:
                raise StepRefused(f"ServiceAccount/{s.name} does not exist, and the plan does not create it: re-plan")

    def act(self, run: Run) -> StepResult:
        changed = 0
        for s in run.target.service_accounts:
            run.interrupts.check()
            want = _sa_wanted(run, s.name)
            live = run.kube.get("ServiceAccount", run.namespace, s.name)
            if _sa_holds(live, want):
                continue
            ref = f"ServiceAccount/{s.name}"
            if live is None:
                run.record.remember(f"before.ServiceAccount.{s.name}", {"kind": "ServiceAccount", "existed": False})
                body = {"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": s.name, "namespace": run.namespace, "annotations": want,
                                     "labels": {"app.kubernetes.io/managed-by": "wi-migrator"}}}
                run.kube.create("ServiceAccount", run.namespace, body, dry_run=run.dry_run)
                run.reporter.diff(f"{ref} (new)", [f"+ annotation {k}: {v}" for k, v in want.items()])
            else:
                ann = meta(live).get("annotations") or {}
                run.record.remember(f"before.ServiceAccount.{s.name}",
                                    {"kind": "ServiceAccount", "existed": True,
                                     "annotations": {k: ann.get(k) for k in want}})
                run.patch_live("ServiceAccount", s.name, annotations_patch(want), MERGE, first=live)
                run.reporter.diff(ref, [line for k, v in want.items() if ann.get(k) != v for line in
                                        ([f"- annotation {k}: {ann[k]}"] if k in ann else []) +
                                        [f"+ annotation {k}: {v}"]])
            run.journal.write("changed", cluster=run.target.cluster.name, namespace=run.namespace, object=ref,
                              after=want, dryRun=run.dry_run or None)
            changed += 1
            run.changed += 1
        return StepResult(changed)

    def verify(self, run: Run, result: StepResult) -> str:
        n = result.count
        if run.dry_run:
            return f"{n} service account(s) would change (dry run)"
        for s in run.target.service_accounts:
            live = run.kube.get("ServiceAccount", run.namespace, s.name)
            if not _sa_holds(live, _sa_wanted(run, s.name)):
                raise StepFailed(f"ServiceAccount/{s.name} does not carry the client ID after the change "
                                 "(another controller reverted it?)")
        for cred in list(run.deferred):
            prove(run, cred)
            run.deferred.remove(cred)
        return f"{n} changed, {len(run.target.service_accounts) - n} already annotated"


# ============================================================================= 4. webhook dry run


class WebhookCheck(StepBase):
    key = "webhook"
    title = "check the webhook will mutate the pods (server-side dry run)"
    mutates = False

    def act(self, run: Run) -> StepResult:
        problems = []
        checked = 0
        for w in run.target.changed:
            if not w.templated:
                continue
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None:
                problems.append(f"{w.ref} disappeared")
                continue
            sa_name = w.patch.service_account
            sa = run.kube.get("ServiceAccount", run.namespace, sa_name)
            if sa is None:
                run.reporter.info(f"{w.ref}: ServiceAccount/{sa_name} does not exist yet (dry run): not checked")
                continue
            annotated = CLIENT_ID_ANNOTATION in (meta(sa).get("annotations") or {})
            pod = dry_run_pod(obj, w.kind, service_account=sa_name, client_id_env=w.patch.client_id_env)
            try:
                result = run.kube.create("Pod", run.namespace, pod, dry_run=True)
            except KubeApiError as exc:
                problems.append(f"{w.ref}: a labelled pod is rejected: {exc.api_message}")
                continue
            expected = {c.identity.client_id for c in run.target.credentials_of(sa_name) if c.identity.client_id}
            if w.patch.client_id_env:
                expected.add(w.patch.client_id_env)
            found, notes = injection_problems(result, expected_client_ids=expected or None,
                                              require_client_id=annotated)
            for n in notes:
                run.reporter.info(f"{w.ref}: {n}")
            if not annotated and not found:
                run.reporter.info(f"{w.ref}: AZURE_CLIENT_ID comes from the annotation of step 3 (dry run)")
            problems.extend(f"{w.ref}: {p}" for p in found)
            checked += 1
        if problems:
            raise StepRefused("the webhook would not inject workload identity:", details=tuple(f"- {p}" for p in problems),
                              hint="check the webhook (kubectl get mutatingwebhookconfiguration "
                                   "azure-wi-webhook-mutating-webhook-configuration) and its pods; nothing was "
                                   "labelled")
        return StepResult(checked)

    def verify(self, run: Run, result: StepResult) -> str:
        return f"{result.count} pod template(s) come back injected"


# ============================================================================= 5 and 6. pod templates


def _wi_change(w: WorkloadTarget) -> TemplateChange:
    return TemplateChange(add_wi_label=True,
                          service_account=w.patch.service_account if w.patch.previous_service_account else None,
                          client_id_env=w.patch.client_id_env)


_UNBIND = TemplateChange(remove_binding_label=True)


def _label_lines(obj: dict[str, Any], kind: str, change: TemplateChange) -> list[str]:
    lines = []
    labels = template_labels(obj, kind)
    if change.add_wi_label and labels.get(WI_USE_LABEL) != "true":
        lines.append(f'+ pod label {WI_USE_LABEL}: "true"')
    if change.remove_binding_label and BINDING_LABEL in labels:
        lines.append(f"- pod label {BINDING_LABEL}: {labels[BINDING_LABEL]}")
    if change.service_account and template_service_account(obj, kind) != change.service_account:
        lines.append(f"- serviceAccountName: {template_service_account(obj, kind)}")
        lines.append(f"+ serviceAccountName: {change.service_account}")
    if change.client_id_env:
        lines.append(f"+ env AZURE_CLIENT_ID={change.client_id_env} (every container)")
    return lines


class _TemplateStep(TemplateStep[WorkloadTarget]):
    """Steps 5 and 6: patch the in-place templates, verify the at-source ones, wait, verify the pods."""

    def change(self, w: WorkloadTarget) -> TemplateChange:
        raise NotImplementedError

    def applies(self, w: WorkloadTarget) -> bool:
        return w.templated

    def workloads(self, run: Run) -> list[WorkloadTarget]:
        return [w for w in run.target.changed if self.applies(w)]

    def patches(self, w: WorkloadTarget) -> bool:
        return w.mode == "in-place"

    def holds(self, obj: dict[str, Any], w: WorkloadTarget) -> bool:
        return self.change(w).holds(obj, w.kind)

    def patch(self, obj: dict[str, Any], w: WorkloadTarget) -> dict[str, Any]:
        return self.change(w).patch(obj, w.kind)

    def diff_lines(self, obj: dict[str, Any], w: WorkloadTarget) -> list[str]:
        return _label_lines(obj, w.kind, self.change(w))

    def before_change(self, run: Run, w: WorkloadTarget, obj: dict[str, Any]) -> None:
        run.record.remember(f"before.{w.kind}.{w.name}", before_state(obj, w.kind))

    def check(self, run: Run) -> None:
        pending = []
        for w in self.workloads(run):
            if w.mode != "at-source":
                continue
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None or not self.holds(obj, w):
                pending.append(w)
        if pending:
            raise StepRefused(
                "waiting for the change at the source: " + "; ".join(
                    f"{w.ref} ({w.patch.gitops_owner or 'its source'}) does not carry it yet" for w in pending),
                hint=f"let {', '.join(sorted({w.patch.gitops_owner or 'the source' for w in pending}))} apply the "
                     "change, then run the same command again")

    def settled_without_rollout(self, run: Run, w: WorkloadTarget) -> None:
        obj = run.kube.get(w.kind, run.namespace, w.name)
        if obj is None or not self.holds(obj, w):
            raise StepFailed(f"{w.ref}: the change is not in its template")
        run.reporter.info(f"{w.ref}: its next run uses the new template (running Jobs finish as they started)")

    def timeout_message(self, run: Run, w: WorkloadTarget, progress: str) -> str:
        return (f"the rollout of {w.ref} did not complete within {int(run.options.rollout_timeout)} s "
                f"({progress}). The change is in place and nothing was reverted: fix the rollout "
                f"(kubectl {sh_flag('--namespace', run.namespace)} rollout status {sh(f'{w.kind.lower()}/{w.name}')}) and run the "
                "same command again to continue, or roll back with migrate rollback")


class Label(_TemplateStep):
    key = "label"
    title = f"label the pod templates {WI_USE_LABEL}=true and roll out"

    def change(self, w: WorkloadTarget) -> TemplateChange:
        return _wi_change(w)

    def pod_problem(self, pod: dict[str, Any], w: WorkloadTarget) -> str | None:
        if (meta(pod).get("labels") or {}).get(WI_USE_LABEL) != "true":
            return f"lacks the label {WI_USE_LABEL}"
        if not has_injection(pod):
            return "was not injected by the webhook"
        return None

    def act(self, run: Run) -> StepResult:
        progress = cutover_progress(run)
        if not (progress.label and progress.label.started):
            run.record.put_progress(replace(progress, operation="cutover", state="in-progress",
                                            label=LabelMark(started=utc_text(run.clock.now()))))
        return super().act(run)


class Unlabel(_TemplateStep):
    key = "unbind-label"
    title = f"remove the {BINDING_LABEL} label and roll out"

    def change(self, w: WorkloadTarget) -> TemplateChange:
        return _UNBIND

    def applies(self, w: WorkloadTarget) -> bool:
        return w.templated and w.patch.binding_selector is not None

    def pod_problem(self, pod: dict[str, Any], w: WorkloadTarget) -> str | None:
        if BINDING_LABEL in (meta(pod).get("labels") or {}):
            return f"still carries {BINDING_LABEL}"
        if not has_injection(pod):
            return "was not injected by the webhook"
        return None

    def check(self, run: Run) -> None:
        if run.dry_run:  # step 5 was only a dry run: judge the change against the template as it is
            super().check(run)
            return
        label = Label()
        pods = run.kube.list("Pod", run.namespace)
        for w in label.workloads(run):
            holds, why = label.judge(run, w, pods)
            if not holds and not self.judge(run, w, pods)[0]:
                raise StepRefused(f"step 5 is not complete: {why}", hint="run the same command again: it "
                                                                         "continues with step 5")
        super().check(run)
        if run.options.check_nmi_logs:
            if not label_completed(run):  # not recorded yet: from the rollouts (refused below if nothing says)
                at = label.observed_completion(run) or _label_started(run)
                if at:
                    complete_label_progress(run, at)
            refuse_if_nmi_served(run, pods)


def cutover_progress(run: Run) -> Progress:
    """The record's progress section this cutover writes to (a fresh one after a rollback)."""
    return run.record.progress.begin("cutover")


def label_completed(run: Run) -> str | None:
    label = run.record.progress.label
    return label.completed if label else None


def _label_started(run: Run) -> str | None:
    label = run.record.progress.label
    return label.started if label else None


def complete_label_progress(run: Run, at: str) -> None:
    """Record when step 5 completed (``at``: now, or as the cluster observed it when the step is found done)."""
    progress = cutover_progress(run)
    label = progress.label or LabelMark()
    if not label.completed:
        run.record.put_progress(replace(progress, label=replace(label, completed=at)))


# ============================================================================= the operation


def command_line(run: Run, verb: str = "cutover") -> str:
    t = run.target
    return migrate_command(verb, run.plan_ref, t.cluster.name, t.namespace,
                           *(("--changed-at-source", str(w.ref)) for w in t.by_mode("at-source")))


def _confirm_lines(run: Run, pending: list[Step]) -> list[str]:
    t = run.target
    keys = {s.key for s in pending}
    lines = []
    if "service-accounts" in keys:
        for s in t.service_accounts:
            lines.append(f"{'create' if s.create else 'annotate'} ServiceAccount/{s.name} with client ID "
                         f"{s.client_id}")
    if "label" in keys:
        for w in t.by_mode("in-place"):
            restart = " (rolling restart)" if w.rolled else " (its next run)"
            sa = f", serviceAccountName {w.patch.service_account}" if w.patch.previous_service_account else ""
            lines.append(f"label {w.ref} {WI_USE_LABEL}=true{sa}{restart}")
    if "unbind-label" in keys:
        for w in t.by_mode("in-place"):
            if w.patch.binding_selector:
                lines.append(f"remove {BINDING_LABEL}={w.patch.binding_selector} from {w.ref}"
                             f"{' (rolling restart)' if w.rolled else ''}")
    return lines


def _unsettled(run: Run) -> bool:
    progress = run.record.progress
    if progress.operation == "rollback":
        return True  # a cutover found done after a rollback: a fresh section says so
    return progress.operation == "cutover" and (progress.state != "cut-over" or "label" not in progress.steps)


def _settle(run: Run) -> None:
    progress = cutover_progress(run)
    if progress.state != "cut-over":
        progress = replace(progress, operation="cutover", state="cut-over", completed=utc_text(run.clock.now()))
    run.record.put_progress(progress)


def _finished(run: Run, outcome: Outcome) -> list[str]:
    t = run.target
    if run.dry_run:
        return ["dry run complete: nothing was changed (the API server validated every change)",
                f"to apply: {command_line(run)}"]
    if _unsettled(run) or run.record.progress == Progress():
        _settle(run)
    lines = [f"cut over: {t.cluster.name}/{t.namespace} runs on workload identity "
             f"({run.changed} change(s) made by this run)"]
    for w in t.by_mode("job"):
        lines.append(f"  note: {w.ref}: {w.reason}")
    lines.append("next, after a quiet period (the bindings still allow a rollback without downtime):")
    lines.append(f"  {migrate_command('unbind', run.plan_ref, t.cluster.name, t.namespace)}")
    lines.append(f"rollback: {migrate_command('rollback', run.plan_ref, t.cluster.name, t.namespace)}")
    return lines


def _step_done(run: Run, step: Step) -> None:
    if step.key == "label":
        complete_label_progress(run, utc_text(run.clock.now()))
    progress = cutover_progress(run)
    steps = {**progress.steps, step.key: StepMark(at=utc_text(run.clock.now()), by=run.journal.base["operator"])}
    run.record.put_progress(replace(progress, operation="cutover", steps=steps, state="in-progress"))


def _step_found_done(run: Run, step: Step) -> None:
    """A step a re-run found done: record what its run could not (step 5's completion, from the rollouts)."""
    at = None
    if step.key == "label":
        if not label_completed(run):
            observed = Label().observed_completion(run) or _label_started(run)
            if observed:
                complete_label_progress(run, observed)
        at = label_completed(run)
    progress = cutover_progress(run)
    if step.key not in progress.steps:
        mark = StepMark(at=at or utc_text(run.clock.now()), by=run.journal.base["operator"])
        run.record.put_progress(replace(progress, operation="cutover", steps={**progress.steps, step.key: mark},
                                        state=progress.state or "in-progress"))


def cutover_operation(run: Run) -> Operation:
    steps = [Preflight(), Federation(), ServiceAccounts(), WebhookCheck(), Label(), Unlabel()]
    return Operation(name="cutover", title="cutover", steps=steps,
                     command=command_line(run), confirm=_confirm_lines, finished=_finished, on_step_done=_step_done,
                     on_step_found_done=_step_found_done,
                     unsettled=_unsettled, settle=_settle,
                     already_done=f"nothing to do: {run.target.cluster.name}/{run.target.namespace} is already cut "
                                  "over (verified on the cluster)")

