"""The end of AAD Pod Identity on a cluster (``migrate finalize``).

It refuses while any binding remains (an AzureIdentityBinding, or a pod identity of the AKS add-on):
something could still depend on it. Then, in order:

1. ``remove-identities``: the AzureIdentity objects (kept in the record of their namespace and in the
   journal first) — with no binding left nothing can use them;
2. ``remove-exceptions``: the AzurePodIdentityExceptions, but only once NMI is gone — while NMI runs
   they are what stops it intercepting the excepted pods (Flux, AKS system pods), and removing them
   would break those pods;
3. ``clear-assigned``: AzureAssignedIdentity objects whose finalizer nobody will clear, once MIC is
   gone (while MIC runs it removes them itself);
4. ``report`` (read-only): what only the operator can do, exactly: remove Pod Identity for the install
   method found (``az aks update --disable-pod-identity`` for the add-on, ``helm uninstall``, deleting
   the manifests), then its CRDs; unassign the identities left on the node pools' scale sets (once NMI
   is gone every pod on those nodes can get tokens for them from IMDS); and, where the cluster is in
   Terraform, the change that turns the add-on off there.

Run it again after removing Pod Identity: steps 2 and 3 then have their work to do.
"""

from __future__ import annotations

import re
from typing import Any

from migrator.cutover import preflight
from migrator.cutover.clients.kube_api import MERGE, KubeApiError
from migrator.cutover.engine.context import Run, Step, StepBase, StepResult, migrate_command
from migrator.cutover.engine.executor import Operation, Outcome
from migrator.cutover.engine.record import Record
from migrator.cutover.errors import StepFailed, StepRefused
from migrator.cutover.operations.unbind import plan_bindings
from migrator.escape import is_hcl_reference, sh, sh_flag, sh_words
from migrator.inventory.model import ClusterInventory
from migrator.inventory.podidentity import PodIdentityInstall, detect
from migrator.plan.model import ClusterPlan

AKS_ADDON_IDENTITY = re.compile(r"^(azurekeyvaultsecretsprovider|omsagent|ingressapplicationgateway|azurepolicy|"
                                r"aciconnectorlinux|webapprouting|keda|azuremonitor)", re.I)
CHART_VERSION = "v1.8.17"


def _inv(run: Run, fresh: bool = False) -> ClusterInventory:
    if fresh or run.inventory is None:
        run.inventory = run.conn.inventory(run.target.cluster)
    return run.inventory


def _install(run: Run) -> PodIdentityInstall:
    return detect(_inv(run))


def _crd_objects(run: Run, kind: str) -> list[dict[str, Any]]:
    return run.kube.list(kind, None)


