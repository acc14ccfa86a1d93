"""The local Azure Resource Manager, driven by the Azure SDK clients."""

from __future__ import annotations

import base64
import os
import threading

import pytest
import yaml
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.core import ARMPipelineClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import FederatedIdentityCredential
from kubernetes import client as kclient
from kubernetes import config as kconfig

from testkit import Fault, error, latency, throttle
from testkit.arm_server import ArmServer
from testkit.credentials import StaticCredential
from testkit.synth import RG, SUB, identity, managed_cluster, write_snapshot

ISS = "https://eastus.oic.prod-aks.azure.com/tenant/issuer/"


def _fic(subject: str, issuer: str = ISS, audiences: list[str] | None = None) -> FederatedIdentityCredential:
    return FederatedIdentityCredential(issuer=issuer, subject=subject,
                                       audiences=audiences or ["api://AzureADTokenExchange"])


@pytest.fixture
def loaded(arm, kube, snapshot_root):  # type: ignore[no-untyped-def]
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    arm.load_snapshot(snapshot_root)
    return arm


@pytest.fixture
def msi(loaded):  # type: ignore[no-untyped-def]
    return ManagedServiceIdentityClient(StaticCredential(), SUB, retry_total=0, **loaded.client_kwargs())


def _raw(arm: ArmServer, path: str, method: str = "GET", body=None):  # type: ignore[no-untyped-def]
    """A raw ARM call through the azure-core pipeline (bearer policy, TLS verified against the test CA)."""
    pc = ARMPipelineClient(base_url=arm.url, policies=[BearerTokenCredentialPolicy(
        StaticCredential(), "https://management.azure.com/.default")], connection_verify=arm.ca_path)
    req = HttpRequest(method, arm.url + path, json=body)
    resp = pc.send_request(req)
    return resp


def test_identities_and_federated_credentials_crud(msi, loaded):
    ids = list(msi.user_assigned_identities.list_by_subscription())
    assert sorted(i.name for i in ids) == ["demo-aad1", "legacy-id"]
    assert [i.name for i in msi.user_assigned_identities.list_by_resource_group(RG)] == ["demo-aad1", "legacy-id"]
    got = msi.user_assigned_identities.get(RG, "demo-aad1")
    assert got.client_id == identity("demo-aad1")["properties"]["clientId"] and got.tenant_id
    made = msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", "aks-demo-demo-app-sa",
                                                               _fic("system:serviceaccount:demo:app-sa"))
    assert made.id.endswith("/federatedIdentityCredentials/aks-demo-demo-app-sa") and made.issuer == ISS
    again = msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", "aks-demo-demo-app-sa",
                                                                _fic("system:serviceaccount:demo:app-sa2"))
    assert again.subject.endswith("app-sa2")
    statuses = [r.status for r in loaded.requests if r.operation == "fic.put"]
    assert statuses == [201, 200]
    assert msi.federated_identity_credentials.get(RG, "demo-aad1", "aks-demo-demo-app-sa").subject.endswith("sa2")
    for i in range(5):
        msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", f"f{i:02d}",
                                                            _fic(f"system:serviceaccount:ns:sa{i}"))
    loaded.page_size = 2
    names = [f.name for f in msi.federated_identity_credentials.list(RG, "demo-aad1")]
    assert len(names) == 6 and names[0] == "aks-demo-demo-app-sa"
    assert len([r for r in loaded.requests if r.path.endswith("federatedIdentityCredentials")]) == 3  # nextLink paging
    msi.federated_identity_credentials.delete(RG, "demo-aad1", "f00")
    msi.federated_identity_credentials.delete(RG, "demo-aad1", "f00")  # 204 when already gone
    with pytest.raises(ResourceNotFoundError):
        msi.federated_identity_credentials.get(RG, "demo-aad1", "f00")


def test_fic_rules_limit_uniqueness_validation(msi, loaded):
    for i in range(20):
        msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", f"fic{i:02d}",
                                                            _fic(f"system:serviceaccount:ns:sa{i}"))
    with pytest.raises(HttpResponseError) as ei:
        msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", "fic20", _fic("system:serviceaccount:x:y"))
    assert ei.value.status_code == 400 and "maximum number of Federated Identity Credentials" in ei.value.message
    # updating one of the 20 is still fine
    msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", "fic00", _fic("system:serviceaccount:ns:z"))
    with pytest.raises(HttpResponseError) as ei:
        msi.federated_identity_credentials.create_or_update(RG, "legacy-id", "aa1", _fic("system:serviceaccount:a:b"))
        msi.federated_identity_credentials.create_or_update(RG, "legacy-id", "aa2", _fic("system:serviceaccount:a:b"))
    assert ei.value.status_code == 400
    assert "Issuer and subject combination already exists for this Managed Identity" in ei.value.message
    bad = [("-bad", _fic("s:a:b")), ("ab", _fic("s:a:c")), ("ok-name", _fic("s:a:d", audiences=["a", "b"])),
           ("ok-name2", FederatedIdentityCredential())]
    for name, body in bad:
        with pytest.raises(HttpResponseError) as ei:
            msi.federated_identity_credentials.create_or_update(RG, "legacy-id", name, body)
        assert ei.value.status_code == 400, name
    with pytest.raises(HttpResponseError) as ei:
        msi.federated_identity_credentials.create_or_update(RG, "no-such-identity", "x1", _fic("s:a:e"))
    assert ei.value.status_code == 404 and "parent user-assigned identity" in ei.value.message


