"""The local Kubernetes server, write side, driven by the official ``kubernetes`` client."""

from __future__ import annotations

import json
import os

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from testkit.tokens import decode_unverified, verify


def _cm(name: str, ns: str | None = None, **data: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, namespace=ns), data=data or {"k": "v"})


@pytest.fixture
def api(kube, snapshot_root):  # type: ignore[no-untyped-def]
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    return kube.api_client("aks-demo")


def test_create_409_already_exists_and_namespace_must_exist(api, kube):
    v1 = client.CoreV1Api(api)
    made = v1.create_namespaced_config_map("demo", _cm("settings"))
    assert made.metadata.uid and made.metadata.resource_version and made.metadata.creation_timestamp
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_config_map("demo", _cm("settings"))
    assert ei.value.status == 409
    body = json.loads(ei.value.body)
    assert body["reason"] == "AlreadyExists" and body["message"] == 'configmaps "settings" already exists'
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_config_map("no-such-ns", _cm("x", "no-such-ns"))
    assert ei.value.status == 404 and json.loads(ei.value.body)["message"] == 'namespaces "no-such-ns" not found'
    gen = v1.create_namespaced_config_map("demo", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(generate_name="gen-"), data={}))
    assert gen.metadata.name.startswith("gen-") and len(gen.metadata.name) == 9
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_config_map("demo", _cm("Bad_Name"))
    assert ei.value.status == 422 and json.loads(ei.value.body)["reason"] == "Invalid"


def test_put_conflicts_on_stale_resource_version(api):
    v1 = client.CoreV1Api(api)
    cm = v1.create_namespaced_config_map("demo", _cm("c"))
    cm.data = {"k": "v2"}
    updated = v1.replace_namespaced_config_map("c", "demo", cm)
    assert updated.data == {"k": "v2"}
    assert int(updated.metadata.resource_version) > int(cm.metadata.resource_version)
    cm.data = {"k": "v3"}  # still carries the old resourceVersion
    with pytest.raises(ApiException) as ei:
        v1.replace_namespaced_config_map("c", "demo", cm)
    assert ei.value.status == 409
    assert json.loads(ei.value.body)["message"] == (
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes '
        "to the latest version and try again")
    # deployments: generation moves with the spec, not with metadata
    apps = client.AppsV1Api(api)
    d = apps.read_namespaced_deployment("demo", "demo")
    g0 = d.metadata.generation
    d.metadata.labels["team"] = "x"
    d = apps.replace_namespaced_deployment("demo", "demo", d)
    assert d.metadata.generation == g0
    d.spec.template.spec.containers[0].image = "myregistry.azurecr.io/app:2.0.0"
    d = apps.replace_namespaced_deployment("demo", "demo", d)
    assert d.metadata.generation == g0 + 1


def test_patch_merge_strategic_and_json_patch(api):
    apps = client.AppsV1Api(api)
    # the client sends a dict body as strategic merge: containers merge by name, env by name
    apps.patch_namespaced_deployment("demo", "demo", {"spec": {"template": {
        "metadata": {"labels": {"azure.workload.identity/use": "true", "aadpodidbinding": None}},
        "spec": {"containers": [{"name": "app", "env": [{"name": "A", "value": "1"}]},
                                {"name": "sidecar", "image": "busybox"}]}}}})
    d = apps.read_namespaced_deployment("demo", "demo")
    labels = d.spec.template.metadata.labels
    assert labels["azure.workload.identity/use"] == "true" and "aadpodidbinding" not in labels
    assert [c.name for c in d.spec.template.spec.containers] == ["app", "sidecar"]
    assert d.spec.template.spec.containers[0].image == "myregistry.azurecr.io/app:1.0.0"  # merged, not replaced
    # JSON merge patch replaces lists
    apps.patch_namespaced_deployment("demo", "demo", {"spec": {"template": {"spec": {"containers": [
        {"name": "only", "image": "x"}]}}}}, _content_type="application/merge-patch+json")
    assert [c.name for c in apps.read_namespaced_deployment("demo", "demo").spec.template.spec.containers] == ["only"]
    # RFC 6902 JSON patch (a list body keeps the json-patch content type)
    v1 = client.CoreV1Api(api)
    v1.patch_namespaced_service_account("app-sa", "demo", [
        {"op": "add", "path": "/metadata/annotations", "value": {}},
        {"op": "add", "path": "/metadata/annotations/azure.workload.identity~1client-id", "value": "cid"}])
    sa = v1.read_namespaced_service_account("app-sa", "demo")
    assert sa.metadata.annotations == {"azure.workload.identity/client-id": "cid"}
    with pytest.raises(ApiException) as ei:
        v1.patch_namespaced_service_account("app-sa", "demo", [{"op": "test", "path": "/metadata/name",
                                                                 "value": "other"}])
    assert ei.value.status == 422
    # a patch naming a stale resourceVersion is a precondition failure
    with pytest.raises(ApiException) as ei:
        v1.patch_namespaced_service_account("app-sa", "demo", {"metadata": {"resourceVersion": "1",
                                                                            "labels": {"a": "b"}}})
    assert ei.value.status == 409


