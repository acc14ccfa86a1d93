"""The local Kubernetes server, read side, driven by the official ``kubernetes`` client."""

from __future__ import annotations

import json
import os

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from testkit import KubeServer
from testkit.synth import bulk_pods, deployment


def _client(kube: KubeServer, tmp_path, name: str):  # type: ignore[no-untyped-def]
    path = kube.write_kubeconfig(tmp_path / "kubeconfig")
    return config.new_client_from_config(config_file=path, context=name)


def test_kubeconfig_one_context_per_cluster_and_snapshot_loading(kube, snapshot_root, tmp_path):
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    kube.add_cluster("empty")
    path = kube.write_kubeconfig(tmp_path / "kc")
    contexts, active = config.list_kube_config_contexts(config_file=path)
    assert {c["name"] for c in contexts} == {"aks-demo", "empty"}
    assert active["name"] == "aks-demo"
    for name, want in (("aks-demo", 9), ("empty", 0)):
        api = config.new_client_from_config(config_file=path, context=name)
        assert api.configuration.host.startswith("https://127.0.0.1:")
        pods = client.CoreV1Api(api).list_pod_for_all_namespaces()
        assert len(pods.items) == want
        assert all(p.kind is None for p in pods.items)  # list items carry no kind, like the real server
    api = config.new_client_from_config(config_file=path, context="aks-demo")
    # kubectl-List and raw-list files both load; custom kinds keep kind/apiVersion per item
    ids = client.CustomObjectsApi(api).list_cluster_custom_object("aadpodidentity.k8s.io", "v1", "azureidentities")
    assert ids["kind"] == "AzureIdentityList"
    assert {i["kind"] for i in ids["items"]} == {"AzureIdentity"}
    legacy = [i for i in ids["items"] if i["metadata"]["name"] == "legacy-id"][0]
    assert "ResourceID" in legacy["spec"]  # v1.5-era casing preserved
    sa = client.CoreV1Api(api).read_namespaced_service_account("workload-identity-sa", "wi-demo")
    assert sa.kind == "ServiceAccount" and sa.metadata.annotations["azure.workload.identity/tenant-id"]


def test_discovery_and_version(kube, snapshot_root, tmp_path):
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    kube.add_cluster("plain")
    api = _client(kube, tmp_path, "aks-demo")
    assert client.VersionApi(api).get_code().git_version == "v1.33.2"
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert "aadpodidentity.k8s.io" in groups and groups["apps"].preferred_version.version == "v1"
    res = client.CoreV1Api(api).get_api_resources()
    names = {r.name for r in res.resources}
    assert {"pods", "serviceaccounts", "serviceaccounts/token", "namespaces"} <= names
    apps = client.AppsV1Api(api).get_api_resources()
    assert {"deployments", "deployments/scale", "statefulsets", "daemonsets", "replicasets"} <= {
        r.name for r in apps.resources}
    # a cluster without the AAD Pod Identity CRDs answers 404 with the real Status body
    plain = _client(kube, tmp_path, "plain")
    assert "aadpodidentity.k8s.io" not in {g.name for g in client.ApisApi(plain).get_api_versions().groups}
    with pytest.raises(ApiException) as ei:
        client.CustomObjectsApi(plain).list_cluster_custom_object("aadpodidentity.k8s.io", "v1", "azureidentities")
    assert ei.value.status == 404
    body = json.loads(ei.value.body)
    assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "the server could not find the requested resource", "reason": "NotFound",
                    "details": {}, "code": 404}


def test_list_pagination_limit_continue_remaining(kube, tmp_path):
    c = kube.add_cluster("a")
    c.add_all(bulk_pods(25, namespace="load"))
    c.add_all(bulk_pods(3, namespace="other", prefix="o"))
    v1 = client.CoreV1Api(_client(kube, tmp_path, "a"))
    seen, token, pages, rvs = [], None, 0, set()
    while True:
        r = v1.list_pod_for_all_namespaces(limit=10, _continue=token)
        pages += 1
        seen += [p.metadata.name for p in r.items]
        rvs.add(r.metadata.resource_version)
        token = r.metadata._continue
        if not token:
            assert r.metadata.remaining_item_count is None
            break
        assert r.metadata.remaining_item_count == 28 - len(seen)
    assert pages == 3 and len(seen) == 28 and len(set(seen)) == 28
    assert len(rvs) == 1  # one consistent snapshot across pages
    # namespaced list + limit
    r = v1.list_namespaced_pod("other", limit=2)
    assert [p.metadata.name for p in r.items] == ["o-000000", "o-000001"] and r.metadata.remaining_item_count == 1
    r = v1.list_namespaced_pod("other", limit=2, _continue=r.metadata._continue)
    assert [p.metadata.name for p in r.items] == ["o-000002"] and r.metadata._continue is None