class FinalizePreflight(StepBase):
    key = "preflight"
    title = "preflight checks (read-only): no binding may remain"
    mutates = False

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known  # filled here, read by the report: resource ID (lower case) -> what says it is one

    def check(self, run: Run) -> None:
        from migrator.inventory.resolve import resolve

        preflight.refuse_if_leased(run)
        inv = _inv(run, fresh=True)
        served = plan_bindings(run, None)
        remaining, todo = [], []
        cp = run.target.cluster
        for m in resolve(inv).bindings:
            b = m.binding
            owner = "the AKS add-on" if b.managed_by == "add-on" else "an object"
            users = ", ".join(f"{w.ref.namespace}/{w.ref.kind}/{w.ref.name}" for w in m.workloads) or "no workload"
            remaining.append(f"{b.namespace}/{b.name} (selector {b.selector}, {owner}; used by {users})")
            for ns in sorted(served.get((b.namespace, b.name), ())):
                todo.append(migrate_command("cutover", run.plan_ref, cp.name, ns) + ", then "
                            + migrate_command("unbind", run.plan_ref, cp.name, ns))
            if (b.namespace, b.name) not in served:
                todo.append(f"{b.namespace}/{b.name} is not in the plan: " + (
                    f"nothing uses it, delete it: kubectl {sh_flag('--namespace', b.namespace)} delete "
                    f"azureidentitybinding {sh(b.name)}" if not m.workloads else "re-plan: its workloads were not planned"))
        if remaining:
            steps = list(dict.fromkeys(todo))
            raise StepRefused(
                f"{len(remaining)} pod identity binding(s) remain on {cp.name}:",
                details=(*(f"- {r}" for r in remaining), "first:", *(f"- {s}" for s in steps)),
                hint="nothing was changed")
        # identities known to be pod identities, before step 1 removes their objects (for the scale-set list)
        known = {i.resource_id.lower(): f"AzureIdentity {i.namespace}/{i.name}" for i in inv.identities or ()
                 if i.resource_id}
        for c in run.target.plan.credentials:
            if c.cluster == run.target.cluster.name and c.identity.resource_id:
                known.setdefault(c.identity.resource_id.lower(), f"identity {c.identity.name} (in the plan)")
        self.known.clear()
        self.known.update(known)
        install = _install(run)
        nmi = ", ".join(f"{c.ref.namespace}/{c.ref.name} ({c.install})" for c in install.nmi) or "none"
        mic = ", ".join(f"{c.ref.namespace}/{c.ref.name}" for c in install.mic) or "none"
        run.reporter.info(f"no binding left; NMI: {nmi}; MIC: {mic}; add-on: "
                          f"{'enabled' if install.addon_enabled else 'off'}")

    def verify(self, run: Run, result: StepResult) -> str:
        return "no binding remains"


def _remove(run: Run, kind: str, obj: dict[str, Any], *, record: bool = True) -> None:
    m = obj.get("metadata") or {}
    ns, name = m.get("namespace"), m.get("name", "")
    kept = {k: v for k, v in obj.items() if k != "status"}
    kept["metadata"] = {k: v for k, v in m.items() if k != "managedFields"}
    if record and ns:
        Record(run.kube, ns, dry_run=run.dry_run).remember(f"removed.{kind}.{name}", kept)
    run.journal.write("removed", **run.where, object=f"{kind}/{ns}/{name}", document=kept,
                      dryRun=run.dry_run or None)
    try:
        run.kube.delete(kind, ns, name, dry_run=run.dry_run, resource_version=m.get("resourceVersion"))
    except KubeApiError as exc:
        if exc.status in (401, 403):
            raise
        raise StepFailed(f"deleting {kind} {ns}/{name}: {exc.api_message}") from None
    run.changed += 1


class RemoveIdentities(StepBase):
    key = "remove-identities"
    title = "remove the AzureIdentity objects (kept in the record)"
    mutates = True

    def _targets(self, run: Run) -> list[dict[str, Any]]:
        return _crd_objects(run, "AzureIdentity")

    def done(self, run: Run) -> bool:
        return not self._targets(run)

    def act(self, run: Run) -> StepResult:
        n = 0
        for obj in self._targets(run):
            run.interrupts.check()
            m = obj.get("metadata") or {}
            spec = obj.get("spec") or {}
            _remove(run, "AzureIdentity", obj)
            run.reporter.diff(f"AzureIdentity {m.get('namespace')}/{m.get('name')}",
                              [f"- {spec.get('resourceID') or spec.get('ResourceID') or spec.get('clientID') or ''}"])
            n += 1
        return StepResult(n)

    def verify(self, run: Run, result: StepResult) -> str:
        if not run.dry_run and not self.done(run):
            raise StepFailed("an AzureIdentity is still there after its deletion (does the AKS add-on still "
                             "declare it?)")
        return f"{result.count} removed" + (" (dry run)" if run.dry_run else "")


