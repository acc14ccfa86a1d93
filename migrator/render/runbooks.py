"""``runbooks/``: one runbook per (cluster, namespace), one per cluster, and the index of waves.

Each namespace runbook has preconditions, then steps (check the credentials, annotate the service
accounts, cut over, unbind), each with the exact ``migrate`` command and the equivalent
``kubectl``/``az`` lines, how to verify it and how to roll it back; then the namespace's blocked
items and risks from the plan, and a checklist. Decisions (order, which command applies to what,
the patch bodies) are made here and in ``kubernetes.py``; the templates lay them out, and every
value goes through ``md``/``md_code`` (text) or ``sh`` (one shell word).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import msgspec

from migrator import escape
from migrator.plan.model import Credential
from migrator.render.kubernetes import (
    EXCEPTIONS_DIR,
    client_id_output,
    component_dir,
    cutover_patch,
    exception_doc,
    patch_body,
    rollback_patch,
    service_account_annotations,
    unbind_patch,
)
from migrator.render.templates import render
from migrator.render.terraform import UAMI_ID
from migrator.render.view import (
    TEMPLATE_PATHS,
    ClusterView,
    ExceptionNeed,
    NamespaceView,
    RenderView,
    ServiceAccountItem,
    WorkloadItem,
)
from migrator.vocabulary import CLIENT_ID_ANNOTATION

PLAN_FILE = "plan.json"
PREREQUISITE_FLAGS = {"enable-oidc-issuer": "--enable-oidc-issuer", "enable-workload-identity": "--enable-workload-identity"}
WEBHOOK = "azure-wi-webhook-mutating-webhook-configuration"
TOKEN_ENV_JSONPATH = ('{range .items[*]}{.metadata.name}{"\\t"}{.spec.serviceAccountName}{"\\t"}'
                      '{.spec.containers[*].env[?(@.name=="AZURE_FEDERATED_TOKEN_FILE")].value}{"\\n"}{end}')
SA_JSONPATH = "{.metadata.annotations.azure\\.workload\\.identity/client-id}"


@dataclass(frozen=True)
class CredentialCheck:
    credential: Credential
    az: tuple[str, ...]  # argv of the az command that shows it (each word is quoted by the template)


@dataclass(frozen=True)
class WorkloadStep:
    item: WorkloadItem
    resource: str  # kubectl's TYPE/NAME
    cutover: str  # kubectl patch bodies (JSON)
    rollback: str
    unbind: str | None
    rollout: bool  # kubectl rollout status applies (Deployment, StatefulSet, DaemonSet)


@dataclass(frozen=True)
class AnnotationStep:
    item: ServiceAccountItem
    annotations: tuple[tuple[str, str], ...]
    output: str | None  # the terraform output of a new identity's client ID


def fence_for(view: RenderView) -> str:
    """A code fence longer than any run of backticks a plan value holds, so none can close it."""
    return escape.backtick_fence(msgspec.json.encode(view.plan), shortest=3)


def _credential_check(c: Credential, cv: ClusterView) -> CredentialCheck:
    name = c.existing_name or c.name
    if c.identity.kind == "app-registration":
        return CredentialCheck(c, ("az", "ad", "app", "federated-credential", "show",
                                   f"--id={c.identity.client_id or ''}", f"--federated-credential-id={name}",
                                   "--query={issuer:issuer, subject:subject}", "--output=table"))
    m = UAMI_ID.fullmatch(c.identity.resource_id or "")
    sub, rg, ident = (m["sub"], m["rg"], m["name"]) if m else (cv.plan.subscription_id, "", c.identity.name)
    return CredentialCheck(c, ("az", "identity", "federated-credential", "show", f"--subscription={sub}",
                               f"--resource-group={rg}", f"--identity-name={ident}", f"--name={name}",
                               "--query={issuer:issuer, subject:subject}", "--output=table"))


def _workload_step(w: WorkloadItem) -> WorkloadStep:
    p = w.patch
    return WorkloadStep(
        item=w, resource=f"{p.kind.lower()}/{p.name}", cutover=patch_body(cutover_patch(p)),
        rollback=patch_body(rollback_patch(p)), unbind=patch_body(unbind_patch(p)) if p.binding_selector else None,
        rollout=p.kind in ("Deployment", "StatefulSet", "DaemonSet"),
    )


def _blocked_more(nv: NamespaceView) -> list[tuple[str, str]]:
    """Blocked workloads and service accounts the plan's own blocked list does not already name."""
    named = {b.object for b in nv.blocked}
    more = [(f"ServiceAccount/{s.plan.name}", s.reason or "") for s in nv.service_accounts if s.state == "blocked"]
    more += [(w.ref, w.reason or "") for w in nv.workloads if w.state == "blocked"]
    return [(obj, reason) for obj, reason in more if obj not in named]