def test_continue_snapshot_is_consistent_while_objects_change(kube, tmp_path):
    c = kube.add_cluster("a")
    c.add_all(bulk_pods(6))
    v1 = client.CoreV1Api(_client(kube, tmp_path, "a"))
    first = v1.list_namespaced_pod("load", limit=3)
    c.add(bulk_pods(1, prefix="load-zz")[0])  # sorts after everything listed so far
    rest = v1.list_namespaced_pod("load", limit=3, _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items][-1] == "load-000005"
    assert rest.metadata.resource_version == first.metadata.resource_version
    assert len(v1.list_namespaced_pod("load").items) == 7


def test_continue_token_expires_with_the_clock_410(kube, clock, tmp_path):
    c = kube.add_cluster("a")
    c.add_all(bulk_pods(5))
    v1 = client.CoreV1Api(_client(kube, tmp_path, "a"))
    r = v1.list_namespaced_pod("load", limit=2)
    clock.advance(299)
    r2 = v1.list_namespaced_pod("load", limit=2, _continue=r.metadata._continue)  # still inside the window
    clock.advance(2)
    with pytest.raises(ApiException) as ei:
        v1.list_namespaced_pod("load", limit=2, _continue=r2.metadata._continue)
    assert ei.value.status == 410
    status = json.loads(ei.value.body)
    assert status["reason"] == "Expired" and status["message"].startswith("The provided continue parameter is too old")
    # the Status carries a token that resumes (inconsistently) from the latest snapshot
    resumed = v1.list_namespaced_pod("load", limit=10, _continue=status["metadata"]["continue"])
    assert [p.metadata.name for p in resumed.items] == ["load-000004"]


def test_resource_version_zero_ignores_limit(kube, tmp_path):
    c = kube.add_cluster("a")
    c.add_all(bulk_pods(7))
    v1 = client.CoreV1Api(_client(kube, tmp_path, "a"))
    r = v1.list_pod_for_all_namespaces(limit=2, resource_version="0")
    assert len(r.items) == 7 and r.metadata._continue is None


def test_label_and_field_selectors(kube, snapshot_root, tmp_path):
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    v1 = client.CoreV1Api(_client(kube, tmp_path, "aks-demo"))
    bound = v1.list_pod_for_all_namespaces(label_selector="aadpodidbinding")
    assert {p.metadata.labels["aadpodidbinding"] for p in bound.items} == {"demo", "legacy"}
    assert len(v1.list_pod_for_all_namespaces(label_selector="aadpodidbinding=demo,app=demo").items) == 2
    assert len(v1.list_pod_for_all_namespaces(label_selector="aadpodidbinding in (legacy)").items) == 1
    assert len(v1.list_pod_for_all_namespaces(label_selector="!aadpodidbinding").items) == 4
    assert len(v1.list_pod_for_all_namespaces(label_selector="aadpodidbinding,app notin (db)").items) == 3
    on0 = v1.list_pod_for_all_namespaces(field_selector="spec.nodeName=aks-nodepool1-12345678-vmss000000")
    assert on0.items and all(p.spec.node_name.endswith("vmss000000") for p in on0.items)
    assert [p.metadata.name for p in v1.list_namespaced_pod("demo", field_selector="metadata.name=db-1").items] == [
        "db-1"]
    with pytest.raises(ApiException) as ei:
        v1.list_pod_for_all_namespaces(field_selector="spec.bogus=1")
    assert ei.value.status == 400 and "field label not supported" in ei.value.body
    # with a selector, a limited page gets a continue token but no remainingItemCount
    r = v1.list_pod_for_all_namespaces(label_selector="aadpodidbinding", limit=1)
    assert r.metadata._continue and r.metadata.remaining_item_count is None