class RemoveExceptions(StepBase):
    key = "remove-exceptions"
    title = "remove the AzurePodIdentityExceptions once NMI is gone"
    mutates = True

    def why_skipped(self, run: Run) -> str:
        if _install(run).nmi:
            return "NMI still runs: the exceptions stay until it is removed (they stop it intercepting those pods)"
        return "none left"

    def done(self, run: Run) -> bool:
        return bool(_install(run).nmi) or not _crd_objects(run, "AzurePodIdentityException")

    def act(self, run: Run) -> StepResult:
        n = 0
        for obj in _crd_objects(run, "AzurePodIdentityException"):
            m = obj.get("metadata") or {}
            _remove(run, "AzurePodIdentityException", obj)
            run.reporter.diff(f"AzurePodIdentityException {m.get('namespace')}/{m.get('name')}",
                              [f"- podLabels {(obj.get('spec') or {}).get('podLabels')}"])
            n += 1
        return StepResult(n)

    def verify(self, run: Run, result: StepResult) -> str:
        return f"{result.count} removed" + (" (dry run)" if run.dry_run else "")


class ClearAssigned(StepBase):
    key = "clear-assigned"
    title = "clear AzureAssignedIdentity objects MIC left behind"
    mutates = True

    def why_skipped(self, run: Run) -> str:
        if _install(run).mic:
            return "MIC still runs: it removes them itself"
        return "none left"

    def done(self, run: Run) -> bool:
        return bool(_install(run).mic) or not _crd_objects(run, "AzureAssignedIdentity")

    def act(self, run: Run) -> StepResult:
        n = 0
        for obj in _crd_objects(run, "AzureAssignedIdentity"):
            m = obj.get("metadata") or {}
            ns, name = m.get("namespace"), m.get("name", "")
            target = obj
            if m.get("finalizers"):
                try:
                    patched = run.kube.patch("AzureAssignedIdentity", ns, name, {"metadata": {
                        "finalizers": None, "resourceVersion": m.get("resourceVersion")}}, dry_run=run.dry_run,
                        content_type=MERGE)
                except KubeApiError as exc:
                    if exc.status in (401, 403):
                        raise
                    raise StepFailed(f"clearing the finalizers of AzureAssignedIdentity {ns}/{name}: "
                                     f"{exc.api_message}") from None
                if not run.dry_run:
                    target = patched
            _remove(run, "AzureAssignedIdentity", target, record=False)
            run.reporter.diff(f"AzureAssignedIdentity {ns}/{name}",
                              [f"- finalizers {m.get('finalizers') or []}, deleted (pod "
                               f"{(obj.get('spec') or {}).get('podNamespace')}/{(obj.get('spec') or {}).get('pod')})"])
            n += 1
        return StepResult(n)

    def verify(self, run: Run, result: StepResult) -> str:
        return f"{result.count} cleared" + (" (dry run)" if run.dry_run else "")


class Report(StepBase):
    key = "report"
    title = "what is left for you to do"
    mutates = False

    def __init__(self, known: dict[str, str]) -> None:
        self.known = known  # the pod identities the preflight found, before step 1 removed their objects

    def act(self, run: Run) -> StepResult:
        lines = report_lines(run, self.known)
        for line in lines:
            run.reporter.info(line)
        return StepResult(lines=tuple(lines))

    def verify(self, run: Run, result: StepResult) -> str:
        return "see above"


# ----------------------------------------------------------------------------- the report


