"""Unit tests for the servers' building blocks: patches, selectors, KQL, snapshots, fleet, HTTP core."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl

import pytest
from kubernetes import client

from testkit import ArmServer, KubeServer, load_fleet, managed_cluster_to_rest
from testkit.arm_graph import KqlError, run_query
from testkit.kube_controllers import template_hash
from testkit.kube_patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from testkit.kube_selectors import SelectorError, parse_field_selector, parse_label_selector
from testkit.snapshot import load_azure, load_cluster
from testkit.synth import SUB, managed_cluster, write_fleet, write_snapshot


def test_json_merge_patch():
    assert json_merge_patch({"a": 1, "b": {"c": 1, "d": 2}, "l": [1]}, {"b": {"c": None, "e": 3}, "l": [2]}) == \
        {"a": 1, "b": {"d": 2, "e": 3}, "l": [2]}


def test_strategic_merge_patch_lists_and_directives():
    pod = {"spec": {"containers": [{"name": "a", "image": "x", "env": [{"name": "E1", "value": "1"}]},
                                   {"name": "b", "image": "y"}],
                    "volumes": [{"name": "v1"}, {"name": "v2"}], "tolerations": [{"key": "k"}]},
           "metadata": {"finalizers": ["f1"], "labels": {"x": "1"}}}
    out = strategic_merge_patch(pod, {
        "spec": {"containers": [{"name": "a", "env": [{"name": "E2", "value": "2"}]}, {"name": "b", "$patch": "delete"},
                                {"name": "c", "image": "z"}],
                 "volumes": [{"name": "v2", "$patch": "delete"}], "tolerations": [{"key": "new"}]},
        "metadata": {"finalizers": ["f2"], "labels": {"x": None, "y": "2"}}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["a", "c"]
    assert out["spec"]["containers"][0] == {"name": "a", "image": "x", "env": [{"name": "E1", "value": "1"},
                                                                               {"name": "E2", "value": "2"}]}
    assert out["spec"]["volumes"] == [{"name": "v1"}]
    assert out["spec"]["tolerations"] == [{"key": "new"}]  # no merge key: replaced
    assert out["metadata"] == {"finalizers": ["f1", "f2"], "labels": {"y": "2"}}
    assert strategic_merge_patch({"m": {"a": 1, "b": 2}}, {"m": {"$patch": "replace", "c": 3}}) == {"m": {"c": 3}}
    assert strategic_merge_patch({"m": {"a": 1, "b": 2}}, {"m": {"$retainKeys": ["a"], "a": 5}}) == {"m": {"a": 5}}
    assert strategic_merge_patch({"f": ["a", "b"]}, {"$deleteFromPrimitiveList/f": ["a"]}) == {"f": ["b"]}
    # the original is never mutated
    assert [c["name"] for c in pod["spec"]["containers"]] == ["a", "b"]


def test_json_patch_ops_and_errors():
    doc = {"a": {"b": [1, 2]}, "c": "x"}
    out = json_patch(doc, [{"op": "add", "path": "/a/b/-", "value": 3}, {"op": "replace", "path": "/c", "value": "y"},
                           {"op": "move", "from": "/c", "path": "/d"}, {"op": "copy", "from": "/d", "path": "/e"},
                           {"op": "remove", "path": "/a/b/0"}, {"op": "test", "path": "/e", "value": "y"},
                           {"op": "add", "path": "/k~1x", "value": 1}])
    assert out == {"a": {"b": [2, 3]}, "d": "y", "e": "y", "k/x": 1}
    assert doc == {"a": {"b": [1, 2]}, "c": "x"}
    for ops in ([{"op": "remove", "path": "/nope"}], [{"op": "test", "path": "/c", "value": "z"}],
                [{"op": "replace", "path": "/q", "value": 1}], {"op": "add"}):
        with pytest.raises(PatchError):
            json_patch(doc, ops)


def test_label_and_field_selector_parsing():
    m = parse_label_selector("a=1,b!=2,c in (x, y),d notin (z),e,!f")
    assert m({"a": "1", "c": "x", "e": ""})
    assert not m({"a": "1", "c": "x", "e": "", "f": "1"})
    assert not m({"a": "1", "b": "2", "c": "x", "e": ""})
    assert parse_label_selector("a==1")({"a": "1"}) and parse_label_selector("")({})
    with pytest.raises(SelectorError):
        parse_label_selector("a in x")
    f = parse_field_selector("status.phase=Running,spec.nodeName!=n1", "pods")
    assert f({"status": {"phase": "Running"}, "spec": {"nodeName": "n2"}})
    with pytest.raises(SelectorError):
        parse_field_selector("spec.replicas=1", "deployments")


def test_kql_subset():
    rows = [{"id": "/x/1", "name": "b", "type": "microsoft.containerservice/managedclusters",
             "properties": {"oidcIssuerProfile": {"enabled": True, "issuerURL": "https://i/1"}}, "tags": {"env": "p"}},
            {"id": "/x/2", "name": "a", "type": "microsoft.managedidentity/userassignedidentities",
             "properties": {"clientId": "c"}, "tags": {}}]
    t = {"resources": rows}
    out = run_query("Resources | where type =~ 'Microsoft.ContainerService/managedClusters' and "
                    "isnotempty(properties.oidcIssuerProfile.issuerURL) | project name, "
                    "properties.oidcIssuerProfile.issuerURL, env = tags['env']", t)
    assert out == [{"name": "b", "properties_oidcIssuerProfile_issuerURL": "https://i/1", "env": "p"}]
    assert [r["name"] for r in run_query("resources | order by name asc", t)] == ["a", "b"]
    assert [r["name"] for r in run_query("Resources | sort by name | take 1", t)] == ["b"]
    assert run_query("Resources | where name in~ ('A') or tags.env == 'nope' | count", t) == [{"Count": 1}]
    assert run_query("Resources | where not(name startswith 'b') | extend n2 = strcat(name, '!') | project n2",
                     t) == [{"n2": "a!"}]
    assert len(run_query("Resources | where name !contains 'z' and type has 'microsoft'", t)) == 2
    for bad in ("Nope | take 1", "Resources | summarize count() by type", "Resources | where (("):
        with pytest.raises(KqlError):
            run_query(bad, t)


def test_snapshot_loading_shapes(tmp_path):
    root = str(tmp_path)
    write_snapshot(root, "c1", raw_plurals=("pods", "deployments"), bare_arrays=True, cli_shape=True)
    snap = load_cluster(os.path.join(root, "c1"))
    assert snap.name == "c1" and snap.issuer and snap.issuer.endswith("/")
    assert all(p["kind"] == "Pod" and p["apiVersion"] == "v1" for p in snap.kube["pods"])  # filled in on load
    assert snap.vmss[0]["name"] == "aks-nodepool1-12345678-vmss"
    az = load_azure(root)
    assert [i["name"] for i in az.identities] == ["demo-aad1", "legacy-id"]
    rest = managed_cluster_to_rest(snap.managed_cluster)
    assert rest["properties"]["oidcIssuerProfile"]["issuerURL"] == snap.issuer
    assert rest["properties"]["enableRBAC"] is True and "resourceGroup" not in rest
    assert managed_cluster_to_rest(managed_cluster("x")) == managed_cluster("x")
    assert template_hash({"a": 1}) == template_hash({"a": 1}) != template_hash({"a": 2})


def test_custom_kinds_without_crd_file_are_served_in_the_versions_seen(clock, tmp_path):
    root = str(tmp_path)
    spc = {"apiVersion": "secrets-store.csi.x-k8s.io/v1alpha1", "kind": "SecretProviderClass",
           "metadata": {"name": "kv", "namespace": "demo"}, "spec": {"provider": "azure", "parameters": {
               "usePodIdentity": "true", "keyvaultName": "kv1"}}}
    write_snapshot(root, "c", objects={"secretproviderclasses": [spc], "triggerauthentications": []})
    with KubeServer(clock) as kube:
        kube.add_cluster("c", os.path.join(root, "c"))
        co = client.CustomObjectsApi(kube.api_client("c"))
        for version in ("v1", "v1alpha1"):
            got = co.list_namespaced_custom_object("secrets-store.csi.x-k8s.io", version, "demo",
                                                   "secretproviderclasses")
            assert [i["spec"]["parameters"]["usePodIdentity"] for i in got["items"]] == ["true"]
        assert co.list_cluster_custom_object("keda.sh", "v1alpha1", "triggerauthentications")["items"] == []
        assert kube["c"].get("namespaces", None, "demo") is not None  # namespaces implied by objects exist


def test_in_memory_profile_is_shared_by_many_clusters(clock):
    from testkit.snapshot import ClusterSnapshot
    from testkit.synth import bulk_pods

    profile = ClusterSnapshot("profile", "mem:bulk", None, {"pods": bulk_pods(2000)}, [])
    with KubeServer(clock, record_requests=False) as kube:
        for i in range(200):
            kube.add_cluster(f"c{i:03d}", profile)
        assert kube["c000"].tables[("", "pods")] is kube["c199"].tables[("", "pods")]
        r = client.CoreV1Api(kube.api_client("c150")).list_pod_for_all_namespaces(limit=50)
        assert len(r.items) == 50 and r.metadata.remaining_item_count == 1950


def test_fleet_yaml_drives_both_servers(clock, tmp_path):
    root = str(tmp_path / "snap")
    write_snapshot(root, "profile-small")
    fleet = write_fleet(str(tmp_path / "fleet.yaml"), [
        {"name": f"aks-{i}", "region": "westeurope", "subscriptionId": SUB if i < 2 else "sub-2",
         "resourceGroup": f"rg-{i}", "group": "wave-1", "snapshot": "snap/profile-small"} for i in range(3)])
    entries = load_fleet(fleet)
    assert [e.name for e in entries] == ["aks-0", "aks-1", "aks-2"] and entries[0].root == root
    with KubeServer(clock) as kube, ArmServer(clock, pki=kube.pki, kube=kube) as arm:
        kube.add_fleet(fleet)
        arm.load_fleet(fleet)
        assert set(kube.clusters) == {"aks-0", "aks-1", "aks-2"}
        tables = [kube[n].tables[("", "pods")] for n in kube.clusters]
        assert tables[0] is tables[1] is tables[2]  # one profile, shared copy-on-write
        ids = sorted(arm.managed_clusters)
        assert ids[0] == f"/subscriptions/{SUB}/resourcegroups/rg-0/providers/microsoft.containerservice/" \
                         "managedclusters/aks-0"
        assert all(mc["location"] == "westeurope" for mc in arm.managed_clusters.values())
        v1 = client.CoreV1Api(kube.api_client("aks-2"))
        assert len(v1.list_pod_for_all_namespaces().items) == 9


def _raw_request(url: str, data: bytes, ctx: ssl.SSLContext | None) -> bytes:
    host, port = url.split("//")[1].split(":")
    s = socket.create_connection((host, int(port)))
    if ctx:
        s = ctx.wrap_socket(s, server_hostname=host)
    s.sendall(data)
    out = b""
    while True:  # read one response: the head, then Content-Length bytes (or until the server closes)
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
        head, sep, body = out.partition(b"\r\n\r\n")
        lengths = [int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length")]
        if sep and lengths and len(body) >= lengths[0]:
            break
    s.close()
    return out


def test_http_core_chunked_bodies_and_keep_alive(clock):
    with KubeServer(clock) as kube:
        c = kube.add_cluster("a")
        body = json.dumps({"metadata": {"name": "chunky"}}).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
        req = (f"POST /clusters/a/api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {c.token}\r\nContent-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode() + chunks + b"0\r\n\r\n"
        resp = _raw_request(kube.url, req, kube.pki.client_context())
        assert resp.startswith(b"HTTP/1.1 201 Created") and b'"name":"chunky"' in resp
        assert c.get("configmaps", "default", "chunky") is not None
        # a garbage request line gets a 400 and a closed connection
        assert _raw_request(kube.url, b"NONSENSE\r\n\r\n", kube.pki.client_context()).startswith(b"HTTP/1.1 400")
        # many requests over one keep-alive connection (urllib3 pool)
        v1 = client.CoreV1Api(kube.api_client("a"))
        for _ in range(20):
            v1.read_namespaced_config_map("chunky", "default")
        assert len({r.raw_path for r in kube.requests}) >= 2


def test_async_sdk_client_against_arm(clock):
    from azure.mgmt.msi.aio import ManagedServiceIdentityClient

    from testkit.credentials import AsyncStaticCredential

    with ArmServer(clock) as arm:
        arm.add_identity(subscription_id=SUB, resource_group="rg", name="async-id")

        async def go() -> list[str]:
            async with ManagedServiceIdentityClient(AsyncStaticCredential(), SUB, **arm.client_kwargs()) as msi:
                return [i.name async for i in msi.user_assigned_identities.list_by_subscription()]

        assert asyncio.run(go()) == ["async-id"]


EXAMPLE_FLEET = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "examples", "fleet.yaml")


def test_the_example_fleet_is_served(clock):
    from azure.mgmt.containerservice import ContainerServiceClient

    from testkit import StaticCredential
    from testkit.snapshot import issuer_of, list_items, read_json

    entries = load_fleet(EXAMPLE_FLEET)
    with KubeServer(clock) as kube, ArmServer(clock, pki=kube.pki, kube=kube) as arm:
        kube.add_fleet(EXAMPLE_FLEET)
        arm.load_fleet(EXAMPLE_FLEET)
        for e in entries:
            pods_file = os.path.join(e.snapshot, "kube", "pods.json")
            want = len(list_items(read_json(pods_file))) if os.path.exists(pods_file) else 0
            got = client.CoreV1Api(kube.api_client(e.name)).list_pod_for_all_namespaces(limit=20)
            n, token = len(got.items), got.metadata._continue
            while token:
                page = client.CoreV1Api(kube.api_client(e.name)).list_pod_for_all_namespaces(limit=20, _continue=token)
                n, token = n + len(page.items), page.metadata._continue
            assert n == want, e.name
            cs = ContainerServiceClient(StaticCredential(), e.subscription_id, **arm.client_kwargs())
            mc = cs.managed_clusters.get(e.resource_group, e.name)
            issuer = issuer_of(read_json(os.path.join(e.snapshot, "managedcluster.json")))
            assert (mc.oidc_issuer_profile.issuer_url if mc.oidc_issuer_profile else None) == issuer
            if issuer:
                assert kube[e.name].issuer == issuer
