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
on objects are the pure functions of ``objects.py``.
"""

from __future__ import annotations

import re
from typing import Any

from migrator.cutover.connect import micro_time, parse_time, utc_text
from migrator.cutover.context import Run, StepBase
from migrator.cutover.errors import StepFailed, StepRefused
from migrator.cutover.federation import TokenExchanger, explain, jwt_claims
from migrator.cutover.kube import MERGE, KubeApiError
from migrator.cutover.lease import holder_of
from migrator.cutover.objects import (
    TemplateChange,
    before_state,
    dry_run_pod,
    has_injection,
    injection_problems,
    meta,
    rollout_state,
    template_labels,
    template_service_account,
    workload_pods,
)
from migrator.cutover.target import WorkloadTarget
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
        from migrator.inventory.gitops import owner_of

        t = run.target
        problems = _plan_problems(run)
        if problems:
            raise StepRefused("preflight: " + problems[0] if len(problems) == 1 else
                              "preflight refused:\n  - " + "\n  - ".join(problems), hint="nothing was changed")
        run.inventory = run.conn.inventory(t.cluster)
        problems += _issuer_problems(run)
        problems += _webhook_problems(run)
        if run.issuer:
            problems += _check_credentials(run, run.issuer)
        problems += _protection_problems(run)
        problems += _check_workloads(run, owner_of)
        refuse_if_leased(run)
        if problems:
            raise StepRefused("preflight refused:\n  - " + "\n  - ".join(problems), hint="nothing was changed")
        _notes(run)

    def act(self, run: Run) -> None:
        pass

    def verify(self, run: Run) -> str:
        return f"issuer, webhook, {len(run.target.credentials)} credential(s), workloads: ok"


def _plan_problems(run: Run) -> list[str]:
    """The plan's own verdicts: nothing blocked, no prerequisite pending, owners acknowledged."""
    t = run.target
    problems = [f"the plan blocks {b.object}: {b.reason}" for b in t.blocked]
    for c in t.credentials:
        if c.status == "blocked":
            problems.append(f"credential {c.name} is blocked in the plan: {c.reason or 'see the plan'}")
        elif c.status == "pending-prerequisite" or c.issuer is None:
            problems.append(f"credential {c.name} waits for a prerequisite of {t.cluster.name}: do the cluster's "
                            "prerequisites, then re-plan")
    refused = t.by_mode("refused")
    problems += [f"{w.ref}: {w.reason}" for w in refused]
    if refused:
        flags = " ".join(f"--changed-at-source {w.ref}" for w in refused)
        problems.append(f"once they are changed there (label {WI_USE_LABEL}: \"true\", the service account, and no "
                        f"{BINDING_LABEL} label), run again with: {flags}")
    return problems


def _issuer_problems(run: Run) -> list[str]:
    """The issuer the cluster reports now (ARM's, and the API server's own), stored on the run."""
    t, facts = run.target, run.inventory.facts if run.inventory else None
    problems = []
    api_issuer = run.kube.issuer()
    if facts is not None and not facts.oidc_issuer_enabled:
        problems.append(f"the OIDC issuer of {t.cluster.name} is off: az aks update --resource-group "
                        f"{t.cluster.resource_group} --name {t.cluster.name} --enable-oidc-issuer")
    arm_issuer = facts.oidc_issuer_url if facts is not None else None
    if arm_issuer and api_issuer and api_issuer != arm_issuer:
        problems.append(f"ARM reports the issuer {arm_issuer} but the API server signs tokens as {api_issuer}")
    run.issuer = arm_issuer or api_issuer
    if run.issuer and t.cluster.issuer and run.issuer != t.cluster.issuer:
        run.reporter.warn(f"the cluster's issuer changed since the plan was made (plan: {t.cluster.issuer}, now: "
                          f"{run.issuer}): the cluster was rebuilt or its issuer re-enabled")
    else:
        run.reporter.info(f"issuer: {run.issuer}")
    return problems


