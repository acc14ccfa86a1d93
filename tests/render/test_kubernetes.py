"""kubernetes/: full objects validate, each patch applied to the object it targets validates, and an
overlay including the components builds with the real ``kubectl kustomize``."""

from __future__ import annotations

import json
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml as pyyaml
from kubernetes_validate.utils import latest_version
from ruamel.yaml import YAML

from migrator.render.names import path_segment
from migrator.render.view import API_VERSIONS, TEMPLATE_PATHS
from migrator.vocabulary import BINDING_LABEL, CLIENT_ID_ANNOTATION, WI_USE_LABEL
from tests.render import plans
from tests.render.checkers import kubectl
from tests.render.conftest import SNAPSHOTS, Files, text_files
from tests.render.smp import apply

#: the newest Kubernetes whose schemas kubernetes-validate ships (AKS runs 1.3x)
KUBE_VERSION = latest_version()
PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
           "ReplicaSet": "replicasets", "Job": "jobs", "CronJob": "cronjobs", "ServiceAccount": "serviceaccounts",
           "AzureIdentityBinding": "azureidentitybindings", "Pod": "pods"}
NO_SCHEMA = {"Rollout", "AzureIdentityBinding", "AzurePodIdentityException"}  # CRDs: kubernetes-validate has none


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def validate(obj: dict[str, Any]) -> None:
    kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)


@lru_cache(maxsize=None)
def snapshot(cluster: str, kind: str) -> tuple[dict[str, Any], ...]:
    path = SNAPSHOTS / cluster / "kube" / f"{PLURALS[kind]}.json"
    if not path.exists():
        return ()
    items = json.loads(path.read_text())["items"]
    # items of a List may leave out apiVersion and kind (the API server fills them in on a single GET)
    return tuple({"apiVersion": API_VERSIONS[kind], "kind": kind,
                  **{k: v for k, v in item.items() if k != "status"}} for item in items)


def target_of(cluster: str, patch: dict[str, Any]) -> dict[str, Any] | None:
    meta = patch["metadata"]
    for obj in snapshot(cluster, patch["kind"]) if patch["kind"] in PLURALS else ():
        if obj["metadata"]["name"] == meta["name"] and obj["metadata"].get("namespace") == meta["namespace"]:
            return obj
    return None


def components(files: Files) -> dict[str, dict[str, Any]]:
    """kustomization.yaml path → its document, for every Component."""
    return {path: doc for path, text in text_files(files, "kustomization.yaml").items()
            if (doc := load(text))["kind"] == "Component"}


def test_kube_version_is_current() -> None:
    major, minor, _ = map(int, KUBE_VERSION.split("."))
    assert (major, minor) >= (1, 33)


def test_yaml_reads_the_same_in_yaml_1_1_and_1_2(rendered) -> None:
    """kubectl reads YAML 1.1 (sigs.k8s.io/yaml): no value may change type there ("true", "on", 0777)."""
    _, _, files = rendered
    for path, text in text_files(files, ".yaml").items():
        assert pyyaml.safe_load(text) == load(text), path


def test_full_objects_validate(rendered) -> None:
    _, _, files = rendered
    checked = 0
    for path, text in text_files(files, ".yaml").items():
        name = path.rsplit("/", 1)[-1]
        if name.startswith("serviceaccount-"):
            validate(load(text))
            checked += 1
        if "/_pod-identity-exceptions/" in path and name != "kustomization.yaml":
            doc = load(text)
            assert doc["apiVersion"] == "aadpodidentity.k8s.io/v1" and doc["kind"] == "AzurePodIdentityException"
            assert set(doc["spec"]) == {"podLabels"}  # camelCase: every version reads it
            assert doc["metadata"]["namespace"]
    assert checked or rendered[0] == "per_workload"


def test_each_patch_applied_to_its_target_validates(example, per_workload) -> None:
    validated: set[str] = set()
    for plan, files in (example, per_workload):
        for path, kust in components(files).items():
            cluster = next(c.name for c in plan.clusters if path.startswith(f"kubernetes/{c.name}/"))
            folder = path.rsplit("/", 1)[0]
            for entry in kust.get("patches", []):
                patch = load(files[f"{folder}/{entry['path']}"].decode())
                assert entry["target"]["kind"] == patch["kind"]
                target = target_of(cluster, patch)
                if patch["kind"] in NO_SCHEMA:
                    continue
                assert target is not None, f"{folder}/{entry['path']}: its target is not in the snapshot"
                patched = apply(target, patch)
                assert patched is not None
                key = json.dumps(patched, sort_keys=True)
                if key not in validated:  # the per-workload plan patches many objects the same way
                    validate(patched)
                    validated.add(key)
    assert len(validated) >= 30