def report_lines(run: Run, known: dict[str, str]) -> list[str]:
    """What only the operator can do, numbered; ``known``: resource IDs (lower case) known to be pod
    identities, for the scale-set list."""
    inv = _inv(run, fresh=True)
    install = _install(run)
    cp = run.target.cluster
    lines: list[str] = []
    steps = 0

    def step(text: str) -> None:
        nonlocal steps
        steps += 1
        lines.append(f"{steps}. {text}")

    # 1. Pod Identity itself, per install method found
    if install.addon_enabled:
        step("turn the AKS pod identity add-on off (it also removes its NMI and its exceptions):")
        lines.append(f"     az aks update {sh_flag('--resource-group', cp.resource_group)} {sh_flag('--name', cp.name)} "
                     "--disable-pod-identity")
    manifest = []
    for c in install.nmi + install.mic:
        if c.install == "add-on":
            continue
        workload = next((w for w in inv.workloads or () if w.ref == c.ref), None)
        labels = dict(workload.labels) if workload else {}
        annotations = dict(workload.annotations) if workload else {}
        if c.install == "helm":
            release = annotations.get("meta.helm.sh/release-name") or labels.get("app.kubernetes.io/instance")
            ns = annotations.get("meta.helm.sh/release-namespace") or c.ref.namespace
            command = f"helm uninstall {sh(release) if release else '<release>'} {sh_flag('--namespace', ns)}"
            if not any(command in x for x in lines):
                step(f"uninstall the aad-pod-identity Helm release (it runs {c.ref.kind} {c.ref.namespace}/"
                     f"{c.ref.name}):")
                lines.append(f"     {command}")
        else:
            manifest.append(c)
    if manifest:
        version = next((c.version_text for c in manifest if c.version_text), None) or CHART_VERSION
        file = "managed-mode-deployment.yaml" if install.mode is not None and install.mode.value == "managed" \
            else "deployment-rbac.yaml"
        step("delete AAD Pod Identity installed from manifests ("
             + ", ".join(f"{c.ref.kind} {c.ref.namespace}/{c.ref.name}" for c in manifest) + f", {version}):")
        lines.append(f"     kubectl delete --filename https://raw.githubusercontent.com/Azure/aad-pod-identity/"
                     f"{version}/deploy/infra/{file}")
        lines.append("     # or, if they were installed otherwise:")
        for c in manifest:
            lines.append(f"     kubectl {sh_flag('--namespace', c.ref.namespace)} delete {sh(c.ref.kind.lower())} "
                         f"{sh(c.ref.name)}")
    if not install.nmi and not install.addon_enabled:
        lines.append("   AAD Pod Identity is not running any more (no NMI, no MIC, add-on off).")
    # 2. finalizers and CRDs
    stuck = [a for a in inv.assigned_identities or () if a.finalizers]
    if stuck and install.mic:
        step(f"after MIC is gone, run migrate finalize again: it clears the finalizers of the {len(stuck)} "
             "AzureAssignedIdentity objects MIC would leave (or by hand:")
        lines.append("     kubectl get azureassignedidentities --all-namespaces --output name | xargs -I{} kubectl "
                     "patch {} --type merge --patch '{\"metadata\":{\"finalizers\":null}}')")
    crds = sorted(c.name for c in inv.crds or () if c.group == "aadpodidentity.k8s.io")
    if crds:
        step("delete the CRDs once NMI and MIC are gone (Helm never deletes them; the add-on may leave them):")
        lines.append(f"     kubectl delete customresourcedefinition {sh_words(crds)}")
    # 3. identities on the node pools
    kubelet = (inv.facts.kubelet_identity_resource_id or "").lower() if inv.facts else ""
    node_rg = inv.facts.node_resource_group if inv.facts else None
    unassign, other = [], []
    for vmss in inv.scale_sets or ():
        for rid in vmss.identity_ids:
            low = rid.lower()
            if low == kubelet:
                continue
            name = rid.rsplit("/", 1)[-1]
            if low in known:
                unassign.append((vmss.name, rid, known[low]))
            elif AKS_ADDON_IDENTITY.match(name) and node_rg and f"/resourcegroups/{node_rg.lower()}/" in low:
                other.append((vmss.name, rid, "an AKS add-on's identity: AKS manages it"))
            else:
                unassign.append((vmss.name, rid, "not a pod identity the migration knows: assigned by hand? review "
                                                 "it"))
    if unassign:
        by = "by hand, managed mode" if install.mode is not None and install.mode.value == "managed" \
            and not install.addon_enabled else ("by the add-on" if install.addon_enabled else "by MIC")
        step(f"unassign the identities left on the node pools' scale sets (assigned {by}): once NMI is gone, every "
             "pod on those nodes can get tokens for them from IMDS:")
        for vmss_name, rid, why in unassign:
            lines.append(f"     # {vmss_name}: {rid.rsplit('/', 1)[-1]} — {why}")
            group = sh_flag("--resource-group", node_rg) if node_rg else "--resource-group=<node resource group>"
            lines.append(f"     az vmss identity remove {group} {sh_flag('--name', vmss_name)} "
                         f"{sh_flag('--identities', rid)}")
    for vmss_name, rid, why in other:
        lines.append(f"   kept on {vmss_name}: {rid.rsplit('/', 1)[-1]} ({why})")
    # 4. Terraform
    if cp.terraform_issuer and install.addon_enabled:
        step("in Terraform (azurerm has no podIdentityProfile: the add-on is switched off through azapi; replace "
             "the azapi resource that turned it on, if your configuration has one):")
        lines.extend("     " + x for x in terraform_disable_addon(cp).splitlines())
    if not steps:
        lines.append("nothing is left to do: AAD Pod Identity is gone from this cluster")
    return lines


