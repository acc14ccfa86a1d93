"""The read-only checks the operations make before they change anything (the cutover's step 1, and the
lease check every operation's preflight shares).

Each ``*_problems`` function returns what is wrong, as lines the preflight lists together (one
refusal naming every problem, rather than one at a time); ``refuse_if_leased`` refuses at once.
The cutover's issuer check also stores the issuer the cluster reports now on the run (step 2 and the
credential check compare against it).
"""

from __future__ import annotations

from typing import Any

from migrator.cutover.engine.context import Run
from migrator.cutover.engine.lease import holder_of
from migrator.cutover.errors import LeaseHeld, StepRefused
from migrator.cutover.target import NamespaceTarget
from migrator.errors import SourceError
from migrator.escape import sh_flag
from migrator.inventory.admission import protected_namespaces
from migrator.inventory.gitops import owner_of
from migrator.inventory.resolve import resolve
from migrator.inventory.webhook import CONFIG_NAME, WEBHOOK_NAME, detect_webhook
from migrator.vocabulary import BINDING_LABEL, TOKEN_EXCHANGE_AUDIENCE, WI_USE_LABEL


def refuse_if_the_plan_blocks(target: NamespaceTarget) -> None:
    """The plan's own verdicts, judged before anything is reached (no network call): refuse at once."""
    problems = plan_problems(target)
    if problems:
        raise StepRefused("preflight: " + problems[0] if len(problems) == 1 else "preflight refused:",
                          details=() if len(problems) == 1 else tuple(f"- {p}" for p in problems),
                          hint="nothing was changed")


def plan_problems(t: NamespaceTarget) -> list[str]:
    """The plan's own verdicts: nothing blocked, no prerequisite pending, owners acknowledged."""
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
        flags = " ".join(sh_flag("--changed-at-source", w.ref) for w in refused)
        problems.append(f"once they are changed there (label {WI_USE_LABEL}: \"true\", the service account, and no "
                        f"{BINDING_LABEL} label), run again with: {flags}")
    return problems


def issuer_problems(run: Run) -> list[str]:
    """The issuer the cluster reports now (ARM's, and the API server's own), stored on the run."""
    t, facts = run.target, run.inventory.facts if run.inventory else None
    problems = []
    api_issuer = run.kube.issuer()
    if facts is not None and not facts.oidc_issuer_enabled:
        problems.append(f"the OIDC issuer of {t.cluster.name} is off: az aks update "
                        f"{sh_flag('--resource-group', t.cluster.resource_group)} {sh_flag('--name', t.cluster.name)} "
                        "--enable-oidc-issuer")
    arm_issuer = facts.oidc_issuer_url if facts is not None else None
    if api_issuer is None:
        run.reporter.warn(f"the API server of {t.cluster.name} does not serve its OIDC discovery document "
                          "(/.well-known/openid-configuration): the comparison of its issuer with ARM's was skipped "
                          "(step 2 still checks the issuer of a real token)")
    elif arm_issuer and api_issuer != arm_issuer:
        problems.append(f"ARM reports the issuer {arm_issuer} but the API server signs tokens as {api_issuer}")
    run.issuer = arm_issuer or api_issuer
    if run.issuer and t.cluster.issuer and run.issuer != t.cluster.issuer:
        run.reporter.warn(f"the cluster's issuer changed since the plan was made (plan: {t.cluster.issuer}, now: "
                          f"{run.issuer}): the cluster was rebuilt or its issuer re-enabled")
    else:
        run.reporter.info(f"issuer: {run.issuer}")
    return problems


def webhook_problems(run: Run) -> list[str]:
    """Workload identity on, the webhook configured, its Deployment ready (failurePolicy Fail)."""
    t, inv = run.target, run.inventory
    assert inv is not None
    problems = []
    ws = detect_webhook(inv)
    if not ws.on:
        problems.append(f"workload identity is not enabled on {t.cluster.name}: az aks update "
                        f"{sh_flag('--resource-group', t.cluster.resource_group)} {sh_flag('--name', t.cluster.name)} "
                        "--enable-workload-identity")
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


def protection_problems(run: Run) -> list[str]:
    assert run.inventory is not None
    protected = protected_namespaces(run.inventory) or {}
    if run.namespace in protected:
        return [f"namespace {run.namespace} is protected by the admission policy {protected[run.namespace].name}: "
                "changes by this identity would be denied"]
    return []


def refuse_if_leased(run: Run) -> None:
    """Refuse early (before asking anything) when another live run holds the namespace's lease."""
    holder = holder_of(run.kube.get("Lease", run.lease.namespace, run.lease.name))
    now = run.clock.now()
    if holder is not None and holder.identity != run.lease.holder and holder.expires is not None \
            and holder.expires > now and not run.options.wait_for_lease:
        raise LeaseHeld(f"namespace {run.lease.namespace} is being changed by another run: {holder.describe(now)}",
                        hint="wait for it to finish; if that run died, run again after the lease expires (or pass "
                             "--wait-for-lease)")


def notes(run: Run) -> None:
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


def credential_problems(run: Run, issuer: str) -> list[str]:
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
            try:
                cache[rid.lower()] = run.conn.arm.federated_credentials_of(rid)
            except SourceError as exc:
                problems.append(f"cannot read the federated credentials of {c.identity.name}: {exc.message}")
                cache[rid.lower()] = []
                continue
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


def workload_problems(run: Run) -> list[str]:
    """Every planned workload exists, runs as planned and is not newly owned by GitOps; no unplanned workload
    uses the namespace's bindings."""
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
            expected = {sa for sa in (w.patch.service_account, w.patch.previous_service_account) if sa is not None}
            if lw.template.service_account not in expected:
                problems.append(f"{w.ref} runs as service account {lw.template.service_account}, the plan expected "
                                f"{' or '.join(sorted(expected))}: re-plan")
    selectors = t.selectors()
    resolution = resolve(inv)
    strays = set()
    for m in resolution.bindings:
        if m.binding.selector not in selectors:
            continue
        for user in m.workloads:
            if user.ref.namespace != t.namespace or (user.ref.kind, user.ref.name) in planned:
                continue
            if user.owner is not None and (user.owner.kind, user.owner.name) in planned:
                continue
            if user.ref.kind in ("Pod", "Job", "ReplicaSet") and user.owner is not None:
                continue
            strays.add(f"{user.ref} ({BINDING_LABEL}={m.binding.selector})")
    for s in sorted(strays):
        problems.append(f"{s} uses the namespace's pod identity but is not in the plan: re-plan")
    return problems