def test_patches_change_what_the_plan_says(example) -> None:
    plan, files = example
    for w in plan.workloads:
        path = f"kubernetes/{w.cluster}/{w.namespace}/patch-{w.kind.lower()}-{w.name}.yaml"
        if path not in files:
            continue
        doc = load(files[path].decode())
        template = doc
        for key in TEMPLATE_PATHS[w.kind]:
            template = template[key]
        assert template["metadata"]["labels"] == {WI_USE_LABEL: "true"}
        if w.previous_service_account:
            assert template["spec"]["serviceAccountName"] == w.service_account
        else:
            assert "spec" not in template
    for sa in plan.service_accounts:
        path = f"kubernetes/{sa.cluster}/{sa.namespace}/" + (
            f"serviceaccount-{sa.name}.yaml" if sa.create else f"patch-serviceaccount-{sa.name}.yaml")
        if sa.client_id and path in files:
            assert load(files[path].decode())["metadata"]["annotations"][CLIENT_ID_ANNOTATION] == sa.client_id


def _overlay(root: Path, resources: list[dict[str, Any]], component_dirs: list[Path], namespace: str | None) -> Path:
    root.mkdir(parents=True)
    (root / "resources.yaml").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": resources}))
    kust: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                            "resources": ["resources.yaml"],
                            "components": [str(Path("..") / d.relative_to(root.parent)) for d in component_dirs]}
    if namespace:
        kust["namespace"] = namespace
    (root / "kustomization.yaml").write_text(pyyaml.safe_dump(kust))
    return root


def _build(*overlays: Path) -> list[list[dict[str, Any]]]:
    """``kubectl kustomize`` of each overlay, run side by side."""
    loader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
    runs = [subprocess.Popen([kubectl(), "kustomize", str(o)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for o in overlays]
    out = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=60)
        assert run.returncode == 0, stderr
        out.append([d for d in pyyaml.load_all(stdout, Loader=loader) if d])
    return out


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]


def _pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    for key in TEMPLATE_PATHS[obj["kind"]]:
        obj = obj[key]
    return obj


def test_kubectl_kustomize_builds_an_overlay_including_the_components(example, tmp_path: Path) -> None:
    plan, files = example
    tree = tmp_path / "repo"
    for rel, data in files.items():
        if rel.startswith("kubernetes/"):
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            (tree / rel).write_bytes(data)
    kubectl()
    cases = []
    for cluster in sorted({w.cluster for w in plan.workloads}):
        dirs = sorted(p.parent for p in (tree / "kubernetes" / cluster).glob("*/kustomization.yaml")
                      if not p.parent.name.startswith("_"))
        if not dirs:
            continue
        # every ServiceAccount, workload and binding of the cluster: the patched ones and decoys with the same
        # names in other namespaces (the "default" service accounts), which must come out unchanged. Not the
        # objects of the "default" namespace itself: Kustomize cannot tell them from objects without a
        # namespace, which the targets must match (kubernetes/README.md says so)
        resources = [o for kind in ("ServiceAccount", "Deployment", "StatefulSet", "DaemonSet", "CronJob",
                                    "ReplicaSet", "AzureIdentityBinding") for o in snapshot(cluster, kind)
                     if o["metadata"].get("namespace") != "default"]
        before = {_key(o): o for o in resources}
        new_sas = {(s.namespace, s.name) for s in plan.service_accounts if s.cluster == cluster and s.create}
        resources = [o for o in resources if not (o["kind"] == "ServiceAccount" and
                                                  (o["metadata"]["namespace"], o["metadata"]["name"]) in new_sas)]
        cases.append((cluster, before, new_sas,
                      _overlay(tmp_path / f"{cluster}-cutover", resources, dirs, None),
                      _overlay(tmp_path / f"{cluster}-unbind", resources,
                               [*dirs, *(d / "unbind" for d in dirs if (d / "unbind").is_dir())], None)))
    results = iter(_build(*(o for case in cases for o in case[3:])))
    assert cases
    for cluster, before, new_sas, _, _ in cases:
        cut = {_key(o): o for o in next(results)}
        unbound = {_key(o): o for o in next(results)}
        sa_plans = {(s.namespace, s.name): s for s in plan.service_accounts if s.cluster == cluster}
        patched = {(w.kind, w.namespace, w.name): w for w in plan.workloads if w.cluster == cluster
                   and (tree / "kubernetes" / cluster / w.namespace / f"patch-{w.kind.lower()}-{w.name}.yaml").exists()}
        for key, obj in cut.items():
            kind, ns, name = key
            if kind == "ServiceAccount":
                sa = sa_plans.get((ns, name))
                annotated = (tree / "kubernetes" / cluster / ns / (
                    f"serviceaccount-{name}.yaml" if (ns, name) in new_sas else f"patch-serviceaccount-{name}.yaml"))
                got = (obj["metadata"].get("annotations") or {}).get(CLIENT_ID_ANNOTATION)
                assert got == (sa.client_id if sa and annotated.exists() else None), key
            elif key in patched:
                w = patched[key]
                template = _pod_template(obj)
                assert template["metadata"]["labels"][WI_USE_LABEL] == "true", key
                assert template["spec"].get("serviceAccountName", "default") == w.service_account, key
                assert BINDING_LABEL in template["metadata"]["labels"] or not w.binding_selector, key
                after = _pod_template(unbound[key])
                assert BINDING_LABEL not in after["metadata"]["labels"], key
                assert after["metadata"]["labels"][WI_USE_LABEL] == "true", key
            elif kind != "AzureIdentityBinding":
                assert obj == before[key], f"{key} is not in the plan but was changed"
        deleted = {k for k in cut if k not in unbound}
        assert deleted and all(k[0] == "AzureIdentityBinding" for k in deleted)
        assert not any(k[0] == "AzureIdentityBinding" for k in set(cut) - set(before))


