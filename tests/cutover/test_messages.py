"""What the cutover says when things go wrong on the way (issue 20): each message names what happened and
what to do, and what the record keeps lets a re-run (or a later cutover) protect what it should."""

from __future__ import annotations

import json
from typing import Any

from testkit.faults import Fault
from tests.cutover.conftest import AT_SOURCE, SHARED_NS, WEU, Served, ok


def _progress(served: Served, namespace: str = SHARED_NS) -> dict[str, Any]:
    record = served.state.get("configmaps", namespace, "wi-migrator-record")
    return json.loads(record["data"]["progress"])


def _nmi_pods(lab: Served) -> list[str]:
    return [p["metadata"]["name"] for p in lab.state.list("pods", "kube-system")
            if p["metadata"]["name"].startswith("nmi-")]


# ------------------------------------------------------------------ read-only steps


def test_a_failed_read_only_step_says_nothing_was_changed_not_to_continue(ready: Served) -> None:
    before = len(ready.writes())
    ready.kube.faults.add(Fault(service="kube", resource="serviceaccounts", subresource="token", status=403,
                                reason="Forbidden"))
    result = ready.cutover(changed_at_source=AT_SOURCE)
    assert result.code == 1
    assert "TokenRequest for ServiceAccount/" in result.message
    assert "nothing was changed" in result.message and "to continue" not in result.message
    assert len(ready.writes()) == before


# ------------------------------------------------------------------ step 5's completion and --check-nmi-logs


def test_step_5_found_done_after_a_rollout_timeout_records_its_completion_and_nmi_logs_still_protect_step_6(
        lab: Served) -> None:
    lab.state.set_rollout(seconds_per_pod=100, resource="deployments", namespace="demo", name="demo")
    timed_out = lab.cutover("demo", rollout_timeout=30)
    assert timed_out.code == 1 and "did not complete within 30 s" in timed_out.message
    assert not (_progress(lab, "demo").get("label") or {}).get("completed")
    lab.clock.advance(400)  # the rollout completes meanwhile
    result = ok(lab.cutover("demo", check_nmi_logs=True))
    assert "[5/6] label the pod templates azure.workload.identity/use=true and roll out: already done" \
        in result.output
    assert "NMI logs (3 pod(s)): no token served to demo since step 5" in result.output
    assert "not checked" not in result.output
    progress = _progress(lab, "demo")
    assert progress["label"]["completed"] and "label" in progress["steps"]


def test_check_nmi_logs_refuses_step_6_when_the_logs_cannot_be_read(lab: Served) -> None:
    lab.kube.faults.add(Fault(service="kube", resource="pods", subresource="log", status=403, reason="Forbidden"))
    result = lab.cutover("demo", check_nmi_logs=True)
    assert result.code == 1
    assert "--check-nmi-logs: the logs of NMI's 3 pod(s) (DaemonSet kube-system/nmi) could not be read" \
        in result.message
    labels = lab.state.get("deployments", "demo", "demo")["spec"]["template"]["metadata"]["labels"]
    assert labels.get("aadpodidbinding") == "demo"  # step 6 did not run


def test_check_nmi_logs_on_a_cluster_without_nmi_pods_says_so(lab: Served) -> None:
    for name in _nmi_pods(lab):
        lab.state.remove("pods", "kube-system", name)
    result = ok(lab.cutover("demo", check_nmi_logs=True))
    assert "NMI logs: DaemonSet kube-system/nmi has no pods on the cluster" in result.output
    assert "permissions" not in result.output


# ------------------------------------------------------------------ the record's history


def test_a_cutover_after_a_rollback_starts_a_fresh_progress_section_and_keeps_the_old_ones(ready: Served) -> None:
    ok(ready.cutover(changed_at_source=AT_SOURCE))
    first = _progress(ready)
    ready.clock.advance(3600)
    ok(ready.rollback())
    rolled = _progress(ready)
    assert rolled["operation"] == "rollback" and "steps" not in rolled
    assert [h["operation"] for h in rolled["history"]] == ["cutover"]
    ready.clock.advance(3600)
    ok(ready.cutover(changed_at_source=AT_SOURCE))
    again = _progress(ready)
    assert again["operation"] == "cutover" and again["state"] == "cut-over"
    assert "by" not in again and "unbound" not in again
    assert again["steps"]["label"]["at"] > first["steps"]["label"]["at"]
    assert again["label"]["completed"] > first["label"]["completed"]
    assert [h["operation"] for h in again["history"]] == ["cutover", "rollback"]
    assert again["history"][0]["steps"] == first["steps"]