def test_custom_objects_patch_and_strategic_merge_415(api):
    co = client.CustomObjectsApi(api)
    co.patch_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "demo", "azureidentitybindings",
                                      "demo-azure-id-binding", {"spec": {"selector": "demo-v2"}})
    got = co.get_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "demo", "azureidentitybindings",
                                          "demo-azure-id-binding")
    assert got["spec"] == {"azureIdentity": "demo-aad1", "selector": "demo-v2"}
    with pytest.raises(ApiException) as ei:
        co.patch_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "demo", "azureidentitybindings",
                                          "demo-azure-id-binding", {"spec": {"selector": "x"}},
                                          _content_type="application/strategic-merge-patch+json")
    assert ei.value.status == 415
    new = co.create_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "flux-system",
                                             "azurepodidentityexceptions", {
                                                 "apiVersion": "aadpodidentity.k8s.io/v1",
                                                 "kind": "AzurePodIdentityException",
                                                 "metadata": {"name": "flux-controllers"},
                                                 "spec": {"podLabels": {"app.kubernetes.io/name": "microsoft.flux"}}})
    assert new["metadata"]["namespace"] == "flux-system" and new["metadata"]["uid"]
    co.delete_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "flux-system", "azurepodidentityexceptions",
                                       "flux-controllers")
    names = [e["metadata"]["name"] for e in co.list_namespaced_custom_object(
        "aadpodidentity.k8s.io", "v1", "flux-system", "azurepodidentityexceptions")["items"]]
    assert names == ["flux-extension-exception"]


def test_delete_and_pod_spec_is_immutable(api):
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map("demo", _cm("gone"))
    st = v1.delete_namespaced_config_map("gone", "demo")
    assert st["status"] == "Success" and st["details"]["name"] == "gone"
    with pytest.raises(ApiException) as ei:
        v1.delete_namespaced_config_map("gone", "demo")
    assert ei.value.status == 404
    pod = v1.read_namespaced_pod("db-0", "demo")
    with pytest.raises(ApiException) as ei:
        v1.patch_namespaced_pod("db-0", "demo", {"spec": {"serviceAccountName": "other"}})
    assert ei.value.status == 422 and "pod updates may not change fields" in ei.value.body
    v1.patch_namespaced_pod("db-0", "demo", {"metadata": {"labels": {"extra": "1"}}})
    deleted = v1.delete_namespaced_pod("db-0", "demo")
    assert deleted.metadata.uid == pod.metadata.uid


def test_dry_run_all_on_every_write_persists_nothing(api, kube):
    v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    co = client.CustomObjectsApi(api)
    before = {k: dict(tb.objects) for k, tb in kube["aks-demo"].tables.items()}
    made = v1.create_namespaced_config_map("demo", _cm("dry"), dry_run="All")
    assert made.metadata.name == "dry" and made.metadata.uid
    sa = v1.read_namespaced_service_account("app-sa", "demo")
    sa.metadata.annotations = {"azure.workload.identity/client-id": "x"}
    out = v1.replace_namespaced_service_account("app-sa", "demo", sa, dry_run="All")
    assert out.metadata.annotations == {"azure.workload.identity/client-id": "x"}
    apps.patch_namespaced_deployment("demo", "demo", {"spec": {"template": {"metadata": {"labels": {
        "azure.workload.identity/use": "true"}}}}}, dry_run="All")
    co.patch_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "demo", "azureidentitybindings",
                                      "demo-azure-id-binding", {"spec": {"selector": "q"}}, dry_run="All")
    v1.delete_namespaced_service_account("app-sa", "demo", dry_run="All")
    co.delete_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "demo", "azureidentities", "demo-aad1",
                                       dry_run="All")
    after = {k: dict(tb.objects) for k, tb in kube["aks-demo"].tables.items()}
    assert after == before
    kube.log.assert_writes_dry_run()
    assert len(kube.log.writes()) == 6 and all(r.dry_run for r in kube.log.writes())
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_config_map("demo", _cm("x"), dry_run="Everything")
    assert ei.value.status == 400


