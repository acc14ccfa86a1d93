"""The pure judgements of objects.py: injection, rollouts, template changes and their reversal."""

from __future__ import annotations

from typing import Any

from migrator.cutover.objects import (
    TemplateChange,
    before_state,
    injection_problems,
    restore_patch,
    rollout_state,
)

TOKEN = {"name": "azure-identity-token", "projected": {"sources": [{"serviceAccountToken": {
    "path": "azure-identity-token", "audience": "api://AzureADTokenExchange", "expirationSeconds": 3600}}]}}
ENV = [{"name": "AZURE_TENANT_ID", "value": "t"}, {"name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/f"},
       {"name": "AZURE_AUTHORITY_HOST", "value": "https://login/"}]
MOUNT = [{"name": "azure-identity-token", "mountPath": "/var/run/secrets/azure/tokens", "readOnly": True}]


def _pod(containers: list[dict[str, Any]], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"annotations": annotations or {}}, "spec": {"serviceAccountName": "app", "volumes": [TOKEN],
                                                                      "containers": containers}}


def test_an_injected_container_passes_and_a_missing_variable_is_named() -> None:
    good = {"name": "app", "env": [*ENV, {"name": "AZURE_CLIENT_ID", "value": "c1"}], "volumeMounts": MOUNT}
    assert injection_problems(_pod([good]), expected_client_ids={"c1"}) == ([], [])
    bad = {"name": "app", "env": ENV[:1], "volumeMounts": []}
    problems, _ = injection_problems(_pod([bad]), expected_client_ids={"c1"})
    assert "container app: AZURE_FEDERATED_TOKEN_FILE not injected" in problems
    assert "container app: the token volume is not mounted" in problems


def test_a_container_setting_its_own_client_id_must_name_a_federated_identity() -> None:
    own = {"name": "app", "env": [*ENV, {"name": "AZURE_CLIENT_ID", "value": "other"}], "volumeMounts": MOUNT}
    problems, _ = injection_problems(_pod([own]), expected_client_ids={"c1"})
    assert problems == ["container app: AZURE_CLIENT_ID=other is not federated to service account app (the webhook "
                        "never overrides it)"]
    ref = {"name": "app", "env": [*ENV, {"name": "AZURE_CLIENT_ID", "valueFrom": {"secretKeyRef": {}}}],
           "volumeMounts": MOUNT}
    assert injection_problems(_pod([ref]), expected_client_ids={"c1"})[1] == [
        "container app takes AZURE_CLIENT_ID from a reference: not judged"]


def test_skipped_containers_are_reported_not_failed_unless_every_one_is() -> None:
    good = {"name": "app", "env": [*ENV, {"name": "AZURE_CLIENT_ID", "value": "c1"}], "volumeMounts": MOUNT}
    sidecar = {"name": "istio-proxy"}
    pod = _pod([good, sidecar], {"azure.workload.identity/skip-containers": "istio-proxy"})
    problems, notes = injection_problems(pod, expected_client_ids={"c1"})
    assert problems == [] and "container istio-proxy is listed in azure.workload.identity/skip-containers" in notes[0]
    only = _pod([sidecar], {"azure.workload.identity/skip-containers": "istio-proxy"})
    assert "every container is skipped" in injection_problems(only, expected_client_ids=None)[0][0]


def test_rollout_state_like_kubectl_rollout_status() -> None:
    dep = {"metadata": {"generation": 2}, "spec": {"replicas": 2},
           "status": {"observedGeneration": 1, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2}}
    assert not rollout_state(dep, "Deployment").complete  # generation not observed yet
    dep["status"]["observedGeneration"] = 2
    assert rollout_state(dep, "Deployment").complete
    dep["status"]["replicas"] = 3  # an old pod still there
    assert not rollout_state(dep, "Deployment").complete
    dep["status"]["conditions"] = [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                                    "message": "ReplicaSet x has timed out progressing."}]
    assert rollout_state(dep, "Deployment").failure.startswith("ProgressDeadlineExceeded")
    sts = {"metadata": {"generation": 1}, "spec": {"replicas": 2},
           "status": {"observedGeneration": 1, "updatedReplicas": 2, "readyReplicas": 2, "currentRevision": "a",
                      "updateRevision": "b"}}
    assert not rollout_state(sts, "StatefulSet").complete
    sts["status"]["currentRevision"] = "b"
    assert rollout_state(sts, "StatefulSet").complete
    ds = {"metadata": {"generation": 1}, "spec": {},
          "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3,
                     "numberAvailable": 2}}
    assert not rollout_state(ds, "DaemonSet").complete


def test_a_template_change_and_its_restore_round_trip_on_a_cronjob() -> None:
    from testkit.kube_patch import strategic_merge_patch

    cj = {"metadata": {"resourceVersion": "7"}, "spec": {"jobTemplate": {"spec": {"template": {
        "metadata": {"labels": {"aadpodidbinding": "x"}},
        "spec": {"serviceAccountName": "old", "containers": [{"name": "c", "image": "i"}]}}}}}}
    before = before_state(cj, "CronJob")
    change = TemplateChange(add_wi_label=True, service_account="new", client_id_env="c9")
    after = strategic_merge_patch(cj, change.patch(cj, "CronJob"))
    assert change.holds(after, "CronJob") and not change.holds(cj, "CronJob")
    unbound = strategic_merge_patch(after, TemplateChange(remove_binding_label=True).patch(after, "CronJob"))
    restored = strategic_merge_patch(unbound, restore_patch(unbound, "CronJob", before))
    assert restored["spec"]["jobTemplate"]["spec"]["template"] == cj["spec"]["jobTemplate"]["spec"]["template"]
    assert restore_patch(restored, "CronJob", before) is None