def _namespace_context(cv: ClusterView, nv: NamespaceView, outputs: dict[str, str]) -> dict[str, object]:
    live_states = ("ready", "pending-prerequisite")
    steps = [_workload_step(w) for w in nv.workloads if w.state in live_states and w.patch.kind in TEMPLATE_PATHS]
    return {
        "cv": cv, "nv": nv,
        "component": component_dir(cv, nv),
        "has_unbind": any(s.unbind for s in steps) or bool(nv.bindings_to_delete),
        "checks": [_credential_check(c, cv) for c in nv.credentials if c.status != "blocked"],
        "annotations": [AnnotationStep(s, tuple(sorted(service_account_annotations(s, outputs).items())),
                                       client_id_output(s, outputs))
                        for s in nv.service_accounts if s.state in live_states],
        "steps": steps,
        "new_accounts": [s for s in nv.service_accounts if s.state in live_states and s.plan.create],
        "in_place": [s for s in steps if s.item.patch.patchable],
        "at_source": [s for s in steps if not s.item.patch.patchable],
        "not_patched": [w for w in nv.workloads if w.state == "not-patched"],
        "blocked_more": _blocked_more(nv),
        "env": [s for s in steps if s.item.patch.client_id_env],
        "sidecar": [s for s in steps if s.item.patch.proxy_sidecar],
        "client_id_key": CLIENT_ID_ANNOTATION,
    }


def _exception_context(e: ExceptionNeed, cv: ClusterView) -> dict[str, object]:
    doc = exception_doc(e.namespace, e.key, e.value)
    return {"need": e, "name": doc["metadata"]["name"], "pair": f"{e.key}={e.value}",
            "file": f"kubernetes/{cv.segment}/{EXCEPTIONS_DIR}"}


def _totals(view: RenderView) -> dict[str, object]:
    plan = view.plan
    status = Counter(c.status for c in plan.credentials)
    namespaces = [nv for cv in view.clusters for nv in cv.namespaces]
    return {
        "clusters": len(plan.clusters),
        "namespaces": len(namespaces),
        "namespaces_blocked": sum(1 for nv in namespaces if nv.state == "blocked"),
        "create": status["create"], "present": status["present"],
        "pending": status["pending-prerequisite"], "blocked": status["blocked"],
        "service_accounts": sum(1 for nv in namespaces for s in nv.service_accounts if s.state != "blocked"),
        "new_service_accounts": sum(1 for nv in namespaces for s in nv.service_accounts
                                    if s.state != "blocked" and s.plan.create),
        "workloads": sum(1 for nv in namespaces for w in nv.workloads if w.state in ("ready", "pending-prerequisite")),
        "workloads_other": sum(1 for nv in namespaces for w in nv.workloads
                               if w.state not in ("ready", "pending-prerequisite")),
        "new_identities": len(plan.new_identities),
        "prerequisites": len(plan.prerequisites),
        "blocked_items": len(plan.blocked),
        "risks": len(plan.risks),
    }


def render_runbooks(view: RenderView, outputs: dict[str, str]) -> dict[str, str]:
    """Every file of ``runbooks/`` and the output's top-level README, by relative path; ``outputs`` is
    ``terraform.client_id_outputs``."""
    base = {"view": view, "plan": view.plan, "fence": fence_for(view), "plan_file": PLAN_FILE,
            "webhook": WEBHOOK, "token_jsonpath": TOKEN_ENV_JSONPATH, "sa_jsonpath": SA_JSONPATH}
    totals = _totals(view)
    files = {
        "README.md": render("README.md.j2", totals=totals, **base),
        "runbooks/README.md": render("runbooks/index.md.j2", totals=totals, **base),
    }
    for cv in view.clusters:
        files[f"runbooks/{cv.segment}/README.md"] = render(
            "runbooks/cluster.md.j2", cv=cv, exceptions=[_exception_context(e, cv) for e in cv.exceptions],
            manifests=any(not e.addon for e in cv.exceptions), flags=PREREQUISITE_FLAGS,
            restart=sorted({e.namespace for e in cv.exceptions}), **base)
        for nv in cv.namespaces:
            files[f"runbooks/{cv.segment}/{nv.segment}.md"] = render(
                "runbooks/namespace.md.j2", **_namespace_context(cv, nv, outputs), **base)
    return files
