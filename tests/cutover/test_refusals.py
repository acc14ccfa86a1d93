"""What stops a cutover before it changes anything (or before the step that would break something)."""

from __future__ import annotations

from tests.cutover.conftest import AT_SOURCE, SHARED_NS, WEU, Result, Served, ok


def test_webhook_missing_refuses_in_preflight_and_writes_nothing(ready: Served) -> None:
    ready.state.webhook.enabled = False
    ready.state.remove("mutatingwebhookconfigurations", None, "azure-wi-webhook-mutating-webhook-configuration")
    before = len(ready.writes())
    result = ready.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1
    assert "the workload identity webhook is not installed" in result.message
    assert "nothing was changed" in result.message
    assert len(ready.writes()) == before


def test_a_failing_webhook_is_caught_by_the_dry_run_pod_before_any_label(ready: Served) -> None:
    ready.state.webhook.failing = True
    result = ready.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1
    assert "[4/6] check the webhook will mutate the pods (server-side dry run): FAILED" in result.output
    assert 'failed calling webhook "mutation.azure-workload-identity.io"' in result.message
    labels = ready.state.get("deployments", SHARED_NS, "ingest-worker")["spec"]["template"]["metadata"]["labels"]
    assert "azure.workload.identity/use" not in labels


def test_issuer_mismatch_is_the_rebuilt_cluster_failure(served: Served) -> None:
    served.apply_credentials(SHARED_NS, issuer="https://westeurope.oic.prod-aks.azure.com/tenant/old-cluster/")
    served.argo_sync_report_builder()
    result = served.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1
    assert "issuer mismatch" in result.message
    assert "old-cluster" in result.message and "the cluster was rebuilt?" in result.message
    assert served.writes() == [f"POST /api/v1/namespaces/{SHARED_NS}/serviceaccounts",
                               f"PATCH /apis/apps/v1/namespaces/{SHARED_NS}/deployments/report-builder"]


def test_credentials_that_cannot_be_read_refuse_with_what_arm_said(ready: Served) -> None:
    from testkit import Fault

    ready.arm.faults.add(Fault(service="arm", method="GET", resource="federatedIdentityCredentials", status=403))
    before = len(ready.writes())
    result = ready.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1
    assert "cannot read the federated credentials of id-shared-ingest-weu: GET " in result.message
    assert "HTTP 403" in result.message and "nothing was changed" in result.message
    assert len(ready.writes()) == before


def test_missing_credential_says_to_apply_the_terraform(served: Served) -> None:
    served.argo_sync_report_builder()
    result = served.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1 and "missing on id-shared-ingest-weu: apply the plan's Terraform" in result.message


def test_credential_not_yet_propagated_is_retried_on_the_clock_until_it_is(served: Served) -> None:
    served.arm.fic_propagation_seconds = 120
    served.apply_credentials(SHARED_NS, through_arm=True)  # created now: Entra answers AADSTS70021 for 120 s
    served.argo_sync_report_builder()
    result = ok(served.cutover(changed_at_source=AT_SOURCE))
    assert "token exchanged after 12" in result.output
    assert "credential not propagated yet (AADSTS70021)" in result.output
    assert served.clock.monotonic() >= 120
    aad = [r for r in served.arm.requests if r.service == "aad" and r.operation == "token"]
    assert len(aad) > 2 and {r.status for r in aad} == {200, 400}


def test_credential_propagation_beyond_the_bound_refuses_then_a_later_run_passes(served: Served) -> None:
    served.arm.fic_propagation_seconds = 600
    served.apply_credentials(SHARED_NS, through_arm=True)
    served.argo_sync_report_builder()
    result = served.cutover(changed_at_source=AT_SOURCE, propagation_timeout=60)
    assert result.code == 1
    assert "AADSTS70021" in result.message and "wait longer for it to propagate" in result.message
    assert "[2/6] prove the federation" in result.output and "[3/6]" not in result.output
    served.clock.advance(600)
    ok(served.cutover(changed_at_source=AT_SOURCE))


def test_a_gitops_owned_workload_is_refused_and_named_with_its_owner(served: Served) -> None:
    served.apply_credentials(SHARED_NS)
    result = served.cutover()
    assert result.code == 1
    assert "Deployment/report-builder: owned by Argo CD (Application shared-apps)" in result.message
    assert "--changed-at-source=Deployment/report-builder" in result.message
    assert served.writes() == []


def test_acknowledged_but_not_yet_synced_source_change_stops_before_labelling(served: Served) -> None:
    served.apply_credentials(SHARED_NS)
    result = served.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1
    assert "waiting for the change at the source: Deployment/report-builder (Argo CD" in result.message
    labels = served.state.get("deployments", SHARED_NS, "ingest-worker")["spec"]["template"]["metadata"]["labels"]
    assert "azure.workload.identity/use" not in labels


