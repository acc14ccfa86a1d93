"""The cutover of one namespace against the local servers, through the real clients."""

from __future__ import annotations

from tests.cutover.conftest import SHARED_NS, Served, ok


def test_happy_path_cuts_the_namespace_over_and_records_everything(ready: Served) -> None:
    result = ok(ready.cutover(changed_at_source=("Deployment/report-builder",)))
    state = ready.snapshot(SHARED_NS)
    ingest = state["deployments/ingest-worker"]
    assert ingest["labels"]["azure.workload.identity/use"] == "true"
    assert "aadpodidbinding" not in ingest["labels"]
    assert state["sa/shared-runner"]["azure.workload.identity/client-id"] == "b8f19ca2-8a8d-5089-bf9c-06379a9ddd15"
    assert state["pods"] and all(p == ["azure.workload.identity/use"] for p in state["pods"])
    assert state["record"] == ["before.Deployment.ingest-worker", "before.ServiceAccount.shared-runner"]
    assert state["progress"] == "cut-over" and state["lease"] is False
    for line in ("[1/6]", "[6/6] remove the aadpodidbinding label and roll out: 1 changed",
                 "token exchanged", "+ pod label azure.workload.identity/use", "cut over: aks-prod-weu/shared"):
        assert line in result.output
    lines = ready.journal_lines()
    events = [j["event"] for j in lines]
    assert events[0] == "start" and events[-2:] == ["done", "lease"] and events.count("step-done") == 6
    assert lines[-1]["how"] == "released" and {j["operator"] for j in lines} == {"tester@lab"}
    # a second run finds nothing to do and changes nothing
    writes = len(ready.writes())
    again = ok(ready.cutover(changed_at_source=("Deployment/report-builder",)))
    assert "already cut over" in again.output and len(ready.writes()) == writes


def test_every_in_place_kind_on_the_lab_cluster(lab: Served) -> None:
    result = ok(lab.cutover("demo"))
    state = lab.snapshot("demo")
    for ref in ("deployments/demo", "statefulsets/db", "daemonsets/log-agent", "cronjobs/nightly-export"):
        assert state[ref]["labels"].get("azure.workload.identity/use") == "true", ref
        assert "aadpodidbinding" not in state[ref]["labels"], ref
    assert "CronJob/nightly-export: its next run uses the new template" in result.output
    pods = lab.state.list("pods", "demo")
    assert pods and all(any(e["name"] == "AZURE_FEDERATED_TOKEN_FILE" for e in p["spec"]["containers"][0]["env"])
                        for p in pods)


def test_the_split_service_account_is_created_proved_and_set_on_the_workload(lab: Served) -> None:
    result = ok(lab.cutover("demo"))
    assert "ServiceAccount/billing is created in step 3: its federation is proved there" in result.output
    assert "ServiceAccount/billing (new)" in result.output
    assert "- serviceAccountName: app-sa" in result.output and "+ serviceAccountName: billing" in result.output
    tmpl = lab.state.get("deployments", "demo", "billing")["spec"]["template"]
    assert tmpl["spec"]["serviceAccountName"] == "billing"
    pods = [p for p in lab.state.list("pods", "demo") if p["metadata"]["name"].startswith("billing-")]
    env = {e["name"]: e.get("value") for e in pods[0]["spec"]["containers"][0]["env"]}
    assert env["AZURE_CLIENT_ID"] == "8055948b-d8d6-5664-bedb-1857236b43f4"
    record = lab.state.get("configmaps", "demo", "wi-migrator-record")["data"]
    assert '"existed": false' in record["before.ServiceAccount.billing"]
    assert '"serviceAccountName": "app-sa"' in record["before.Deployment.billing"]


def test_the_client_id_env_remedy_sets_azure_client_id_on_the_containers(lab: Served) -> None:
    from migrator.commands.plan import plan_for_fleet
    from migrator.plan.model import encode

    plan, _ = plan_for_fleet(_lab_fleet(lab), sa_conflicts="client-id-env")
    lab.plan_path.write_text(encode(plan))
    lab.plan = plan
    lab.apply_credentials("demo")
    result = ok(lab.cutover("demo"))
    assert "+ env AZURE_CLIENT_ID=8055948b-d8d6-5664-bedb-1857236b43f4 (every container)" in result.output
    tmpl = lab.state.get("deployments", "demo", "billing")["spec"]["template"]
    assert tmpl["spec"]["serviceAccountName"] == "app-sa"
    assert {"name": "AZURE_CLIENT_ID", "value": "8055948b-d8d6-5664-bedb-1857236b43f4"} in \
        tmpl["spec"]["containers"][0]["env"]


def _lab_fleet(lab: Served):  # type: ignore[no-untyped-def]
    from tests.cutover.lab import write_lab_fleet

    root = lab.tmp / "fleet2"
    root.mkdir()
    return write_lab_fleet(root)


def test_nmi_logs_showing_a_token_served_after_step_5_refuse_step_6(lab: Served) -> None:
    def served_by_nmi(index: int) -> None:
        if index == 5:
            pod = next(p for p in lab.state.list("pods", "demo") if p["metadata"]["name"].startswith("demo-"))
            nmi = next(p for p in lab.state.list("pods", "kube-system") if p["metadata"]["name"].startswith("nmi-"))
            lab.state.add_pod_log("kube-system", nmi["metadata"]["name"],
                                  "I0614 10:00:00.000000       1 standard.go:72] no clientID or resourceID in "
                                  f"request. demo/{pod['metadata']['name']} has been matched with azure identity "
                                  "demo/demo-aad1")

    result = lab.cutover("demo", check_nmi_logs=True, hooks={"step_done": served_by_nmi})
    assert result.code == 1
    assert "NMI served tokens to pods of demo after step 5" in result.message
    labels = lab.state.get("deployments", "demo", "demo")["spec"]["template"]["metadata"]["labels"]
    assert labels.get("aadpodidbinding") == "demo"  # step 6 did not run


def test_quiet_nmi_logs_let_step_6_through(lab: Served) -> None:
    nmi = next(p for p in lab.state.list("pods", "kube-system") if p["metadata"]["name"].startswith("nmi-"))
    lab.state.add_pod_log("kube-system", nmi["metadata"]["name"],
                          "I0614 09:00:00 1 server.go:190] status (200) took 1 ns for req.method=GET "
                          "reg.path=/metadata/identity/oauth2/token req.remote=10.244.0.10")
    result = ok(lab.cutover("demo", check_nmi_logs=True))
    assert "NMI logs (3 pod(s)): no token served to demo since step 5" in result.output