def _webhook_problems(run: Run) -> list[str]:
    """Workload identity on, the webhook configured, its Deployment ready (failurePolicy Fail)."""
    from migrator.inventory.webhook import CONFIG_NAME, WEBHOOK_NAME, detect_webhook

    t, inv = run.target, run.inventory
    assert inv is not None
    problems = []
    ws = detect_webhook(inv)
    if not ws.on:
        problems.append(f"workload identity is not enabled on {t.cluster.name}: az aks update --resource-group "
                        f"{t.cluster.resource_group} --name {t.cluster.name} --enable-workload-identity")
    hooks = [h for h in inv.webhooks or () if h.configuration == CONFIG_NAME or h.name == WEBHOOK_NAME]
    installed = list(ws.installed or ())
    if not hooks and not installed:
        problems.append("the workload identity webhook is not installed (no MutatingWebhookConfiguration "
                        f"{CONFIG_NAME}): labelled pods would start without a token")
        return problems
    policy = next((h.failure_policy for h in hooks if h.failure_policy), None)
    deployment = next((w.deployment for w in installed if w.deployment is not None), None)
    if deployment is None:
        run.reporter.info(f"webhook: configured (failurePolicy {policy or 'unknown'}); its Deployment is not "
                          "visible: step 4 proves it mutates")
    else:
        live = next((w for w in inv.workloads or () if w.ref == deployment.ref), None)
        ready = live.ready if live is not None else None
        where = f"{deployment.ref.namespace}/{deployment.ref.name}"
        if ready is not None and ready < 1:
            problems.append(f"the webhook ({where}) has no ready replica; with failurePolicy {policy or 'Fail'} "
                            "every labelled pod would be rejected and the rollouts would stall")
        else:
            run.reporter.info(f"webhook: {where} ready ({ready if ready is not None else '?'} replicas), "
                              f"failurePolicy {policy or 'unknown'}")
    for old in ws.too_old:
        problems.append(f"the webhook {old.configuration} is {old.version_text}: older than v1.0.0 it ignores the "
                        "pod label; upgrade it first")
    return problems


def _protection_problems(run: Run) -> list[str]:
    from migrator.inventory.admission import protected_namespaces

    assert run.inventory is not None
    protected = protected_namespaces(run.inventory) or {}
    if run.namespace in protected:
        return [f"namespace {run.namespace} is protected by the admission policy {protected[run.namespace].name}: "
                "changes by this identity would be denied"]
    return []


def refuse_if_leased(run: Run) -> None:
    """Refuse early (before asking anything) when another live run holds the namespace's lease."""
    from migrator.cutover.errors import LeaseHeld

    holder = holder_of(run.kube.get("Lease", run.lease.namespace, run.lease.name))
    now = run.clock.now()
    if holder is not None and holder.identity != run.lease.holder and holder.expires is not None \
            and holder.expires > now and not run.options.wait_for_lease:
        raise LeaseHeld(f"namespace {run.lease.namespace} is being changed by another run: {holder.describe(now)}",
                        hint="wait for it to finish; if that run died, run again after the lease expires (or pass "
                             "--wait-for-lease)")


def _notes(run: Run) -> None:
    t, inv = run.target, run.inventory
    assert inv is not None
    for w in t.by_mode("job"):
        run.reporter.info(f"{w.ref}: {w.reason}; its next run must be changed at its source")
    planned = {(w.kind, w.name) for w in t.workloads}
    for job in inv.workloads or ():
        if job.ref.kind == "Job" and job.ref.namespace == t.namespace and (job.ref.kind, job.ref.name) not in \
                planned and job.template.binding_selector in t.selectors():
            origin = f" (from {job.owner.kind}/{job.owner.name})" if job.owner else ""
            run.reporter.info(f"Job/{job.ref.name}{origin} started on pod identity: a Job's template is immutable, "
                              "so it finishes as it started (its binding stays until unbind)")
    for w in t.by_mode("at-source"):
        if w.templated:
            run.reporter.info(f"{w.ref}: changed at its source ({w.patch.gitops_owner or w.reason}): verified, not "
                              "patched")
        else:
            run.reporter.warn(f"{w.ref}: changed at its source; this tool does not read {w.kind} rollouts: check "
                              "its pods carry the label azure.workload.identity/use and the token yourself")


