"""How AAD Pod Identity runs: NMI without MIC, leftovers, managed mode, two installs, old schema, VMSS."""

from __future__ import annotations

from collections.abc import Iterator

from migrator.escape import sh
from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import (
    apply_json,
    captured,
    cluster_object,
    emit,
    version_text,
)
from migrator.inventory.catalog import Catalog
from migrator.inventory.interception import interception
from migrator.inventory.model import (
    AzureIdentity,
    Binding,
    ClusterInventory,
    IdentityType,
    ObjectRef,
    Origin,
    PodIdentityException,
    Schema,
    label,
)
from migrator.inventory.podidentity import Component
from migrator.kinds import AAD_POD_IDENTITY_GROUP

AAD_PI_DOCS = "https://azure.github.io/aad-pod-identity/docs/"
MANAGED_MODE_DOC = "https://azure.github.io/aad-pod-identity/docs/configure/pod_identity_in_managed_mode/"
STANDARD_MODE_DOC = "https://azure.github.io/aad-pod-identity/docs/configure/standard_to_managed_mode/"
ADDON_DOC = "https://learn.microsoft.com/azure/aks/use-azure-ad-pod-identity"
CHANGELOG_16 = "https://azure.github.io/aad-pod-identity/docs/#v160-breaking-change"
MIGRATE_DOC = "https://learn.microsoft.com/azure/aks/workload-identity-migrate-from-pod-identity"


def _where(c: Component) -> str:
    return f"{c.ref} in {c.ref.namespace}"


def _release(cluster: ClusterInventory, ref: ObjectRef) -> str | None:
    w = next((w for w in cluster.workloads or () if w.ref == ref), None)
    if w is None:
        return None
    return label(w.labels, "app.kubernetes.io/instance") or label(w.annotations, "meta.helm.sh/release-name")


def _remove(cluster: ClusterInventory, c: Component) -> str:
    """The command that removes one NMI/MIC the way it was installed."""
    if c.install == "helm":
        return f"helm uninstall {sh(_release(cluster, c.ref) or '<release>')} -n {sh(c.ref.namespace)}"
    kind = "daemonset" if c.ref.kind == "DaemonSet" else "deployment"
    return f"kubectl delete {kind} {sh(c.ref.name)} -n {sh(c.ref.namespace)}"


@rule(
    "POD_IDENTITY_NMI_WITHOUT_MIC", Severity.ERROR,
    title="NMI intercepts IMDS in standard mode but no MIC runs",
    cause=("NMI runs in standard mode (its --operation-mode argument is 'standard' or absent) on the nodes, but no MIC "
           "Deployment has a ready replica: MIC was deleted, scaled to 0, or never came up. In standard mode NMI "
           "answers a pod's token request only from the AzureAssignedIdentity objects MIC creates."),
    risk=("Every IMDS call from a pod that no AzurePodIdentityException covers is redirected to NMI, waits ~80-100 s "
          "for an assignment that never comes, and fails (404 / context deadline exceeded). Anything that used the "
          "node's identity through IMDS breaks: Flux image automation and the microsoft.flux agents, ACR pulls done by "
          "controllers, monitoring agents. In managed mode no MIC is normal: this finding is not raised there."),
    remediation=("Restore MIC (scale it back up) while pod identities are still in use, or, if Pod Identity is being "
                 "retired, remove NMI as well so IMDS answers directly again. Until then, add exceptions for the pods "
                 "that must reach the node identity (see FLUX_WITHOUT_EXCEPTION)."),
    references=(AAD_PI_DOCS + "concepts/nmi/", AAD_PI_DOCS + "concepts/mic/", MANAGED_MODE_DOC),
    needs=("daemonsets", "deployments"),
)
def nmi_without_mic(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, "daemonsets", "deployments"):
            continue
        ic = interception(c, r.install)
        if not ic.standard_nmi or ic.mic_running:
            continue
        for nmi in ic.standard_nmi:
            if ic.mic_stopped:
                mic = ic.mic_stopped[0]
                state = f"MIC ({_where(mic)}) has no ready replica (desired {mic.desired if mic.desired is not None else '?'})"
                fix = (f"Scale MIC back up with kubectl scale deployment {sh(mic.ref.name)} -n {sh(mic.ref.namespace)} "
                       f"--replicas=2, or retire Pod Identity and remove NMI too: {_remove(c, nmi)}.")
            else:
                state = "no MIC is installed"
                fix = (f"Retire the leftover NMI with {_remove(c, nmi)} (after the workloads that still rely on pod "
                       f"identities have moved), or reinstall MIC from the same release.")
            yield emit("POD_IDENTITY_NMI_WITHOUT_MIC", c.name, nmi.ref.namespace, str(nmi.ref),
                       f"NMI ({_where(nmi)}) intercepts IMDS in standard mode but {state}: every IMDS call from a "
                       f"pod without an AzurePodIdentityException hangs and fails (Flux, anything using the node identity).",
                       fix)