def test_gzip_above_128k_only_when_asked_and_raw_reads(kube, tmp_path):
    c = kube.add_cluster("a")
    c.add_all(bulk_pods(300, padding=600))
    v1 = client.CoreV1Api(_client(kube, tmp_path, "a"))
    raw = v1.list_namespaced_pod("load", _preload_content=False, _headers={"Accept-Encoding": "gzip"})
    assert raw.headers["Content-Encoding"] == "gzip"
    wire = raw.read(decode_content=False)
    assert wire[:2] == b"\x1f\x8b" and len(wire) < 128 * 1024
    # urllib3 decodes transparently for callers that read .data
    raw = v1.list_namespaced_pod("load", _preload_content=False, _headers={"Accept-Encoding": "gzip"})
    doc = json.loads(raw.data)
    assert doc["kind"] == "PodList" and len(doc["items"]) == 300 and "kind" not in doc["items"][0]
    plain = v1.list_namespaced_pod("load", _preload_content=False, _headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and len(plain.data) > 128 * 1024
    small = v1.list_namespaced_pod("load", limit=5, _preload_content=False, _headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers  # below the threshold
    # the typed client still works against gzip responses
    assert len(v1.list_namespaced_pod("load", _headers={"Accept-Encoding": "gzip"}).items) == 300


def test_get_and_custom_objects(kube, snapshot_root, tmp_path):
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    api = _client(kube, tmp_path, "aks-demo")
    dep = client.AppsV1Api(api).read_namespaced_deployment("demo", "demo")
    assert dep.kind == "Deployment" and dep.spec.template.metadata.labels["aadpodidbinding"] == "demo"
    with pytest.raises(ApiException) as ei:
        client.AppsV1Api(api).read_namespaced_deployment("nope", "demo")
    assert ei.value.status == 404 and json.loads(ei.value.body)["message"] == 'deployments.apps "nope" not found'
    co = client.CustomObjectsApi(api)
    b = co.get_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "demo", "azureidentitybindings",
                                        "demo-azure-id-binding")
    assert b["spec"]["selector"] == "demo"
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition("azureidentitybindings.aadpodidentity.k8s.io")
    assert crd.spec.names.kind == "AzureIdentityBinding"
    exc = co.list_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "flux-system", "azurepodidentityexceptions")
    assert [e["metadata"]["name"] for e in exc["items"]] == ["flux-extension-exception"]
    mwc = client.AdmissionregistrationV1Api(api).list_mutating_webhook_configuration()
    assert mwc.items[0].webhooks[0].object_selector.match_labels == {"azure.workload.identity/use": "true"}


def test_bearer_token_required(kube, tmp_path):
    kube.add_cluster("a")
    path = kube.write_kubeconfig(tmp_path / "kc", user_token={"a": "wrong"})
    api = config.new_client_from_config(config_file=path, context="a")
    with pytest.raises(ApiException) as ei:
        client.CoreV1Api(api).list_namespace()
    assert ei.value.status == 401
    good = kube.api_client("a")
    assert {n.metadata.name for n in client.CoreV1Api(good).list_namespace().items} >= {"default", "kube-system"}


def test_plain_http_and_port_per_cluster(clock, tmp_path):
    with KubeServer(clock, tls=False, port_per_cluster=True) as server:
        a = server.add_cluster("a", objects=[deployment("x", "web", 1)])
        b = server.add_cluster("b")
        assert a.url.startswith("http://127.0.0.1:") and a.url != b.url and "/clusters/" not in a.url
        kc = server.kubeconfig()
        assert "certificate-authority-data" not in kc["clusters"][0]["cluster"]
        api = config.new_client_from_config_dict(kc, context="a")
        assert [d.metadata.name for d in client.AppsV1Api(api).list_deployment_for_all_namespaces().items] == ["web"]
        assert server.requests[-1].cluster == "a"


def test_clusters_sharing_a_snapshot_are_copy_on_write(kube, snapshot_root, tmp_path):
    folder = os.path.join(snapshot_root, "aks-demo")
    for n in ("c1", "c2"):
        kube.add_cluster(n, folder)
    path = kube.write_kubeconfig(tmp_path / "kc")
    a1 = client.CoreV1Api(config.new_client_from_config(config_file=path, context="c1"))
    a2 = client.CoreV1Api(config.new_client_from_config(config_file=path, context="c2"))
    assert kube["c1"].tables[("", "pods")] is kube["c2"].tables[("", "pods")]
    a1.patch_namespaced_service_account("app-sa", "demo", {"metadata": {"annotations": {"k": "v"}}})
    assert a1.read_namespaced_service_account("app-sa", "demo").metadata.annotations == {"k": "v"}
    assert a2.read_namespaced_service_account("app-sa", "demo").metadata.annotations is None
    assert kube["c1"].tables[("", "pods")] is kube["c2"].tables[("", "pods")]