def _check_credentials(run: Run, issuer: str) -> list[str]:
    problems = []
    cache: dict[str, list[dict[str, Any]] | None] = {}
    for c in run.target.credentials:
        rid = c.identity.resource_id
        subject = f"system:serviceaccount:{run.namespace}:{c.service_account}"
        if not rid:
            run.reporter.info(f"{c.identity.name}: an app registration (not readable through ARM): step 2 proves "
                              "its credential")
            continue
        if rid.lower() not in cache:
            sub = rid.split("/")[2]
            try:
                body = run.conn.arm.request(sub, "GET", f"{rid}/federatedIdentityCredentials", "2024-11-30",
                                            allow_404=True)
            except Exception as exc:
                problems.append(f"cannot read the federated credentials of {c.identity.name}: "
                                f"{getattr(exc, 'message', exc)}")
                cache[rid.lower()] = []
                continue
            if body is None:
                cache[rid.lower()] = None
            else:
                cache[rid.lower()] = run.conn.arm.list_all(sub, f"{rid}/federatedIdentityCredentials", "2024-11-30")
        fics = cache[rid.lower()]
        if fics is None:
            problems.append(f"identity {c.identity.name} does not exist in Azure ({rid})")
            continue
        same_subject = [f for f in fics if (f.get("properties") or {}).get("subject") == subject]
        ok = [f for f in same_subject if (f.get("properties") or {}).get("issuer") == issuer]
        if ok:
            auds = (ok[0].get("properties") or {}).get("audiences") or []
            if TOKEN_EXCHANGE_AUDIENCE not in auds:
                problems.append(f"credential {ok[0].get('name')} on {c.identity.name} has audiences {auds}, not "
                                f"{TOKEN_EXCHANGE_AUDIENCE}")
            else:
                run.reporter.info(f"credential {ok[0].get('name')} on {c.identity.name}: issuer and subject match")
        elif same_subject:
            wrong = ", ".join(f"{f.get('name')} ({(f.get('properties') or {}).get('issuer')})" for f in same_subject)
            problems.append(f"issuer mismatch: {c.identity.name} federates {subject} with {wrong}, but the cluster's "
                            f"issuer is now {issuer} (the cluster was rebuilt?): re-plan and apply the credentials "
                            "for the new issuer")
        else:
            problems.append(f"credential {c.name} for {subject} is missing on {c.identity.name}: apply the "
                            "plan's Terraform (terraform apply), then run again")
    return problems


def _check_workloads(run: Run, owner_of: Any) -> list[str]:
    from migrator.inventory.resolve import resolve

    t = run.target
    inv = run.inventory
    assert inv is not None
    problems = []
    live = {(w.ref.kind, w.ref.name): w for w in inv.workloads or () if w.ref.namespace == t.namespace}
    planned = {(w.kind, w.name) for w in t.workloads}
    for w in t.workloads:
        lw = live.get((w.kind, w.name))
        if lw is None:
            if w.mode != "job":
                problems.append(f"{w.ref} is in the plan but not in the cluster (deleted or renamed?): re-plan")
            continue
        if w.mode == "in-place":
            owner = owner_of(lw)
            if owner is not None:
                problems.append(f"{w.ref} is now owned by {owner} ({owner.evidence}): change it in its source "
                                f"repository, then run again with --changed-at-source {w.ref}")
            expected = {w.patch.service_account, w.patch.previous_service_account} - {None}
            if lw.template.service_account not in expected:
                problems.append(f"{w.ref} runs as service account {lw.template.service_account}, the plan expected "
                                f"{' or '.join(sorted(expected))}: re-plan")
    selectors = t.selectors()
    resolution = resolve(inv)
    strays = set()
    for m in resolution.bindings:
        if m.binding.selector not in selectors:
            continue
        for w in m.workloads:
            if w.ref.namespace != t.namespace or (w.ref.kind, w.ref.name) in planned:
                continue
            if w.owner is not None and (w.owner.kind, w.owner.name) in planned:
                continue
            if w.ref.kind in ("Pod", "Job", "ReplicaSet") and w.owner is not None:
                continue
            strays.add(f"{w.ref} ({BINDING_LABEL}={m.binding.selector})")
    for s in sorted(strays):
        problems.append(f"{s} uses the namespace's pod identity but is not in the plan: re-plan")
    return problems


# ============================================================================= 2. federation