def _leftover_objects(c: ClusterInventory) -> list[tuple[str, int]]:
    counts = [
        ("AzureIdentity", sum(1 for i in c.identities or () if i.origin is Origin.CRD)),
        ("AzureIdentityBinding", sum(1 for b in c.bindings or () if b.origin is Origin.CRD)),
        ("AzurePodIdentityException", sum(1 for e in c.exceptions or () if e.origin is Origin.CRD)),
        ("AzureAssignedIdentity", len(c.assigned_identities or ())),
    ]
    return [(k, n) for k, n in counts if n]


@rule(
    "POD_IDENTITY_CRDS_WITHOUT_CONTROLLER", Severity.WARNING,
    title="Pod Identity CRDs or objects remain, but neither NMI nor MIC runs",
    cause=("AAD Pod Identity was removed (or scaled down) but its CustomResourceDefinitions and objects stayed: Helm "
           "never deletes a chart's CRDs, and AzureAssignedIdentity objects carry a finalizer that only MIC removes."),
    risk=("Nothing intercepts IMDS, so the objects do nothing, yet they look like live identity mappings: a reader (or "
          "an old tool) takes them for the truth, stuck AzureAssignedIdentity finalizers block namespace deletion, and a "
          "later reinstall of NMI brings every old binding back to life."),
    remediation=("Keep the objects until the migration plan is made (they document which workloads used which "
                 "identity), then delete them and the CRDs; clear the finalizers of stuck AzureAssignedIdentity objects "
                 "first."),
    references=(AAD_PI_DOCS + "troubleshooting/", "https://github.com/Azure/aad-pod-identity/tree/master/charts/aad-pod-identity#uninstalling-the-chart"),
    needs=("daemonsets", "deployments", "customresourcedefinitions"),
)
def crds_without_controller(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not captured(c, "daemonsets", "deployments"):
            continue
        crds = sorted(d.name for d in c.crds or () if d.group == AAD_POD_IDENTITY_GROUP)
        objects = _leftover_objects(c)
        if not crds and not objects:
            continue
        ic = interception(c, r.install)
        if ic.any_running:
            continue
        stopped = [str(x.ref) for x in (*ic.nmi_stopped, *ic.mic_stopped)]
        what = ", ".join(f"{n} {k}" for k, n in objects) or "no objects"
        obj = f"CustomResourceDefinition/{crds[0]}" if crds else f"{objects[0][0]}/*"
        plurals = "azureidentitybindings,azureidentities,azurepodidentityexceptions,azureassignedidentities"
        fix = (f"After the migration plan is made, delete them: kubectl delete {plurals} --all -A (for a stuck "
               f"AzureAssignedIdentity first: kubectl patch azureassignedidentity NAME -n NS --type merge -p "
               f"'{{\"metadata\":{{\"finalizers\":null}}}}')"
               + (f", then kubectl delete crd {' '.join(sh(n) for n in crds)}" if crds else "")
               + (f"; and remove the scaled-down {', '.join(stopped)}" if stopped else "") + ".")
        yield emit("POD_IDENTITY_CRDS_WITHOUT_CONTROLLER", c.name, "", obj,
                   f"{len(crds)} AAD Pod Identity CRDs and {what} remain, but neither NMI nor MIC runs"
                   + (f" ({', '.join(stopped)} scaled to 0 or not ready)" if stopped else "") + ".",
                   fix)


@rule(
    "POD_IDENTITY_MANAGED_MODE", Severity.INFO,
    title="NMI runs in managed mode: identities sit on the node pools",
    cause=("NMI runs with --operation-mode=managed (always the case for the AKS add-on). In managed mode no MIC "
           "assigns identities: they were assigned to the node pools' scale sets by hand (az vmss identity assign) or, "
           "for the add-on, by AKS."),
    risk=("Those assignments outlive the migration: once NMI is gone, any pod on those nodes can request tokens for "
          "them from IMDS (see NODE_IDENTITY_EXPOSURE)."),
    remediation=("After cutover, unassign every pod identity from every scale set it was put on (az vmss identity "
                 "remove), or, for the add-on, delete the pod identities (az aks pod-identity delete) and disable the "
                 "add-on (az aks update --disable-pod-identity)."),
    references=(MANAGED_MODE_DOC, ADDON_DOC),
    needs=("daemonsets", "managedcluster"),
)
def managed_mode(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        ic = interception(c, r.install)
        node_rg = sh(c.facts.node_resource_group) if c.facts and c.facts.node_resource_group else "<node-resource-group>"
        addon_nmi = [n for n in ic.managed_nmi if n.install == "add-on"]
        hand = [n for n in ic.managed_nmi if n.install != "add-on"]
        for nmi in hand:
            # without the managed cluster, an NMI lacking the add-on's label is not proof of a hand install
            by = "by hand" if c.facts is not None else \
                "by hand, or by AKS if the add-on runs it (the managed cluster was not read to tell)"
            also = "" if c.facts is not None else \
                " For the add-on: az aks pod-identity delete for each, then az aks update --disable-pod-identity."
            yield emit("POD_IDENTITY_MANAGED_MODE", c.name, nmi.ref.namespace, str(nmi.ref),
                       f"NMI ({_where(nmi)}) runs in managed mode: the pod identities were assigned to the node pools' "
                       f"scale sets {by} and stay there after cutover.",
                       f"After cutover, unassign each one from every scale set: az vmss identity remove -g {node_rg} "
                       f"-n <scale set> --identities <identity resource ID> (NODE_IDENTITY_EXPOSURE lists those "
                       f"found).{also}")
        if r.install.addon_enabled:
            obj = str(addon_nmi[0].ref) if addon_nmi else cluster_object(c)
            ns = addon_nmi[0].ref.namespace if addon_nmi else ""
            yield emit("POD_IDENTITY_MANAGED_MODE", c.name, ns, obj,
                       "The AKS pod-identity add-on runs NMI in managed mode: AKS assigned the pod identities to the "
                       "node pools' scale sets.",
                       f"After cutover, delete each pod identity (az aks pod-identity delete -g {sh(c.resource_group)} "
                       f"--cluster-name {sh(c.name)} --namespace NS --name NAME), then disable the add-on: az aks update "
                       f"-g {sh(c.resource_group)} -n {sh(c.name)} --disable-pod-identity.")


@rule(
    "POD_IDENTITY_ADDON_AND_HELM", Severity.WARNING,
    title="Both the AKS add-on and a chart/manifest install of Pod Identity",
    cause=("The AKS pod-identity add-on is enabled on the cluster and an NMI or MIC from the Helm chart or the raw "
           "manifests runs as well (found by image, whatever its name)."),
    risk=("Two installations compete for the same CRDs, node iptables rule and NMI port; which one answers a pod is "
          "accidental, and removing one (e.g. disabling the add-on at the end of the migration) leaves the other "
          "intercepting IMDS."),
    remediation="Keep one installation: uninstall the chart or delete the manifests, or disable the add-on.",
    references=(ADDON_DOC, AAD_PI_DOCS + "getting-started/installation/"),
    needs=("managedcluster", "daemonsets", "deployments"),
)
def addon_and_helm(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if not r.install.addon_enabled:
            continue
        for comp in (*r.install.nmi, *r.install.mic):
            if comp.install == "add-on":
                continue
            how = "Helm chart" if comp.install == "helm" else "manifests"
            yield emit("POD_IDENTITY_ADDON_AND_HELM", c.name, comp.ref.namespace, str(comp.ref),
                       f"The AKS pod-identity add-on is enabled and {comp.role.upper()} {_where(comp)} from the {how} "
                       f"runs as well: two installations intercept and manage the same objects.",
                       f"Keep one: remove this one ({_remove(c, comp)}) or disable the add-on "
                       f"(az aks update -g {sh(c.resource_group)} -n {sh(c.name)} --disable-pod-identity).")


def _camel(obj: AzureIdentity | Binding | PodIdentityException) -> dict[str, object]:
    if isinstance(obj, AzureIdentity):
        spec: dict[str, object] = {"type": obj.type.value if obj.type is not IdentityType.UNKNOWN else 0}
        if obj.resource_id:
            spec["resourceID"] = obj.resource_id
        if obj.client_id:
            spec["clientID"] = obj.client_id
        if obj.tenant_id:
            spec["tenantID"] = obj.tenant_id
        if obj.secret_ref:
            spec["clientPassword"] = {"name": obj.secret_ref[1], "namespace": obj.secret_ref[0]}
        kind = "AzureIdentity"
    elif isinstance(obj, Binding):
        spec = {k: v for k, v in (("azureIdentity", obj.identity_name), ("selector", obj.selector),
                                  ("weight", obj.weight)) if v is not None}
        kind = "AzureIdentityBinding"
    else:
        spec = {"podLabels": dict(obj.pod_labels)}
        kind = "AzurePodIdentityException"
    return {"apiVersion": f"{AAD_POD_IDENTITY_GROUP}/v1", "kind": kind,
            "metadata": {"name": obj.name, "namespace": obj.namespace}, "spec": spec}


@rule(
    "CRD_SCHEMA_LEGACY", Severity.WARNING,
    title="Pod Identity objects spelled with the old capitalized field names",
    cause=("The object spells its spec keys as before v1.6 (ResourceID, ClientID, AzureIdentity, Selector, PodLabels, "
           "or all lower case). Controllers before v1.6 decoded case-insensitively and honour it; from v1.6 they decode "
           "case-sensitively and see empty fields (MIC v1.6+ rewrites old objects once at startup, so these survive "
           "where it never ran: managed mode, the add-on, or objects created later)."),
    risk=("Under v1.6+ controllers the object is silently ignored (a binding that binds nothing, an exception that "
          "excepts nothing); under older ones it works until the next upgrade. The catalog reports its uses as inactive "
          "where the controllers ignore it."),
    remediation=("Replace the object with camelCase keys (resourceID, clientID, tenantID, clientPassword, azureIdentity, "
                 "selector, podLabels): every version accepts them. Manifests this tool renders always use camelCase."),
    references=(CHANGELOG_16, AAD_PI_DOCS + "troubleshooting/"),
    needs=("azureidentities", "azureidentitybindings", "azurepodidentityexceptions"),
)
def crd_schema_legacy(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        honours = r.install.honours_legacy_schema
        version = version_text(r.install.version)
        if honours is True:
            state = (f"works only because the controllers here are {version} (older than v1.6); v1.6 and later "
                     f"silently ignore it")
        elif honours is False:
            state = (f"is silently ignored by the {version or 'add-on (v1.6+)'} controllers here "
                     f"(v1.6 and later read only camelCase)")
        else:
            state = "is honoured only by controllers older than v1.6 and silently ignored by v1.6 and later"
        objs: list[AzureIdentity | Binding | PodIdentityException] = [
            *(i for i in c.identities or ()), *(b for b in c.bindings or ()), *(e for e in c.exceptions or ())]
        for obj in objs:
            if obj.schema is not Schema.LEGACY or obj.origin is not Origin.CRD:
                continue
            keys = ", ".join(getattr(obj, "legacy_keys", ())) or "PodLabels"
            helm = getattr(obj, "managed_by", "") == "helm"
            yield emit("CRD_SCHEMA_LEGACY", c.name, obj.namespace, str(obj.ref),
                       f"{obj.ref} uses the old field names ({keys}) and {state}.",
                       ("Fix its chart to camelCase keys (Helm would revert an in-cluster edit); the object should read: "
                        if helm else "Replace it with camelCase keys: ") + apply_json(_camel(obj), "replace"))


@rule(
    "NODE_IDENTITY_EXPOSURE", Severity.WARNING,
    title="Pod identities assigned to the cluster's scale sets",
    cause=("MIC (standard mode), a person (managed mode) or AKS (the add-on) assigned the pod identities to the node "
           "pools' virtual machine scale sets, so the nodes can fetch their tokens. NMI keeps other pods from using "
           "them."),
    risk=("Once NMI is removed nothing stands between IMDS and the pods: any pod on those nodes can get tokens for "
          "every identity assigned to its scale set, with all the rights those identities hold."),
    remediation=("At the end of the migration, when no workload uses them through NMI any more, unassign them from "
                 "every scale set (az vmss identity remove), and remove the add-on's pod identities first where the "
                 "add-on would re-assign them."),
    references=(MANAGED_MODE_DOC, MIGRATE_DOC),
    needs=("vmss", "azureidentities"),
)
def node_identity_exposure(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        if c.scale_sets is None or c.identities is None:
            continue
        kubelet = (c.facts.kubelet_identity_resource_id or "").strip().lower() if c.facts else ""
        pod_ids: dict[str, AzureIdentity] = {}
        for i in r.identities:
            if i.resource_id and i.resource_id.strip().lower() != kubelet:
                pod_ids.setdefault(i.resource_id.strip().lower(), i)
        node_rg = sh(c.facts.node_resource_group) if c.facts and c.facts.node_resource_group else "<node-resource-group>"
        for ss in c.scale_sets:
            found = [(assigned, pod_ids[assigned.strip().lower()]) for assigned in ss.identity_ids
                     if assigned.strip().lower() in pod_ids]
            if not found:
                continue
            names = ", ".join(f"{a.rstrip('/').rsplit('/', 1)[-1]} (AzureIdentity {i.namespace}/{i.name})"
                              for a, i in found)
            addon = [i for _, i in found if i.origin is Origin.ADDON or i.managed_by == "add-on"]
            first = "".join(f"az aks pod-identity delete -g {sh(c.resource_group)} --cluster-name {sh(c.name)} "
                            f"--namespace {sh(i.namespace)} --name {sh(i.name)}, then " for i in addon)
            several = len(found) > 1
            yield emit("NODE_IDENTITY_EXPOSURE", c.name, "", f"VirtualMachineScaleSet/{ss.name}",
                       f"Pod identit{'ies' if several else 'y'} {names} {'are' if several else 'is'} assigned to "
                       f"scale set {ss.name}{f' (node pool {ss.pool})' if ss.pool else ''}: once NMI is removed any "
                       f"pod on those nodes can get {'their' if several else 'its'} tokens from IMDS.",
                       f"At the end of the migration run {first}az vmss identity remove -g {node_rg} -n {sh(ss.name)} "
                       f"--identities {' '.join(sh(a) for a, _ in found)}.")