def test_a_workload_that_became_gitops_owned_since_the_plan_is_refused(ready: Served) -> None:
    from kubernetes import client as kc

    kc.AppsV1Api(ready.kube.api_client(WEU)).patch_namespaced_deployment("ingest-worker", SHARED_NS, {
        "metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "shared",
                                "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}}})
    result = ready.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1 and "Deployment/ingest-worker is now owned by Flux (Kustomization " \
                                "flux-system/shared)" in result.message


def test_two_concurrent_cutovers_the_second_is_refused(ready: Served) -> None:
    ready.state.set_rollout(seconds_per_pod=30, resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    second: list[Result] = []

    def start_second(text: str) -> None:
        if not second:
            second.append(ready.cutover(changed_at_source=AT_SOURCE,
                                        access=ready.access(operator="colleague@elsewhere")))

    ok(ready.cutover(changed_at_source=AT_SOURCE, hooks={"waiting": start_second}))
    assert second[0].code == 1
    assert "namespace shared is being changed by another run: cutover held by tester@lab" in second[0].message
    assert "lease expires in" in second[0].message
    journal = ready.journal_lines()
    assert not any(j["operator"] == "colleague@elsewhere" and j["event"] == "changed" for j in journal)


def test_a_stale_lease_is_taken_over_only_after_it_expires(ready: Served) -> None:
    from kubernetes import client as kc

    now = ready.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    kc.CoordinationV1Api(ready.kube.api_client(WEU)).create_namespaced_lease(SHARED_NS, {
        "metadata": {"name": "wi-migrator", "annotations": {"wi-migrator/operation": "cutover"}},
        "spec": {"holderIdentity": "someone@laptop pid=1 run=dead", "leaseDurationSeconds": 60,
                 "acquireTime": now, "renewTime": now}})
    refused = ready.cutover(changed_at_source=AT_SOURCE)
    assert refused.code == 1 and "held by someone@laptop pid=1 run=dead, lease expires in 60 s" in refused.message
    waited = ok(ready.cutover(changed_at_source=AT_SOURCE, wait_for_lease=True))
    assert "cut over" in waited.output and ready.clock.monotonic() >= 60
    assert any(j.get("how") == "taken over" and j.get("previous") == "someone@laptop pid=1 run=dead"
               for j in ready.journal_lines())


def test_dry_run_changes_nothing_and_the_server_saw_only_dry_run_writes(ready: Served) -> None:
    before = ready.snapshot(SHARED_NS)
    ready.kube.log.clear()
    ready.arm.log.clear()
    result = ok(ready.cutover(changed_at_source=AT_SOURCE, dry_run=True))
    ready.kube.log.assert_writes_dry_run()
    dry = ready.writes(dry_run=True)
    assert any("deployments/ingest-worker" in w for w in dry) and any("serviceaccounts/shared-runner" in w
                                                                        for w in dry)
    assert any("/leases" in w for w in dry) and any("/configmaps" in w for w in dry)
    assert not [r for r in ready.arm.requests if r.mutating]
    assert ready.snapshot(SHARED_NS) == before and ready.writes(dry_run=False) == []
    assert "+ pod label azure.workload.identity/use: \"true\"" in result.output
    assert "- pod label aadpodidbinding: ingest-worker" in result.output
    assert "dry run complete: nothing was changed" in result.output


def test_a_namespace_protected_by_an_admission_policy_is_refused(ready: Served) -> None:
    ready.state.protect_namespaces([SHARED_NS])
    result = ready.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1
    assert "protected by the admission policy aks-managed-protect-system-namespaces" in result.message


def test_blocked_namespaces_are_refused_from_the_plan(served: Served) -> None:
    result = served.cutover("orders", changed_at_source=("Deployment/orders-sync", "StatefulSet/orders-db-backup"))
    assert result.code == 1 and "would hold 21 federated credentials" in result.message
    assert served.writes() == []


def test_a_missing_permission_fails_the_step_with_what_is_missing(ready: Served) -> None:
    ready.state.forbid("deployments", verbs=["patch"], namespace=SHARED_NS)
    result = ready.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1, result.output
    assert "[5/6] label the pod templates azure.workload.identity/use=true and roll out: FAILED" in result.output
    assert "label the pod templates azure.workload.identity/use=true and roll out: forbidden: deployments.apps " \
           "\"ingest-worker\" is forbidden: User \"masterclient\" cannot patch" \
        in result.message
    assert "see docs/permissions.md" in result.message and "Traceback" not in result.output
    assert ready.state.get("leases", SHARED_NS, "wi-migrator") is None
