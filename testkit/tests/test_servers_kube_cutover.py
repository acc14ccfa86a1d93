"""What a cutover must see: rollouts after a template change, the workload-identity webhook,
dry-run pod creates, and AKS Automatic's system-namespace policy."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

WI = {"azure.workload.identity/use": "true"}


@pytest.fixture
def api(kube, snapshot_root):  # type: ignore[no-untyped-def]
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    return kube.api_client("aks-demo")


def _label_template(apps, kind: str, ns: str, name: str, extra: dict | None = None) -> None:  # type: ignore[type-arg]
    body = {"spec": {"template": {"metadata": {"labels": {**WI, "aadpodidbinding": None, **(extra or {})}}}}}
    getattr(apps, f"patch_namespaced_{kind}")(name, ns, body)


def _done(d) -> bool:  # type: ignore[no-untyped-def]
    """kubectl rollout status for a Deployment."""
    s = d.status
    return (s.observed_generation >= d.metadata.generation and s.updated_replicas == d.spec.replicas
            and s.replicas == d.spec.replicas and s.available_replicas == d.spec.replicas)


def test_deployment_rolls_out_instantly_by_default(api):
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    old = {p.metadata.name for p in v1.list_namespaced_pod("demo", label_selector="app=demo").items}
    _label_template(apps, "deployment", "demo", "demo")
    d = apps.read_namespaced_deployment("demo", "demo")
    assert _done(d) and d.metadata.generation == 2
    assert [c.reason for c in d.status.conditions if c.type == "Progressing"] == ["NewReplicaSetAvailable"]
    pods = v1.list_namespaced_pod("demo", label_selector="app=demo").items
    assert len(pods) == 2 and not old & {p.metadata.name for p in pods}
    h = pods[0].metadata.labels["pod-template-hash"]
    rs = apps.read_namespaced_replica_set(f"demo-{h}", "demo")
    assert rs.status.ready_replicas == 2 and rs.metadata.owner_references[0].name == "demo"
    assert apps.read_namespaced_replica_set("demo-7d9f8c6b5d", "demo").spec.replicas == 0  # old RS scaled down


def test_slow_rollout_follows_the_injected_clock(api, kube, clock):
    kube["aks-demo"].set_rollout(seconds_per_pod=10)
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    _label_template(apps, "deployment", "demo", "demo")
    d = apps.read_namespaced_deployment("demo", "demo")
    assert d.status.observed_generation == 2 and d.status.updated_replicas == 0 and not _done(d)
    clock.advance(10)
    d = apps.read_namespaced_deployment("demo", "demo")
    assert d.status.updated_replicas == 1 and d.status.replicas == 2 and not _done(d)
    pods = v1.list_namespaced_pod("demo", label_selector="app=demo").items
    assert sorted(p.metadata.labels["pod-template-hash"] == "7d9f8c6b5d" for p in pods) == [False, True]
    clock.advance(10)
    assert _done(apps.read_namespaced_deployment("demo", "demo"))


def test_stuck_rollout_never_completes_and_hits_progress_deadline(api, kube, clock):
    kube["aks-demo"].set_rollout(stuck=True, resource="deployments", namespace="demo", name="demo")
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    _label_template(apps, "deployment", "demo", "demo")
    clock.advance(300)
    d = apps.read_namespaced_deployment("demo", "demo")
    assert not _done(d) and d.status.updated_replicas == 1 and d.status.ready_replicas == 2
    pending = [p for p in v1.list_namespaced_pod("demo", label_selector="app=demo").items
               if p.status.phase == "Pending"]
    assert len(pending) == 1
    clock.advance(301)
    d = apps.read_namespaced_deployment("demo", "demo")
    prog = [c for c in d.status.conditions if c.type == "Progressing"][0]
    assert prog.status == "False" and prog.reason == "ProgressDeadlineExceeded"


def test_statefulset_and_daemonset_roll_out(api, kube, clock):
    kube["aks-demo"].set_rollout(seconds_per_pod=5)
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    _label_template(apps, "stateful_set", "demo", "db")
    clock.advance(5)
    s = apps.read_namespaced_stateful_set("db", "demo")
    assert s.status.updated_replicas == 1 and s.status.current_revision != s.status.update_revision
    db1 = v1.read_namespaced_pod("db-1", "demo")  # highest ordinal first
    assert db1.metadata.labels["controller-revision-hash"] == s.status.update_revision
    clock.advance(5)
    s = apps.read_namespaced_stateful_set("db", "demo")
    assert s.status.updated_replicas == 2 and s.status.current_revision == s.status.update_revision
    assert s.status.ready_replicas == 2 and s.status.observed_generation == s.metadata.generation
    apps.patch_namespaced_daemon_set("nmi", "kube-system", {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}}}}})
    ds = apps.read_namespaced_daemon_set("nmi", "kube-system")
    assert ds.status.updated_number_scheduled == 0 and ds.status.desired_number_scheduled == 3
    clock.advance(15)
    ds = apps.read_namespaced_daemon_set("nmi", "kube-system")
    assert ds.status.updated_number_scheduled == 3 and ds.status.number_ready == 3
    assert len(v1.list_namespaced_pod("kube-system", label_selector="component=nmi").items) == 3


def test_new_labelled_pods_get_the_webhook_injection(api, kube):
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    v1.patch_namespaced_service_account("app-sa", "demo", {"metadata": {"annotations": {
        "azure.workload.identity/client-id": "4024ab25-56a8-4370-aea6-6389221caf29"}}})
    _label_template(apps, "deployment", "demo", "demo")
    pod = v1.list_namespaced_pod("demo", label_selector="app=demo").items[0]
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env == {"AZURE_CLIENT_ID": "4024ab25-56a8-4370-aea6-6389221caf29",
                   "AZURE_TENANT_ID": kube["aks-demo"].tenant_id,
                   "AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/wi/token/azure-identity-token",
                   "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"}
    # v1.6.0 layout: reserved volume named after the pod's generateName (no name at admission)
    prefix = "azure-workload-identity-reserved-"
    vol_name = prefix + hashlib.sha256(f"{pod.metadata.generate_name} (prefix)".encode()).hexdigest()[
        :63 - len(prefix)]
    vol = [v for v in pod.spec.volumes if v.name == vol_name][0]
    proj = vol.projected.sources[0].service_account_token
    assert (proj.audience, proj.expiration_seconds, proj.path) == ("api://AzureADTokenExchange", 3600,
                                                                   "token/azure-identity-token")
    mounts = {m.name: m for m in pod.spec.containers[0].volume_mounts}
    assert mounts[vol_name].mount_path == "/var/run/secrets/azure/wi" and mounts[vol_name].read_only
    assert any(n.startswith("kube-api-access-") for n in mounts)  # the ServiceAccount plugin ran too


def test_webhook_v1_5_layout_sa_tenant_and_expiry(api, kube):
    kube["aks-demo"].webhook.version = "1.5"
    kube["aks-demo"].webhook.authority_host = "https://login.example.test/"
    v1 = client.CoreV1Api(api)
    pod = v1.create_namespaced_pod("wi-demo", client.V1Pod(
        metadata=client.V1ObjectMeta(name="p1", labels=WI),
        spec=client.V1PodSpec(service_account_name="workload-identity-sa", containers=[
            client.V1Container(name="app", image="x", env=[client.V1EnvVar(name="AZURE_CLIENT_ID", value="mine")]),
            client.V1Container(name="skip-me", image="y")]),
    ).to_dict() | {"metadata": {"name": "p1", "labels": WI,
                                "annotations": {"azure.workload.identity/skip-containers": "skip-me"}}})
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["AZURE_CLIENT_ID"] == "mine"  # existing values are never overwritten
    assert env["AZURE_FEDERATED_TOKEN_FILE"] == "/var/run/secrets/azure/tokens/azure-identity-token"
    assert env["AZURE_AUTHORITY_HOST"] == "https://login.example.test/"
    assert pod.spec.containers[1].env is None
    vol = [v for v in pod.spec.volumes if v.name == "azure-identity-token"][0]
    assert vol.projected.sources[0].service_account_token.expiration_seconds == 86400  # SA annotation
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_pod("wi-demo", {"metadata": {"name": "p2", "labels": WI, "annotations": {
            "azure.workload.identity/service-account-token-expiration": "100"}},
            "spec": {"serviceAccountName": "workload-identity-sa", "containers": [{"name": "a", "image": "x"}]}})
    assert ei.value.status == 400
    assert "token expiration 100 not valid. Expected value to be between 3600 and 86400" in ei.value.body


def test_webhook_off_or_failing(api, kube):
    c = kube["aks-demo"]
    apps, v1 = client.AppsV1Api(api), client.CoreV1Api(api)
    c.webhook.enabled = False
    _label_template(apps, "deployment", "demo", "demo")
    pod = v1.list_namespaced_pod("demo", label_selector="app=demo").items[0]
    assert pod.metadata.labels["azure.workload.identity/use"] == "true" and not pod.spec.containers[0].env
    # installed but unreachable (failurePolicy Fail): labelled pods are rejected, the rollout stalls
    c.webhook.enabled, c.webhook.failing = True, True
    _label_template(apps, "deployment", "demo", "demo", {"rev": "2"})
    d = apps.read_namespaced_deployment("demo", "demo")
    failure = [x for x in d.status.conditions if x.type == "ReplicaFailure"][0]
    assert failure.reason == "FailedCreate" and 'failed calling webhook "mutation.azure-workload-identity.io"' in \
        failure.message
    assert not _done(d)
    c.webhook.failing = False  # the controller retries on the next request
    assert _done(apps.read_namespaced_deployment("demo", "demo"))


def test_dry_run_pod_create_returns_the_mutated_pod(api, kube):
    v1 = client.CoreV1Api(api)
    pod = v1.create_namespaced_pod("wi-demo", {"metadata": {"generateName": "probe-", "labels": WI},
                                               "spec": {"serviceAccountName": "workload-identity-sa",
                                                        "containers": [{"name": "a", "image": "x"}]}},
                                   dry_run="All")
    assert {e.name for e in pod.spec.containers[0].env} >= {"AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"}
    assert pod.metadata.name.startswith("probe-")
    assert v1.list_namespaced_pod("wi-demo", label_selector="app!=wi-app").items == []
    kube.log.assert_writes_dry_run()
    with pytest.raises(ApiException) as ei:  # the ServiceAccount admission plugin
        v1.create_namespaced_pod("wi-demo", {"metadata": {"name": "p", "labels": WI},
                                             "spec": {"serviceAccountName": "nope",
                                                      "containers": [{"name": "a", "image": "x"}]}}, dry_run="All")
    assert ei.value.status == 403
    assert json.loads(ei.value.body)["message"] == ('pods "p" is forbidden: error looking up service account '
                                                    'wi-demo/nope: serviceaccount "nope" not found')


def test_aks_automatic_policy_forbids_writes_in_system_namespaces(api, kube):
    c = kube["aks-demo"]
    c.protect_namespaces(["flux-system"])
    co = client.CustomObjectsApi(api)
    with pytest.raises(ApiException) as ei:
        co.create_namespaced_custom_object("aadpodidentity.k8s.io", "v1", "flux-system", "azurepodidentityexceptions",
                                           {"apiVersion": "aadpodidentity.k8s.io/v1",
                                            "kind": "AzurePodIdentityException",
                                            "metadata": {"name": "flux-controllers"},
                                            "spec": {"podLabels": {"app.kubernetes.io/name": "microsoft.flux"}}},
                                           dry_run="All")
    assert ei.value.status == 403
    assert json.loads(ei.value.body)["message"] == (
        'azurepodidentityexceptions.aadpodidentity.k8s.io "flux-controllers" is forbidden: ValidatingAdmissionPolicy '
        "'aks-managed-protect-system-namespaces' with binding 'aks-managed-protect-system-namespaces-binding' denied "
        "request: Modification of resources in managed system namespaces is not allowed")
    with pytest.raises(ApiException):
        client.CoreV1Api(api).patch_namespaced_service_account("default", "flux-system", {"metadata": {"labels": {
            "a": "b"}}})
    client.CoreV1Api(api).create_namespaced_config_map("demo", {"metadata": {"name": "ok"}})  # other namespaces fine
    vap = client.AdmissionregistrationV1Api(api).read_validating_admission_policy(
        "aks-managed-protect-system-namespaces")
    assert vap.spec.validations[0].message.startswith("Modification of resources")
    # exempt groups (kube-system service accounts) may write
    c.add_service_account_token("sa-token", "kube-system", "extension-operator")
    kc = kube.kubeconfig(["aks-demo"], user_token={"aks-demo": "sa-token"})
    from kubernetes import config

    sa_api = config.new_client_from_config_dict(kc, context="aks-demo")
    client.CoreV1Api(sa_api).create_namespaced_config_map("flux-system", {"metadata": {"name": "fluxconfig-values"}})
