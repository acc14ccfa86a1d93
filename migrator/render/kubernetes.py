"""``kubernetes/<cluster>/<namespace>/``: Kustomize Components with the ServiceAccounts and patches.

The patches target objects the user's repository already owns, so each folder is a Kustomize
*Component* (``kind: Component``) that an existing overlay includes with ``components:``. A plain
kustomization whose patch targets are not among its resources fails to build, and listing partial
objects as resources would make the GitOps tool own (and, with pruning, delete) the workloads.
Every patch names its target (kind, name and namespace) so an overlay that builds only some of the
namespace's objects still builds; the runbook's verification shows what reached the cluster.

Two stages per namespace:

* the folder itself (cutover): ``azure.workload.identity/client-id`` (and ``tenant-id`` when it
  differs from the cluster's) on the ServiceAccounts, new ServiceAccounts where the plan split a
  shared one, and on each pod template the ``azure.workload.identity/use: "true"`` label and the
  new ``serviceAccountName``;
* ``unbind/`` (after cutover is verified): the ``aadpodidbinding`` label removed from the pod
  templates, and the namespace's own AzureIdentityBindings deleted (``$patch: delete``).

Plus ``kubernetes/<cluster>/_pod-identity-exceptions/``: interim AzurePodIdentityExceptions for
the pods that must reach IMDS while NMI still intercepts (FLUX_WITHOUT_EXCEPTION), on clusters
where the exceptions are Kubernetes objects (on the AKS add-on they are created with ``az``).

Every document is built as a Python dict and written by ``yamlwriter`` (PyYAML's exact output, written
fast for plain documents), never by string templates.
"""

from __future__ import annotations

from typing import Any

import msgspec

from migrator.escape import comment
from migrator.inventory.pod_identity_exceptions import exception_manifest
from migrator.plan.model import WorkloadPatch
from migrator.render import yamlwriter
from migrator.render.names import path_segment
from migrator.render.templates import render
from migrator.render.view import (
    API_VERSIONS,
    TEMPLATE_PATHS,
    ClusterView,
    NamespaceView,
    RenderView,
    ServiceAccountItem,
)
from migrator.vocabulary import (
    BINDING_LABEL,
    CLIENT_ID_ANNOTATION,
    PROXY_SIDECAR_ANNOTATION,
    TENANT_ID_ANNOTATION,
    WI_USE_LABEL,
)

COMPONENT = "kustomize.config.k8s.io/v1alpha1"
KUSTOMIZATION = "kustomize.config.k8s.io/v1beta1"
EXCEPTIONS_DIR = "_pod-identity-exceptions"  # no namespace folder can be named so (a leading "_")

# -- YAML ----------------------------------------------------------------------------------------------

def dump_yaml(doc: dict[str, Any], header: tuple[str, ...] = ()) -> str:
    """One YAML document from a dict; ``header`` lines become comments above it (one line each)."""
    return "".join(f"# {comment(line)}\n" for line in header) + yamlwriter.dump(doc)


_GO_REGEX_ESCAPES = {ord(ch): f"\\{ch}" for ch in "\\.+*?()|[]{}^$"}


def _go_regex(name: str) -> str:
    """A Kustomize selector name is an anchored Go regular expression: escape its metacharacters."""
    return name.translate(_GO_REGEX_ESCAPES)


# -- documents -----------------------------------------------------------------------------------------

def _at(path: tuple[str, ...], leaf: dict[str, Any]) -> dict[str, Any]:
    for key in reversed(path):
        leaf = {key: leaf}
    return leaf


def _object(kind: str, name: str, namespace: str) -> dict[str, Any]:
    return {"apiVersion": API_VERSIONS[kind], "kind": kind, "metadata": {"name": name, "namespace": namespace}}


def _pod_part(w: WorkloadPatch, labels: dict[str, Any], annotations: dict[str, Any] | None = None,
              spec: dict[str, Any] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": labels}
    if annotations:
        meta["annotations"] = annotations
    part: dict[str, Any] = {"metadata": meta}
    if spec:
        part["spec"] = spec
    return part


def _merge(doc: dict[str, Any], w: WorkloadPatch, part: dict[str, Any]) -> dict[str, Any]:
    path = TEMPLATE_PATHS[w.kind]
    if not path:  # a bare Pod: the labels are its own
        doc["metadata"].update(part["metadata"])
        if "spec" in part:
            doc["spec"] = part["spec"]
        return doc
    doc.update(_at(path, part))
    return doc


def cutover_patch(w: WorkloadPatch) -> dict[str, Any]:
    """The strategic-merge patch that moves a workload's pods to workload identity."""
    spec = {"serviceAccountName": w.service_account} if w.previous_service_account is not None else None
    annotations = {PROXY_SIDECAR_ANNOTATION: "true"} if w.proxy_sidecar else None
    return _merge(_object(w.kind, w.name, w.namespace), w, _pod_part(w, {WI_USE_LABEL: "true"}, annotations, spec))


def rollback_patch(w: WorkloadPatch) -> dict[str, Any]:
    """The inverse of ``cutover_patch``: label (and sidecar annotation) removed, the old service account back."""
    spec = {"serviceAccountName": w.previous_service_account} if w.previous_service_account is not None else None
    annotations = {PROXY_SIDECAR_ANNOTATION: None} if w.proxy_sidecar else None
    return _merge(_object(w.kind, w.name, w.namespace), w, _pod_part(w, {WI_USE_LABEL: None}, annotations, spec))


def unbind_patch(w: WorkloadPatch) -> dict[str, Any]:
    """Removes the ``aadpodidbinding`` label from the pod template (strategic merge: null deletes)."""
    return _merge(_object(w.kind, w.name, w.namespace), w, _pod_part(w, {BINDING_LABEL: None}))


def patch_body(doc: dict[str, Any]) -> str:
    """The body of ``kubectl patch -p``: the patch without its identifying fields, as compact JSON."""
    body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}
    meta = {k: v for k, v in body.pop("metadata").items() if k not in ("name", "namespace")}
    if meta:
        body["metadata"] = meta
    return msgspec.json.encode(body).decode()  # compact, non-ASCII as is: json.dumps' bytes, ten times faster