def terraform_disable_addon(cluster: ClusterPlan) -> str:
    """An ``azapi_update_resource`` that turns the pod identity add-on off (templates/cutover/; every value
    goes through its HCL filter)."""
    from migrator.render.templates import render
    from migrator.sources.arm import API_CONTAINERSERVICE

    ref = cluster.terraform_issuer or ""
    resource_ref = None
    if is_hcl_reference(ref) and ref.endswith(".oidc_issuer_url") and \
            ref.startswith(("azurerm_kubernetes_cluster.", "data.azurerm_kubernetes_cluster.")):
        resource_ref = ref[: -len(".oidc_issuer_url")] + ".id"
    resource_id = (f"/subscriptions/{cluster.subscription_id}/resourceGroups/{cluster.resource_group}/providers/"
                   f"Microsoft.ContainerService/managedClusters/{cluster.name}")
    label = re.sub(r"^(?=[^A-Za-z_])", "aks_", re.sub(r"[^A-Za-z0-9_-]", "_", cluster.name)) + "_disable_pod_identity"
    return render("cutover/disable_pod_identity.tf.j2", label=label, api_version=API_CONTAINERSERVICE,
                  resource_ref=resource_ref, resource_id=resource_id)


def _confirm(run: Run, pending: list[Step]) -> list[str]:
    keys = {s.key for s in pending}
    lines = []
    if "remove-identities" in keys:
        lines += [f"remove AzureIdentity {(o.get('metadata') or {}).get('namespace')}/"
                  f"{(o.get('metadata') or {}).get('name')}" for o in _crd_objects(run, "AzureIdentity")]
    if "remove-exceptions" in keys:
        lines += [f"remove AzurePodIdentityException {(o.get('metadata') or {}).get('namespace')}/"
                  f"{(o.get('metadata') or {}).get('name')}" for o in _crd_objects(run, "AzurePodIdentityException")]
    if "clear-assigned" in keys:
        lines.append(f"clear {len(_crd_objects(run, 'AzureAssignedIdentity'))} AzureAssignedIdentity object(s)")
    return lines


def _finished(run: Run, outcome: Outcome) -> list[str]:
    if run.dry_run:
        return ["dry run complete: nothing was changed"]
    report = outcome.results[Report.key].lines if Report.key in outcome.results else ()
    if report and report[0].startswith("nothing is left to do"):
        return [f"finalized: AAD Pod Identity is gone from {run.target.cluster.name} ({run.changed} change(s) made by "
                "this run)"]
    return [f"finalized what the cluster allows now ({run.changed} change(s) made by this run); the numbered steps "
            "above are yours — then run migrate finalize again"]


def finalize_operation(run: Run) -> Operation:
    known: dict[str, str] = {}
    steps = [FinalizePreflight(known), RemoveIdentities(), RemoveExceptions(), ClearAssigned(), Report(known)]
    return Operation(name="finalize", title="finalize", steps=steps,
                     command=migrate_command("finalize", run.plan_ref, run.target.cluster.name),
                     confirm=_confirm, finished=_finished, checks_when_done=True)