# ------------------------------------------------------------------ 403s


def test_a_403_from_an_admission_policy_names_the_policy(ready: Served) -> None:
    def protect(index: int) -> None:  # AKS Automatic's policy, applied after the federation is proved
        if index == 2:
            ready.state.protect_namespaces([SHARED_NS], install_objects=False)

    result = ready.cutover(changed_at_source=AT_SOURCE, hooks={"step_done": protect})
    assert result.code == 1
    assert "the admission policy aks-managed-protect-system-namespaces denied the change: Modification of " \
           "resources in managed system namespaces is not allowed" in result.message
    assert "kubectl get validatingadmissionpolicy aks-managed-protect-system-namespaces" in result.message
    assert "lacks a permission" not in result.message


def test_a_step_done_whose_record_write_is_refused_is_reported_done_but_unrecorded(ready: Served) -> None:
    ready.state.set_rollout(seconds_per_pod=10, resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    refuse = Fault(service="kube", resource="configmaps", verb="patch", status=403, reason="Forbidden")
    hooks = {"waiting": lambda text: ready.kube.faults.add(refuse) if refuse not in list(ready.kube.faults)
             else None}
    result = ready.cutover(changed_at_source=AT_SOURCE, hooks=hooks)
    assert result.code == 1
    assert "(done, but not recorded)" in result.output and "FAILED" not in result.output
    assert "step 5 (label the pod templates azure.workload.identity/use=true and roll out) is done on the cluster, " \
           "but recording it in ConfigMap shared/wi-migrator-record was refused" in result.message
    ready.kube.faults.remove(refuse)
    ready.clock.advance(61)
    resumed = ok(ready.cutover(changed_at_source=AT_SOURCE))
    assert "[5/6] label the pod templates azure.workload.identity/use=true and roll out: already done" \
        in resumed.output
    assert _progress(ready)["label"]["completed"]


# ------------------------------------------------------------------ status


def test_status_during_a_step_5_rollout_says_step_5_is_in_progress(ready: Served) -> None:
    ready.state.set_rollout(stuck=True, resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    assert ready.cutover(changed_at_source=AT_SOURCE, rollout_timeout=30).code == 1
    status = ready.cli("cutover", "status", "--cluster", WEU)
    line = next(line for line in status.output.splitlines() if line.strip().startswith(SHARED_NS))
    assert "step 5/6 in progress: pod templates patched, waiting for Deployment/ingest-worker: rollout" in line
    assert "step 3/6 done" not in line


def test_an_api_server_without_oidc_discovery_says_the_issuer_comparison_was_skipped(ready: Served) -> None:
    ready.kube.faults.add(Fault(service="kube", path=r"^/\.well-known/openid-configuration", status=404))
    result = ok(ready.cutover(changed_at_source=AT_SOURCE))
    assert "the API server of aks-prod-weu does not serve its OIDC discovery document " \
           "(/.well-known/openid-configuration): the comparison of its issuer with ARM's was skipped" in result.output


# ------------------------------------------------------------------ no Azure login


class NoLogin:
    """A credential that fails as DefaultAzureCredential does without a login: it logs every credential it tried,
    then raises ClientAuthenticationError with all of them in one long message."""

    def __init__(self, why: str = "Please run 'az login' to set up an account") -> None:
        self.why = why

    def get_token(self, *scopes: str, **kw: Any) -> Any:
        import logging

        from azure.core.exceptions import ClientAuthenticationError

        tried = [f"{name}: {name} authentication unavailable. {self.why}" for name in (
            "EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential",
            "SharedTokenCacheCredential", "AzureCliCredential", "AzurePowerShellCredential",
            "AzureDeveloperCliCredential")]
        log = logging.getLogger("azure.identity._credentials.chained")
        for line in tried:
            log.warning("DefaultAzureCredential failed to retrieve a token from the included credentials. %s", line)
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included "
                                        "credentials.\nAttempted credentials:\n\t" + "\n\t".join(tried) +
                                        "\nTo mitigate this issue, please refer to the troubleshooting guidelines "
                                        "here at https://aka.ms/azsdk/python/identity/defaultazurecredential/"
                                        "troubleshoot.")


def _one_error_and_one_hint(stderr: str) -> tuple[str, str]:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 2, stderr
    assert lines[0].startswith("error: ") and lines[1].startswith("  hint: "), stderr
    return lines[0], lines[1]


def test_without_an_azure_login_a_dry_run_says_so_in_one_line_and_a_hint_and_exits_3(ready: Served) -> None:
    result = ready.cli("cutover", "--cluster", WEU, "--namespace", SHARED_NS, "--changed-at-source", AT_SOURCE[0],
                       "--dry-run", credential=NoLogin())
    assert result.exit_code == 3, result.output
    error, hint = _one_error_and_one_hint(result.stderr)
    assert error == ("error: cluster aks-prod-weu could not be reached: could not get a token for Azure Resource "
                     "Manager: no Azure credential found: not logged in (az login), no AZURE_* variables, no managed "
                     "identity")
    assert "az login" in hint and "--kubeconfig" in hint and "AZURE_CLIENT_ID" in hint and "ARM_CLIENT_ID" in hint
    assert "DefaultAzureCredential" not in result.output
    verbose = ready.cli("cutover", "--cluster", WEU, "--namespace", SHARED_NS, "--changed-at-source",
                        AT_SOURCE[0], "--dry-run", "--verbose", credential=NoLogin())
    assert verbose.exit_code == 3
    assert "DefaultAzureCredential failed to retrieve a token" in verbose.stderr


def test_without_an_azure_login_status_says_so_once_and_exits_3(ready: Served) -> None:
    result = ready.cli("cutover", "status", credential=NoLogin("AADSTS700082: The refresh token has expired due "
                                                               "to inactivity."))
    assert result.exit_code == 3, result.output
    error, _ = _one_error_and_one_hint(result.stderr)
    assert "could not get a token for Azure Resource Manager: the Azure login has expired" in error


def test_a_namespace_the_plan_blocks_is_refused_before_any_network_call(ready: Served) -> None:
    arm, kube = len(ready.arm.requests), len(ready.kube.requests)
    result = ready.cli("cutover", "--cluster", WEU, "--namespace", "orders", "--dry-run", credential=NoLogin())
    assert result.exit_code == 1, result.output
    assert "the plan blocks" in result.stderr and "nothing was changed" in result.stderr
    assert (len(ready.arm.requests), len(ready.kube.requests)) == (arm, kube)


def test_why_a_login_failed_is_told_from_the_credential_message() -> None:
    from migrator.cutover.clients.connection import login_problem

    assert login_problem("AzureCliCredential: Please run 'az login' to set up an account").startswith(
        "no Azure credential found")
    assert login_problem("AADSTS700082: The refresh token has expired due to inactivity") == \
        "the Azure login has expired"
    assert login_problem("AADSTS90002: Tenant '0000' not found.").startswith("the Azure login is for another tenant")


# ------------------------------------------------------------------ status without --plan


def _status_without_plan(served: Served) -> Any:
    from click.testing import CliRunner

    from migrator.cli import main
    from migrator.sources.retry import RetryPolicy

    obj = {"credential": served.arm.credential(), "clock": served.clock, "operator": "tester@lab",
           "retry": RetryPolicy(max_attempts=3)}
    return CliRunner().invoke(main, ["cutover", "status", "--cluster", WEU, "--arm-endpoint", served.arm.url,
                                     "--ca-bundle", served.arm.ca_path], obj=obj, catch_exceptions=False)


def test_status_without_plan_finds_the_plan_or_says_what_to_pass(served: Served, tmp_path: Any,
                                                                 monkeypatch: Any) -> None:
    import shutil

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    missing = _status_without_plan(served)
    assert missing.exit_code == 2
    assert "no plan found" in missing.stderr and "pass --plan FILE" in missing.stderr
    rendered = work / "rendered"
    rendered.mkdir()
    (rendered / ".wi-migrator-manifest").write_text("plan.json\n")
    shutil.copy(served.plan_path, rendered / "plan.json")
    found = _status_without_plan(served)
    assert found.exit_code == 0, found.output
    assert "plan: rendered/plan.json" in found.stderr and "not started" in found.stdout
    shutil.copy(served.plan_path, work / "plan.json")
    here = _status_without_plan(served)
    assert here.exit_code == 0 and "plan: plan.json" in here.stderr


def test_without_an_azure_login_a_cluster_reached_through_a_kubeconfig_says_so_once(ready: Served) -> None:
    result = ready.cli("cutover", "--cluster", WEU, "--namespace", SHARED_NS, "--changed-at-source", AT_SOURCE[0],
                       "--dry-run", "--kubeconfig", str(ready.tmp / "kubeconfig"), credential=NoLogin())
    assert result.exit_code == 3, result.output
    error, _ = _one_error_and_one_hint(result.stderr)
    assert error.startswith("error: cluster aks-prod-weu could not be read: could not get a token for Azure "
                            "Resource Manager: no Azure credential found")