def service_account_annotations(item: ServiceAccountItem, outputs: dict[str, str]) -> dict[str, str]:
    """The annotations a service account needs; a new identity's client ID is known only after apply."""
    sa = item.plan
    value = sa.client_id or f"<terraform output -raw {client_id_output(item, outputs)}>"
    out = {CLIENT_ID_ANNOTATION: value}
    if sa.tenant_id:
        out[TENANT_ID_ANNOTATION] = sa.tenant_id
    return out


def client_id_output(item: ServiceAccountItem, outputs: dict[str, str]) -> str | None:
    """The Terraform output holding the client ID of a service account's new identity, if any."""
    if item.plan.client_id:
        return None
    for key in item.plan.identities:
        if key in outputs:
            return outputs[key]
    return None


def service_account_doc(item: ServiceAccountItem, outputs: dict[str, str]) -> dict[str, Any]:
    doc = _object("ServiceAccount", item.plan.name, item.plan.namespace)
    doc["metadata"]["annotations"] = service_account_annotations(item, outputs)
    return doc


def binding_delete(namespace: str, name: str) -> dict[str, Any]:
    return {"$patch": "delete", **_object("AzureIdentityBinding", name, namespace)}


def _target(kind: str, name: str, namespace: str) -> dict[str, str]:
    """A patch target: kind, name and namespace. Kustomize applies a component before the including
    overlay's own ``namespace:``, and reads an object without a namespace as ``default``; so the
    namespace matches either, and a same-named object of another namespace is never patched."""
    group, _, version = API_VERSIONS[kind].rpartition("/")
    target = {"group": group} if group else {}
    ns = _go_regex(namespace)
    target.update({"version": version, "kind": kind, "name": _go_regex(name),
                   "namespace": ns if namespace == "default" else f"^({ns}|default)$"})
    return target


def exception_doc(namespace: str, key: str, value: str) -> dict[str, Any]:
    return exception_manifest(namespace, key, value)


# -- files ---------------------------------------------------------------------------------------------

def component_dir(cv: ClusterView, nv: NamespaceView) -> str:
    return f"kubernetes/{cv.segment}/{nv.segment}"


def _patch_file(kind: str, name: str, prefix: str = "patch") -> str:
    return f"{prefix}-{path_segment(kind.lower())}-{path_segment(name)}.yaml"