def test_concurrent_writes_on_one_identity_conflict(loaded):
    loaded.fic_write_seconds = 0.5  # each write stays in flight this long (real time)
    msi = ManagedServiceIdentityClient(StaticCredential(), SUB, retry_total=0, **loaded.client_kwargs())
    msi.user_assigned_identities.get(RG, "demo-aad1")  # warm up: TLS session, token
    results: dict[str, object] = {}
    start = threading.Barrier(3)

    def put(identity_name: str, name: str) -> None:
        start.wait()
        try:
            results[name] = msi.federated_identity_credentials.create_or_update(
                RG, identity_name, name, _fic(f"system:serviceaccount:ns:{name}"))
        except HttpResponseError as exc:
            results[name] = exc

    threads = [threading.Thread(target=put, args=("demo-aad1", "one")),
               threading.Thread(target=put, args=("demo-aad1", "two")),
               threading.Thread(target=put, args=("legacy-id", "three"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [n for n in ("one", "two") if isinstance(results[n], HttpResponseError)]
    assert len(errors) == 1  # one of the two overlapping writes on demo-aad1 lost
    err = results[errors[0]]
    assert err.status_code == 409  # type: ignore[union-attr]
    assert err.error.code == "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"  # type: ignore
    assert not isinstance(results["three"], Exception)  # other identities may be written in parallel
    winner = ({"one", "two"} - set(errors)).pop()
    assert [f["name"] for f in loaded.fic_list(identity("demo-aad1")["id"])] == [winner]


def test_managed_clusters_get_list_and_user_credentials(loaded, kube):
    cs = ContainerServiceClient(StaticCredential(), SUB, **loaded.client_kwargs())
    mc = cs.managed_clusters.get(RG, "aks-demo")
    assert mc.oidc_issuer_profile.issuer_url == kube["aks-demo"].issuer
    assert mc.pod_identity_profile.enabled is True
    assert mc.pod_identity_profile.user_assigned_identities[0].identity.client_id == \
        identity("demo-aad1")["properties"]["clientId"]
    assert [m.name for m in cs.managed_clusters.list()] == ["aks-demo"]
    assert [m.name for m in cs.managed_clusters.list_by_resource_group(RG)] == ["aks-demo"]
    with pytest.raises(ResourceNotFoundError):
        cs.managed_clusters.get(RG, "nope")
    creds = cs.managed_clusters.list_cluster_user_credentials(RG, "aks-demo")
    raw = creds.kubeconfigs[0].value
    kc = yaml.safe_load(raw if isinstance(raw, (bytes, str)) else base64.b64decode(raw))
    api = kconfig.new_client_from_config_dict(kc, context="aks-demo")
    assert kclient.CoreV1Api(api).read_namespace("demo").metadata.name == "demo"
    loaded.log.assert_no_writes()  # POST listClusterUserCredential is a read


def test_cli_shaped_managed_cluster_is_served_in_rest_shape(arm, tmp_path):
    root = str(tmp_path / "snap")
    write_snapshot(root, "cli-cluster", cli_shape=True)
    arm.load_snapshot(root)
    cs = ContainerServiceClient(StaticCredential(), SUB, **arm.client_kwargs())
    mc = cs.managed_clusters.get(RG, "cli-cluster")
    assert mc["properties"]["oidcIssuerProfile"]["issuerURL"].startswith("https://eastus.oic.prod-aks.azure.com/")
    assert mc.enable_rbac is True and "resourceGroup" not in mc


def test_role_assignments_and_scale_sets_raw(loaded):
    scope = identity("demo-aad1")["id"]
    sub_scope = f"/subscriptions/{SUB}"
    pid = identity("demo-aad1")["properties"]["principalId"]
    loaded.add_role_assignment(scope=sub_scope + f"/resourceGroups/{RG}", principal_id=pid,
                               role_definition_id=f"{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/r1")
    loaded.add_role_assignment(scope=sub_scope + "/resourceGroups/other", principal_id="someone-else",
                               role_definition_id=f"{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/r2")
    r = _raw(loaded, f"{sub_scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
                     f"&$filter=principalId eq '{pid}'")
    assert r.status_code == 200 and [a["properties"]["principalId"] for a in r.json()["value"]] == [pid]
    r = _raw(loaded, f"{scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
                     "&$filter=atScope()")
    assert [a["properties"]["scope"] for a in r.json()["value"]] == [sub_scope + f"/resourceGroups/{RG}"]
    put = _raw(loaded, f"{scope}/providers/Microsoft.Authorization/roleAssignments/new-ra?api-version=2022-04-01",
               "PUT", {"properties": {"roleDefinitionId": "rd", "principalId": "p2"}})
    assert put.status_code == 201
    node_rg = loaded.managed_clusters[next(iter(loaded.managed_clusters))]["properties"]["nodeResourceGroup"]
    v = _raw(loaded, f"{sub_scope}/resourceGroups/{node_rg}/providers/Microsoft.Compute/virtualMachineScaleSets"
                     "?api-version=2024-07-01")
    vm = v.json()["value"]
    assert [x["name"] for x in vm] == ["aks-nodepool1-12345678-vmss"]
    assert identity("demo-aad1")["id"] in vm[0]["identity"]["userAssignedIdentities"]
    one = _raw(loaded, vm[0]["id"] + "?api-version=2024-07-01")
    assert one.json()["sku"]["capacity"] == 3
    assert _raw(loaded, f"{sub_scope}/resourceGroups/{RG}/providers/X.Y/z?api-version=1").status_code == 404
    assert _raw(loaded, vm[0]["id"]).json()["error"]["code"] == "MissingApiVersionParameter"


def test_subscription_token_bucket_headers_and_429(loaded, clock):
    loaded.set_throttle(reads=(3, 1.0))
    msi = ManagedServiceIdentityClient(StaticCredential(), SUB, retry_total=0, **loaded.client_kwargs())
    seen = []
    for _ in range(3):
        msi.user_assigned_identities.get(RG, "demo-aad1", cls=lambda pr, d, h: seen.append(
            pr.http_response.headers["x-ms-ratelimit-remaining-subscription-reads"]))
    assert seen == ["2", "1", "0"]
    with pytest.raises(HttpResponseError) as ei:
        msi.user_assigned_identities.get(RG, "demo-aad1")
    e = ei.value
    assert e.status_code == 429 and e.response.headers["Retry-After"] == "1"
    assert e.error.code == "SubscriptionRequestsThrottled"
    clock.advance(1.0)  # buckets refill on the injected clock
    msi.user_assigned_identities.get(RG, "demo-aad1")
    # writes have their own bucket
    msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", "ww1", _fic("system:serviceaccount:a:w"))
    assert loaded.requests[-1].status == 201


def test_sdk_retry_policy_retries_injected_429_by_itself(loaded):
    """Pin: azure-core's RetryPolicy retries 429/500 (sleeping Retry-After in real time) unless the
    client is built with retry_total=0 — tests of the product's own backoff must turn it off."""
    loaded.faults.add(throttle(retry_after=0, times=1, service="arm"))
    loaded.faults.add(error(500, times=1, service="arm", operation="fic.get"))
    msi = ManagedServiceIdentityClient(StaticCredential(), SUB, retry_backoff_factor=0, **loaded.client_kwargs())
    assert msi.user_assigned_identities.get(RG, "demo-aad1").name == "demo-aad1"
    assert [r.status for r in loaded.requests] == [429, 200]
    with pytest.raises(ResourceNotFoundError):
        msi.federated_identity_credentials.get(RG, "demo-aad1", "nope")
    assert [r.status for r in loaded.requests][-2:] == [500, 404]


def test_faults_on_arm(loaded):
    loaded.faults.add(Fault(status=409, operation="fic.put", times=1))
    loaded.faults.add(latency(0.2, operation="fic.put"))
    msi = ManagedServiceIdentityClient(StaticCredential(), SUB, retry_total=0, **loaded.client_kwargs())
    with pytest.raises(HttpResponseError) as ei:
        msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", "xx1", _fic("system:serviceaccount:a:x"))
    assert ei.value.error.code == "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
    msi.federated_identity_credentials.create_or_update(RG, "demo-aad1", "xx1", _fic("system:serviceaccount:a:x"))
    puts = [r for r in loaded.requests if r.operation == "fic.put"]
    assert [r.status for r in puts] == [409, 201] and all(r.duration >= 0.2 for r in puts) and all(
        r.mutating for r in puts)


def test_authentication_required(loaded):
    msi = ManagedServiceIdentityClient(StaticCredential("not-a-valid-token"), SUB, retry_total=0,
                                       **loaded.client_kwargs())
    with pytest.raises(ClientAuthenticationError):
        list(msi.user_assigned_identities.list_by_subscription())
    assert loaded.requests[-1].status == 401


def test_resource_graph_paged_with_quota_headers(loaded, clock):
    for i in range(5):
        loaded.add_managed_cluster(managed_cluster(f"extra-{i}", sub="11111111-1111-1111-1111-111111111111"))
    q = ("Resources | where type =~ 'Microsoft.ContainerService/managedClusters' "
         "| where properties.oidcIssuerProfile.enabled == true "
         "| project name, subscriptionId, issuer = properties.oidcIssuerProfile.issuerURL | order by name asc")

    def query(body):  # type: ignore[no-untyped-def]
        return _raw(loaded, "/providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01", "POST", body)

    r = query({"query": q, "options": {"$top": 4}})
    doc = r.json()
    assert r.status_code == 200 and doc["totalRecords"] == 6 and doc["count"] == 4
    assert [d["name"] for d in doc["data"]] == ["aks-demo", "extra-0", "extra-1", "extra-2"]
    assert set(doc["data"][0]) == {"name", "subscriptionId", "issuer"}
    assert r.headers["x-ms-user-quota-remaining"] == "14" and r.headers["x-ms-user-quota-resets-after"] == "00:00:05"
    r2 = query({"query": q, "options": {"$top": 4, "$skipToken": doc["$skipToken"]}})
    assert [d["name"] for d in r2.json()["data"]] == ["extra-3", "extra-4"] and "$skipToken" not in r2.json()
    only = query({"query": q, "subscriptions": [SUB]}).json()
    assert only["totalRecords"] == 1
    assert query({"query": "Resources | summarize count() by type"}).status_code == 400
    for _ in range(11):
        query({"query": "Resources | count"})
    throttled = query({"query": "Resources | count"})
    assert throttled.status_code == 429 and throttled.headers["x-ms-user-quota-remaining"] == "0"
    clock.advance(5)
    assert query({"query": "Resources | count"}).json()["data"] == [{"Count": 9}]  # 6 clusters, 2 ids, 1 VMSS


def test_denied_subscription_management_groups_and_partial_graph_rows(loaded):
    other = "22222222-2222-2222-2222-222222222222"
    extra = loaded.add_managed_cluster(managed_cluster("hidden", sub=other))
    loaded.add_subscription("33333333-3333-3333-3333-333333333333", "empty-sub")
    loaded.add_management_group("mg-platform", [SUB, other])

    def query(body):  # type: ignore[no-untyped-def]
        return _raw(loaded, "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", "POST", body)

    subs_q = "ResourceContainers | where type =~ 'microsoft.resources/subscriptions' | project subscriptionId, name"
    assert [r["subscriptionId"] for r in query({"query": subs_q}).json()["data"]] == [
        SUB, other, "33333333-3333-3333-3333-333333333333"]
    mc_q = "Resources | where type =~ 'microsoft.containerservice/managedclusters' | project name, props = properties"
    by_mg = query({"query": mc_q, "managementGroups": ["mg-platform"]}).json()["data"]
    assert sorted(r["name"] for r in by_mg) == ["aks-demo", "hidden"]
    assert query({"query": mc_q, "managementGroups": ["mg-unknown"]}).status_code == 403
    # Resource Graph without the properties of one cluster; ARM still serves them whole
    loaded.set_graph_partial(extra["id"])
    assert [r["props"] for r in query({"query": mc_q, "subscriptions": [other]}).json()["data"]] == [{}]
    cs = ContainerServiceClient(StaticCredential(), other, retry_total=0, **loaded.client_kwargs())
    assert cs.managed_clusters.get(RG, "hidden").kubernetes_version
    # a subscription the caller cannot read: ARM 403, Resource Graph trims (or forbids) it
    loaded.deny_subscription(other)
    with pytest.raises(HttpResponseError) as info:
        list(cs.managed_clusters.list())
    assert info.value.status_code == 403 and info.value.error.code == "AuthorizationFailed"
    assert "'Microsoft.ContainerService/managedClusters/read' over scope '/subscriptions/" + other in str(info.value)
    trimmed = query({"query": mc_q, "subscriptions": [SUB, other]})
    assert trimmed.status_code == 200 and [r["name"] for r in trimmed.json()["data"]] == ["aks-demo"]
    assert other not in [r["subscriptionId"] for r in query({"query": subs_q}).json()["data"]]
    loaded.graph_denied = "forbid"
    forbidden_answer = query({"query": mc_q, "subscriptions": [SUB, other]})
    assert forbidden_answer.status_code == 403 and forbidden_answer.json()["error"]["code"] == "AccessDenied"
    assert "x-ms-user-quota-remaining" in forbidden_answer.headers
    assert query({"query": mc_q, "subscriptions": [SUB]}).status_code == 200