class Federation(StepBase):
    key = "federation"
    title = "prove the federation: token request + exchange at Entra (read-only)"
    mutates = False


    def act(self, run: Run) -> None:
        proved = 0
        for cred in run.target.credentials:
            sa = run.target.service_account(cred.service_account)
            if sa is not None and sa.create and run.kube.get("ServiceAccount", run.namespace, sa.name) is None:
                run.deferred.append(cred)
                run.reporter.info(f"ServiceAccount/{sa.name} is created in step 3: its federation is proved there")
                continue
            prove(run, cred)
            proved += 1
        self._proved = proved

    def verify(self, run: Run) -> str:
        n = getattr(self, "_proved", 0)
        return f"{n} credential(s) exchanged for a token" + (f", {len(run.deferred)} after step 3"
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

    def act(self, run: Run) -> None:
        self._changed = 0
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
                patch_live(run, "ServiceAccount", s.name, lambda o, want=want: {"metadata": {"annotations": want}},
                           MERGE, first=live)
                run.reporter.diff(ref, [line for k, v in want.items() if ann.get(k) != v for line in
                                        ([f"- annotation {k}: {ann[k]}"] if k in ann else []) +
                                        [f"+ annotation {k}: {v}"]])
            run.journal.write("changed", cluster=run.target.cluster.name, namespace=run.namespace, object=ref,
                              after=want, dryRun=run.dry_run or None)
            self._changed += 1
            run.changed += 1

    def verify(self, run: Run) -> str:
        n = getattr(self, "_changed", 0)
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


def patch_live(run: Run, kind: str, name: str, build: Any, content_type: str | None = None,
               first: dict[str, Any] | None = None) -> dict[str, Any]:
    """Patch built from the live object, with its resourceVersion as a precondition (the world must not
    have moved between our read and our write); on a conflict, read again and rebuild."""
    live = first
    for _attempt in range(4):
        if live is None:
            live = run.kube.get(kind, run.namespace, name)
            if live is None:
                raise StepFailed(f"{kind}/{name} disappeared")
        body = build(live)
        body.setdefault("metadata", {})["resourceVersion"] = meta(live).get("resourceVersion")
        try:
            return run.kube.patch(kind, run.namespace, name, body, dry_run=run.dry_run, content_type=content_type)
        except KubeApiError as exc:
            if exc.status in (401, 403):
                raise  # the executor says which permission is missing
            if exc.status != 409:
                raise StepFailed(f"{kind}/{name}: {exc.api_message}") from None
            live = None
    raise StepFailed(f"{kind}/{name} kept changing under us (409 Conflict four times): run again")


# ============================================================================= 4. webhook dry run


class WebhookCheck(StepBase):
    key = "webhook"
    title = "check the webhook will mutate the pods (server-side dry run)"
    mutates = False


    def act(self, run: Run) -> None:
        problems = []
        self._checked = 0
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
            self._checked += 1
        if problems:
            raise StepRefused("the webhook would not inject workload identity:\n  - " + "\n  - ".join(problems),
                              hint="check the webhook (kubectl get mutatingwebhookconfiguration "
                                   "azure-wi-webhook-mutating-webhook-configuration) and its pods; nothing was "
                                   "labelled")

    def verify(self, run: Run) -> str:
        return f"{getattr(self, '_checked', 0)} pod template(s) come back injected"


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


class _TemplateStep(StepBase):
    """Shared by steps 5 and 6: patch the in-place templates, verify the at-source ones, wait, verify pods."""

    key = ""
    title = ""
    mutates = True

    def change(self, w: WorkloadTarget) -> TemplateChange:
        raise NotImplementedError

    def pods_ok(self, pod: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def applies(self, w: WorkloadTarget) -> bool:
        return w.templated

    def _workloads(self, run: Run) -> list[WorkloadTarget]:
        return [w for w in run.target.changed if self.applies(w)]

    def _state(self, run: Run, w: WorkloadTarget, pods: list[dict[str, Any]] | None) -> tuple[bool, str]:
        obj = run.kube.get(w.kind, run.namespace, w.name)
        if obj is None:
            return False, f"{w.ref} not found"
        if not self.change(w).holds(obj, w.kind):
            return False, f"{w.ref}: template not changed"
        if not w.rolled:
            return True, ""
        state = rollout_state(obj, w.kind)
        if not state.complete:
            return False, f"{w.ref}: rollout {state.progress}"
        for pod in workload_pods(obj, w.kind, pods if pods is not None else []):
            problem = self.pods_ok(pod)
            if problem:
                return False, f"{w.ref}: pod {meta(pod).get('name')} {problem}"
        return True, ""

    def done(self, run: Run) -> bool:
        workloads = self._workloads(run)
        if not workloads:
            return True
        pods = run.kube.list("Pod", run.namespace)
        return all(self._state(run, w, pods)[0] for w in workloads)

    def check(self, run: Run) -> None:
        pending = []
        for w in self._workloads(run):
            if w.mode != "at-source":
                continue
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None or not self.change(w).holds(obj, w.kind):
                pending.append(w)
        if pending:
            raise StepRefused(
                "waiting for the change at the source: " + "; ".join(
                    f"{w.ref} ({w.patch.gitops_owner or 'its source'}) does not carry it yet" for w in pending),
                hint=f"let {', '.join(sorted({w.patch.gitops_owner or 'the source' for w in pending}))} apply the "
                     "change, then run the same command again")

    def act(self, run: Run) -> None:
        self._changed = []
        for w in self._workloads(run):
            if w.mode != "in-place":
                continue
            run.interrupts.check()
            change = self.change(w)
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None:
                raise StepFailed(f"{w.ref} disappeared")
            if change.holds(obj, w.kind):
                continue
            run.record.remember(f"before.{w.kind}.{w.name}", before_state(obj, w.kind))
            lines = _label_lines(obj, w.kind, change)
            patch_live(run, w.kind, w.name, lambda o, c=change, k=w.kind: c.patch(o, k), first=obj)
            run.reporter.diff(w.ref, lines)
            run.journal.write("changed", cluster=run.target.cluster.name, namespace=run.namespace, object=w.ref,
                              step=self.key, change=lines, dryRun=run.dry_run or None)
            self._changed.append(w)
            run.changed += 1

    def verify(self, run: Run) -> str:
        changed = getattr(self, "_changed", [])
        if run.dry_run:
            return f"{len(changed)} workload(s) would change (dry run: no rollout)"
        waited = 0.0
        for w in self._workloads(run):
            if not w.rolled:
                obj = run.kube.get(w.kind, run.namespace, w.name)
                if obj is None or not self.change(w).holds(obj, w.kind):
                    raise StepFailed(f"{w.ref}: the change is not in its template")
                run.reporter.info(f"{w.ref}: its next run uses the new template (running Jobs finish as they "
                                  "started)")
                continue
            waited += self._wait(run, w)
        return f"{len(changed)} changed, rollouts complete, pods verified" + (
            f" ({int(waited)} s)" if waited >= 1 else "")

    def _wait(self, run: Run, w: WorkloadTarget) -> float:
        def probe() -> tuple[bool, str, str | None]:
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None:
                return False, "gone", f"{w.ref} was deleted"
            state = rollout_state(obj, w.kind)
            if state.failure:
                return False, state.progress, state.failure
            if not state.complete:
                return False, state.progress + (f"; {state.problem}" if state.problem else ""), None
            pods = workload_pods(obj, w.kind, run.kube.list("Pod", run.namespace))
            bad = [(meta(p).get("name"), self.pods_ok(p)) for p in pods if self.pods_ok(p)]
            if bad:
                return False, f"pod {bad[0][0]} {bad[0][1]}", None
            return True, state.progress, None

        def timeout(progress: str, elapsed: float) -> str:
            return (f"the rollout of {w.ref} did not complete within {int(run.options.rollout_timeout)} s "
                    f"({progress}). The change is in place and nothing was reverted: fix the rollout "
                    f"(kubectl --namespace {run.namespace} rollout status {w.kind.lower()}/{w.name}) and run the "
                    "same command again to continue, or roll back with migrate rollback")

        return run.wait_until(f"rollout of {w.ref}", probe, timeout=run.options.rollout_timeout, on_timeout=timeout)


class Label(_TemplateStep):
    key = "label"
    title = f"label the pod templates {WI_USE_LABEL}=true and roll out"

    def change(self, w: WorkloadTarget) -> TemplateChange:
        return _wi_change(w)

    def pods_ok(self, pod: dict[str, Any]) -> str | None:
        if (meta(pod).get("labels") or {}).get(WI_USE_LABEL) != "true":
            return f"lacks the label {WI_USE_LABEL}"
        if not has_injection(pod):
            return "was not injected by the webhook"
        return None

    def act(self, run: Run) -> None:
        progress = run.record.get("progress") or {}
        if not (progress.get("label") or {}).get("started"):
            run.record.put("progress", {**progress, "operation": "cutover", "state": "in-progress",
                                        "label": {"started": utc_text(run.clock.now())}})
        super().act(run)


class Unlabel(_TemplateStep):
    key = "unbind-label"
    title = f"remove the {BINDING_LABEL} label and roll out"

    def change(self, w: WorkloadTarget) -> TemplateChange:
        return _UNBIND

    def applies(self, w: WorkloadTarget) -> bool:
        return w.templated and w.patch.binding_selector is not None

    def pods_ok(self, pod: dict[str, Any]) -> str | None:
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
        workloads = label._workloads(run)
        pods = run.kube.list("Pod", run.namespace)
        for w in workloads:
            holds, why = label._state(run, w, pods)
            if not holds and not Unlabel()._state(run, w, pods)[0]:
                raise StepRefused(f"step 5 is not complete: {why}", hint="run the same command again: it "
                                                                         "continues with step 5")
        super().check(run)
        if run.options.check_nmi_logs:
            _check_nmi(run, pods)


_NMI_MATCHED = re.compile(r"(\S+)/(\S+) has been matched with azure identity")
_NMI_SERVED = re.compile(r"status \((\d+)\).*req\.remote=([0-9a-fA-F.:]+)")


def nmi_log_lines(run: Run, pods: list[dict[str, Any]], since: str) -> tuple[int, list[str]] | None:
    """Lines of NMI's logs since ``since`` about the given pods (matched by name, or served by IP):
    (NMI pods whose logs were readable, lines); None when no NMI runs on the cluster."""
    from migrator.inventory.podidentity import detect

    inv = run.inventory or run.conn.inventory(run.target.cluster)
    run.inventory = inv
    install = detect(inv)
    if not install.nmi:
        return None
    ips = {(p.get("status") or {}).get("podIP") for p in pods} - {None}
    names = {meta(p).get("name") for p in pods}
    found: list[str] = []
    readable = 0
    for component in install.nmi:
        ns = component.ref.namespace
        for pod in run.kube.list("Pod", ns):
            owners = [r for r in meta(pod).get("ownerReferences") or [] if r.get("kind") == "DaemonSet"]
            if not owners or owners[0].get("name") != component.ref.name:
                continue
            moment = parse_time(since)
            text = run.kube.pod_log(ns, meta(pod).get("name", ""), since_time=micro_time(moment) if moment else None)
            if text is None:
                continue
            readable += 1
            for line in text.splitlines():
                m = _NMI_MATCHED.search(line)
                if m and m.group(1) == run.namespace and m.group(2) in names:
                    found.append(line.strip())
                    continue
                m = _NMI_SERVED.search(line)
                if m and m.group(1) == "200" and m.group(2) in ips:
                    found.append(line.strip())
    return readable, found


def _check_nmi(run: Run, pods: list[dict[str, Any]]) -> None:
    """Refuse step 6 when NMI served a token to a pod of the namespace since step 5 completed."""
    progress = run.record.get("progress") or {}
    since = (progress.get("label") or {}).get("completed")
    if not since:
        run.reporter.warn("NMI logs not checked: the record does not say when step 5 completed")
        return
    result = nmi_log_lines(run, pods, since)
    if result is None:
        run.reporter.info("NMI logs: no NMI found on the cluster")
        return
    readable, served = result
    if not readable:
        run.reporter.warn("NMI logs not readable (permissions?): not checked")
        return
    if served:
        raise StepRefused(f"NMI served tokens to pods of {run.namespace} after step 5 ({len(served)} log lines, "
                          f"e.g. {served[0]!r}): those pods still get tokens through pod identity (an SDK without "
                          "workload identity support?); removing the binding label would break them",
                          hint="upgrade the workload's Azure Identity SDK, then run again; or roll back")
    run.reporter.info(f"NMI logs ({readable} pod(s)): no token served to {run.namespace} since step 5")


def complete_label_progress(run: Run) -> None:
    progress = run.record.get("progress") or {}
    label = dict(progress.get("label") or {})
    if not label.get("completed"):
        label["completed"] = utc_text(run.clock.now())
        run.record.put("progress", {**progress, "label": label})


CUTOVER_STEPS: tuple[type, ...] = (Preflight, Federation, ServiceAccounts, WebhookCheck, Label, Unlabel)