def test_a_component_patches_objects_whose_namespace_the_overlay_sets(example, tmp_path: Path) -> None:
    """The usual repository layout: manifests without a namespace, the overlay's ``namespace:`` adds it."""
    plan, files = example
    cluster, ns = "aks-prod-eus", "shared"
    comp = tmp_path / "component"
    prefix = f"kubernetes/{cluster}/{ns}/"
    for rel, data in files.items():
        if rel.startswith(prefix):
            (comp / rel[len(prefix):]).parent.mkdir(parents=True, exist_ok=True)
            (comp / rel[len(prefix):]).write_bytes(data)
    resources = []
    for kind in ("ServiceAccount", "Deployment"):
        for o in snapshot(cluster, kind):
            if o["metadata"]["namespace"] == ns and o["metadata"]["name"] != "report-builder" or kind == "Deployment" \
                    and o["metadata"]["namespace"] == ns:
                o = json.loads(json.dumps(o))
                del o["metadata"]["namespace"]
                resources.append(o)
    built = {_key(o): o for o in _build(_overlay(tmp_path / "overlay", resources, [comp], ns))[0]}
    assert built[("ServiceAccount", ns, "shared-runner")]["metadata"]["annotations"][CLIENT_ID_ANNOTATION]
    assert ("ServiceAccount", ns, "report-builder") in built  # the new one, from the component
    for name in ("ingest-worker", "report-builder"):
        assert _pod_template(built[("Deployment", ns, name)])["metadata"]["labels"][WI_USE_LABEL] == "true"


def test_hostile_yaml_keeps_its_values(hostile) -> None:
    _, files = hostile
    docs = [load(t) for p, t in text_files(files, ".yaml").items() if not p.endswith("kustomization.yaml")]
    sas = [d for d in docs if d.get("kind") == "ServiceAccount"]
    names = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in sas}
    assert (plans.NS, plans.SA) in names and (plans.NS, plans.SA_NEW) in names
    by_name = {d["metadata"]["name"]: d for d in sas if d["metadata"]["namespace"] == plans.NS}
    assert by_name[plans.SA]["metadata"]["annotations"] == {CLIENT_ID_ANNOTATION: plans.CLIENT,
                                                             "azure.workload.identity/tenant-id": plans.TENANT}
    validate(by_name[plans.SA_NEW])
    workloads = {d["metadata"]["name"] for d in docs if d.get("kind") in TEMPLATE_PATHS}
    assert plans.WL in workloads
    exceptions = [d for d in docs if d.get("kind") == "AzurePodIdentityException"]
    assert [e["spec"]["podLabels"] for e in exceptions] == [{"app.kubernetes.io/name": plans.FLUX_VALUE}]


def test_hostile_names_build_with_kustomize(hostile, tmp_path: Path) -> None:
    """Names with regular-expression metacharacters still select exactly their object."""
    plan, files = hostile
    comp_rel = f"kubernetes/{path_segment(plans.C1)}/{path_segment(plans.NS)}"
    comp = tmp_path / "component"
    for rel, data in files.items():
        if rel.startswith(comp_rel + "/"):
            (comp / rel[len(comp_rel) + 1:]).parent.mkdir(parents=True, exist_ok=True)
            (comp / rel[len(comp_rel) + 1:]).write_bytes(data)
    objects = []
    for w in (w for w in plan.workloads if w.cluster == plans.C1 and w.namespace == plans.NS
              and w.kind in ("Deployment", "StatefulSet")):
        objects.append({"apiVersion": "apps/v1", "kind": w.kind,
                        "metadata": {"name": w.name, "namespace": w.namespace},
                        "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": {
                            "metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    decoy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "wl-x", "namespace": plans.NS},
             "spec": {"template": {"metadata": {"labels": {"app": "x"}}}}}
    objects.append(decoy)
    objects.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": plans.SA, "namespace": plans.NS}})
    built = {_key(o): o for o in _build(_overlay(tmp_path / "overlay", objects, [comp], None))[0]}
    assert built[("ServiceAccount", plans.NS, plans.SA)]["metadata"]["annotations"][CLIENT_ID_ANNOTATION] == plans.CLIENT
    assert _pod_template(built[("Deployment", plans.NS, plans.WL)])["metadata"]["labels"][WI_USE_LABEL] == "true"
    assert built[("Deployment", plans.NS, "wl-x")] == decoy