def test_leases_and_configmaps(api, clock):
    coord = client.CoordinationV1Api(api)
    now = clock.now()
    lease = coord.create_namespaced_lease("kube-system", client.V1Lease(
        metadata=client.V1ObjectMeta(name="wi-migrator-cutover"),
        spec=client.V1LeaseSpec(holder_identity="runner-1", lease_duration_seconds=30, acquire_time=now,
                                renew_time=now)))
    assert lease.spec.holder_identity == "runner-1"
    lease.spec.holder_identity = "runner-2"
    coord.replace_namespaced_lease("wi-migrator-cutover", "kube-system", lease)
    stale = lease
    stale.spec.holder_identity = "runner-3"
    with pytest.raises(ApiException) as ei:  # optimistic concurrency decides who holds the lease
        coord.replace_namespaced_lease("wi-migrator-cutover", "kube-system", stale)
    assert ei.value.status == 409
    got = coord.read_namespaced_lease("wi-migrator-cutover", "kube-system")
    assert got.spec.holder_identity == "runner-2" and got.spec.renew_time == now
    assert [x.metadata.name for x in coord.list_namespaced_lease("kube-system").items] == ["wi-migrator-cutover"]


def test_token_request_returns_signed_jwt_with_cluster_issuer(api, kube, clock):
    v1 = client.CoreV1Api(api)
    c = kube["aks-demo"]
    tr = v1.create_namespaced_service_account_token(
        "workload-identity-sa", "wi-demo", client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=["api://AzureADTokenExchange"], expiration_seconds=3600)))
    token = tr.status.token
    header, claims = decode_unverified(token)
    assert header["alg"] == "RS256" and header["kid"] == c.key.kid
    assert claims["iss"] == c.issuer and c.issuer.startswith("https://eastus.oic.prod-aks.azure.com/")
    assert claims["sub"] == "system:serviceaccount:wi-demo:workload-identity-sa"
    assert claims["aud"] == ["api://AzureADTokenExchange"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["iat"] == int(clock.now().timestamp())
    assert verify(token, c.key.public_key)["kubernetes.io"]["serviceaccount"]["name"] == "workload-identity-sa"
    # the issuer's discovery documents are served by the API server too
    doc = json.loads(api.call_api("GET", c.url + "/.well-known/openid-configuration").read())
    assert doc["issuer"] == c.issuer
    jwks = json.loads(api.call_api("GET", c.url + "/openid/v1/jwks").read())
    assert jwks["keys"][0]["kid"] == c.key.kid
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_service_account_token("missing", "wi-demo", client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=["x"])))
    assert ei.value.status == 404
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_service_account_token("workload-identity-sa", "wi-demo",
                                                   client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(
                                                       audiences=["x"], expiration_seconds=60)))
    assert ei.value.status == 422
    assert not kube.log.writes()  # TokenRequest is a create, but it changes nothing


def test_scale_subresource_and_access_review(api, kube):
    apps = client.AppsV1Api(api)
    s = apps.read_namespaced_deployment_scale("demo", "demo")
    assert s.spec.replicas == 2
    apps.patch_namespaced_deployment_scale("demo", "demo", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("demo", "demo").spec.replicas == 3
    kube["aks-demo"].forbid("mutatingwebhookconfigurations", verbs=["list"])
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
            verb="list", group="admissionregistration.k8s.io", resource="mutatingwebhookconfigurations"))))
    assert review.status.allowed is False
    with pytest.raises(ApiException) as ei:
        client.AdmissionregistrationV1Api(api).list_mutating_webhook_configuration()
    assert ei.value.status == 403
    assert json.loads(ei.value.body)["message"] == (
        'mutatingwebhookconfigurations.admissionregistration.k8s.io is forbidden: User "masterclient" cannot list '
        'resource "mutatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope')