def _component(cv: ClusterView, nv: NamespaceView, outputs: dict[str, str]) -> dict[str, str]:
    base = component_dir(cv, nv)
    files: dict[str, str] = {}
    resources: list[str] = []
    patches: list[dict[str, Any]] = []
    notes: list[str] = []
    live = [s for s in nv.service_accounts if s.state in ("ready", "pending-prerequisite")]
    for s in live:
        doc = service_account_doc(s, outputs)
        if s.plan.create:
            path = f"serviceaccount-{path_segment(s.plan.name)}.yaml"
            files[f"{base}/{path}"] = dump_yaml(doc, (f"New service account split off for {s.plan.name}'s workloads.",))
            resources.append(path)
        else:
            path = _patch_file("ServiceAccount", s.plan.name)
            files[f"{base}/{path}"] = dump_yaml(doc)
            patches.append({"path": path, "target": _target("ServiceAccount", s.plan.name, s.plan.namespace)})
            if s.plan.name == "default":
                notes.append("ServiceAccount default is created by Kubernetes, not by a repository: unless "
                             "the overlay declares it, annotate it with the runbook's kubectl line.")
        output = client_id_output(s, outputs)
        if output:
            notes.append(f"ServiceAccount {s.plan.name}: replace the client-id placeholder with "
                         f"terraform output -raw {output} once the identity exists.")
    for w in (w for w in nv.workloads if w.state in ("ready", "pending-prerequisite")):
        path = _patch_file(w.patch.kind, w.patch.name)
        files[f"{base}/{path}"] = dump_yaml(cutover_patch(w.patch))
        patches.append({"path": path, "target": _target(w.patch.kind, w.patch.name, w.patch.namespace)})
        if w.patch.gitops_owner and w.patch.gitops_owner.startswith("Helm"):
            notes.append(f"{w.ref} is rendered by {w.patch.gitops_owner}: apply this patch through a "
                         "post-renderer, or set the chart's pod labels and service account values.")
        elif w.patch.gitops_owner:
            notes.append(f"{w.ref} is owned by {w.patch.gitops_owner}: include this component where it is built.")
        if w.patch.client_id_env:
            notes.append(f"{w.ref}: also set AZURE_CLIENT_ID={w.patch.client_id_env} on each container "
                         "(the plan's client-id-env remedy; the runbook has the kubectl line).")
    if nv.state == "pending-prerequisite":
        notes.append(f"Waits for the prerequisites of cluster {cv.name}: do not include it before they are done.")
    kustomization: dict[str, Any] = {"apiVersion": COMPONENT, "kind": "Component"}
    if resources:
        kustomization["resources"] = resources
    if patches:
        kustomization["patches"] = patches
    header = (
        f"Workload identity for namespace {nv.name} of cluster {cv.name}, generated by wi-migrator.",
        "A Kustomize Component: include it from the overlay that builds these objects, with",
        "  components:",
        "  - <relative path to this folder>",
        "A patch whose target is not in that overlay does nothing; the runbook checks the cluster.",
        *notes,
    )
    files[f"{base}/kustomization.yaml"] = dump_yaml(kustomization, header)

    # unbind: after cutover is verified
    unbind: list[dict[str, Any]] = []
    for w in (w for w in nv.workloads if w.state in ("ready", "pending-prerequisite") and w.patch.binding_selector):
        path = _patch_file(w.patch.kind, w.patch.name)
        files[f"{base}/unbind/{path}"] = dump_yaml(unbind_patch(w.patch))
        unbind.append({"path": path, "target": _target(w.patch.kind, w.patch.name, w.patch.namespace)})
    deletes = nv.bindings_to_delete if nv.state != "blocked" else ()
    for b in deletes:
        path = _patch_file("AzureIdentityBinding", b.name, "delete")
        files[f"{base}/unbind/{path}"] = dump_yaml(binding_delete(b.namespace, b.name))
        unbind.append({"path": path, "target": _target("AzureIdentityBinding", b.name, b.namespace)})
    if unbind:
        shared = [f"AzureIdentityBinding {b.namespace}/{b.name} also serves {', '.join(b.namespaces)}: it is "
                  "deleted with the last of them." for b in nv.bindings_shared]
        files[f"{base}/unbind/kustomization.yaml"] = dump_yaml(
            {"apiVersion": COMPONENT, "kind": "Component", "patches": unbind},
            (f"Unbind namespace {nv.name} of cluster {cv.name} from AAD Pod Identity, generated by wi-migrator.",
             "Include it (next to the cutover component) only after the cutover is verified: it removes",
             "the aadpodidbinding label from the pod templates and deletes the namespace's own bindings.",
             *shared))
    return files


def _exceptions(cv: ClusterView) -> dict[str, str]:
    manifests = [e for e in cv.exceptions if not e.addon]
    if not manifests:
        return {}
    base = f"kubernetes/{cv.segment}/{EXCEPTIONS_DIR}"
    files: dict[str, str] = {}
    resources = []
    for e in manifests:
        doc = exception_doc(e.namespace, e.key, e.value)
        path = f"{path_segment(e.namespace)}-{path_segment(doc['metadata']['name'])}.yaml"
        files[f"{base}/{path}"] = dump_yaml(doc, (
            f"Lets pods labelled {e.key}={e.value} in {e.namespace} reach IMDS while NMI intercepts.",))
        resources.append(path)
    files[f"{base}/kustomization.yaml"] = dump_yaml(
        {"apiVersion": KUSTOMIZATION, "kind": "Kustomization", "resources": sorted(resources)},
        (f"Interim AzurePodIdentityExceptions for cluster {cv.name}, generated by wi-migrator.",
         "Apply now (kubectl apply -k, or add to the cluster's GitOps source), then restart the pods they",
         "match; remove them when AAD Pod Identity is removed from the cluster (migrate finalize)."))
    return files


def render_kubernetes(view: RenderView, outputs: dict[str, str]) -> dict[str, str]:
    """Every file of ``kubernetes/`` and its README, by path relative to the output folder; ``outputs``
    is ``terraform.client_id_outputs``."""
    files: dict[str, str] = {}
    components = []
    for cv in view.clusters:
        files.update(_exceptions(cv))
        for nv in cv.namespaces:
            if nv.renders_component:
                made = _component(cv, nv, outputs)
                files.update(made)
                unbind = f"{component_dir(cv, nv)}/unbind/kustomization.yaml" in made
                components.append((cv, nv, f"{cv.segment}/{nv.segment}", unbind))
    files["kubernetes/README.md"] = render(
        "kubernetes/README.md.j2", view=view, components=components, exceptions_dir=EXCEPTIONS_DIR,
        exception_clusters=[cv for cv in view.clusters if any(not e.addon for e in cv.exceptions)])
    return files
