"""`migrate discover` against the local ARM server's Resource Graph, through the real SDK pipeline."""

from __future__ import annotations

import re
import uuid

import pytest
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.rest import HttpRequest
from azure.mgmt.core import ARMPipelineClient
from click.testing import CliRunner

from migrator.cli import main
from migrator.errors import ExitCode, InputError, OutputError
from migrator.fleet import load_fleet
from testkit import Fault
from testkit.credentials import StaticCredential
from testkit.synth import managed_cluster
from tests.conftest import REPO
from tests.discover.conftest import SUB1, SUB2, Discover

NAMES = ["aks-prod-eus", "aks-prod-weu", "aks-dev-weu", "aks-staging-eus", "aks-staging-weu"]


def _names(path) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.name for c in load_fleet(path, check_folders=False).clusters]


def test_example_fleet_discovered_loads_and_matches_the_docs(served: Discover, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out = served.run()
    assert code is ExitCode.OK
    fleet = load_fleet(out, check_folders=False)
    assert [c.name for c in fleet.clusters] == NAMES            # sorted by subscription, resource group, name
    assert all(c.source_kind == "arm" for c in fleet.clusters)   # neither snapshot nor context: read through ARM
    assert fleet.tenant_id == "72f988bf-86f1-41af-91ab-2d7cd011db47"
    assert {c.name: c.group for c in fleet.clusters} == {
        "aks-prod-eus": "prod", "aks-prod-weu": "prod", "aks-dev-weu": "dev",
        "aks-staging-eus": "staging", "aks-staging-weu": "staging"}
    text = out.read_text()
    assert "- name: aks-prod-weu                  # pod-identity add-on: on, OIDC issuer: on, workload identity: on" in text
    assert "aks-staging-weu               # pod-identity add-on: off, OIDC issuer: off, workload identity: off" in text
    # one query for the clusters, one for the visible subscriptions; read-only
    graph = served.graph_requests()
    assert len(graph) == 2 and all(r.json()["subscriptions"] == [SUB1, SUB2] for r in graph)
    assert all(r.raw_path.endswith("api-version=2024-04-01") for r in graph)
    assert "order by id asc" in graph[0].json()["query"]
    served.arm.log.assert_no_writes()
    assert "wrote" in capsys.readouterr().err
    # docs/discover.md shows this very output
    docs = (REPO / "docs" / "discover.md").read_text()
    block = re.search(r"<!-- example-output -->\n```yaml\n(.*?)```", docs, re.S)
    assert block is not None and block.group(1) == text
    # the same state gives the same bytes
    again, out2 = served.run(served.tmp / "again.yaml")
    assert out2.read_text() == text


def test_several_pages_with_skip_token_give_the_same_file(served: Discover) -> None:
    _, one_page = served.run(served.tmp / "one.yaml")
    served.arm.log.clear()
    code, paged = served.run(served.tmp / "paged.yaml", settings={"page_size": 2})
    assert code is ExitCode.OK and paged.read_text() == one_page.read_text()
    bodies = [r.json() for r in served.graph_requests()]
    cluster_pages = [b for b in bodies if b["query"].startswith("Resources")]
    assert len(cluster_pages) == 3                               # 5 clusters, 2 per page
    assert [b["options"].get("$skipToken") is not None for b in cluster_pages] == [False, True, True]
    assert all(b["options"]["$top"] == 2 for b in bodies)


def _raw_query(served: Discover) -> int:
    pc = ARMPipelineClient(base_url=served.arm.url, policies=[BearerTokenCredentialPolicy(
        StaticCredential(), "https://management.azure.com/.default")], connection_verify=served.arm.ca_path)
    return pc.send_request(HttpRequest("POST", served.arm.url + "/providers/Microsoft.ResourceGraph/resources"
                                       "?api-version=2024-04-01", json={"query": "Resources | count"})).status_code


def test_throttled_answer_waits_for_the_quota_reset_on_the_clock(served: Discover) -> None:
    served.arm.graph_quota = (3, 5.0)
    assert [_raw_query(served) for _ in range(3)] == [200, 200, 200]   # someone else used the window
    served.arm.log.clear()
    code, out = served.run()
    assert code is ExitCode.OK and _names(out) == NAMES
    graph = served.graph_requests()
    assert [r.status for r in graph] == [429, 200, 200]
    assert served.clock.sleeps and served.clock.sleeps[0] >= 5.0 > sum(served.clock.sleeps[1:])
    assert graph[1].clock_time >= 5.0                                  # asked again only after the reset


def test_quota_headers_pace_the_queries_without_a_429(served: Discover) -> None:
    served.arm.graph_quota = (2, 5.0)
    code, out = served.run(settings={"page_size": 2})                  # 3 pages + 1 visibility query
    assert code is ExitCode.OK and _names(out) == NAMES
    graph = served.graph_requests()
    assert [r.status for r in graph] == [200] * 4
    assert len(served.clock.sleeps) == 1 and served.clock.sleeps[0] == 5.0   # waited once, for the reset
    assert [r.clock_time for r in graph] == [0.0, 0.0, 5.0, 5.0]


def test_subscription_the_caller_cannot_read_is_reported_and_the_rest_written(served: Discover, capsys) -> None:  # type: ignore[no-untyped-def]
    served.arm.deny_subscription(SUB2)
    code, out = served.run()
    assert code is ExitCode.PARTIAL
    assert _names(out) == ["aks-prod-eus", "aks-prod-weu"]
    err = capsys.readouterr().err
    assert f"error: subscription {SUB2}: not visible in Resource Graph" in err and "hint:" in err


def test_a_batch_refused_with_403_is_split_until_the_refused_subscription_is_found(served: Discover) -> None:
    third = "00000000-0000-0000-0000-000000000003"
    served.arm.add_managed_cluster(managed_cluster("aks-third-weu", sub=third, rg="rg-third"), name="aks-third-weu")
    served.arm.deny_subscription(SUB2)
    served.arm.graph_denied = "forbid"
    code, out = served.run(subscriptions=(SUB1, SUB2, third))
    assert code is ExitCode.PARTIAL
    assert _names(out) == ["aks-prod-eus", "aks-prod-weu", "aks-third-weu"]
    asked = [(r.status, tuple(r.json()["subscriptions"])) for r in served.graph_requests()]
    assert asked[0] == (403, (SUB1, SUB2, third))
    assert (403, (SUB2,)) in asked and (200, (SUB1,)) in asked


def test_over_1000_subscriptions_are_queried_in_batches(served: Discover) -> None:
    extra = [str(uuid.UUID(int=10_000 + i)) for i in range(999)]
    for sub in extra:
        served.arm.add_subscription(sub)
    code, out = served.run(subscriptions=(SUB1, SUB2, *extra))
    assert code is ExitCode.OK and _names(out) == NAMES
    sizes = [len(r.json()["subscriptions"]) for r in served.graph_requests()]
    assert sizes == [1000, 1000, 1, 1]                              # (clusters + visibility) per batch


def test_partial_resource_graph_rows_are_read_with_one_arm_list_per_subscription(served: Discover) -> None:
    for name, rg in (("aks-dev-weu", "rg-aks-dev-weu"), ("aks-staging-weu", "rg-aks-staging-weu")):
        served.arm.set_graph_partial(f"/subscriptions/{SUB2}/resourcegroups/{rg}/providers/"
                                     f"Microsoft.ContainerService/managedClusters/{name}")
    code, out = served.run()
    assert code is ExitCode.OK
    lists = [r for r in served.arm.requests if r.method == "GET"]
    assert [r.path for r in lists] == [f"/subscriptions/{SUB2}/providers/Microsoft.ContainerService/managedClusters"]
    text = out.read_text()
    assert ("aks-dev-weu                   # pod-identity add-on: off, OIDC issuer: on, workload identity: on "
            "(read with an ARM list: Resource Graph had only part of it)") in text
    assert text.count("read with an ARM list") == 2


def test_partial_rows_stay_unknown_when_the_arm_list_fails(served: Discover, capsys) -> None:  # type: ignore[no-untyped-def]
    served.arm.set_graph_partial(f"/subscriptions/{SUB1}/resourcegroups/rg-aks-prod-weu/providers/"
                                 "Microsoft.ContainerService/managedClusters/aks-prod-weu")
    served.arm.faults.add(Fault(service="arm", method="GET", resource="managedClusters", status=403))
    code, out = served.run()
    assert code is ExitCode.PARTIAL and _names(out) == NAMES
    assert ("aks-prod-weu                  # pod-identity add-on: unknown, OIDC issuer: unknown, workload "
            "identity: unknown (Resource Graph had only part of it; the ARM list failed)") in out.read_text()
    assert f"error: subscription {SUB1}: Resource Graph described 1 cluster(s) only in part" in capsys.readouterr().err


def test_where_filter_and_only_pod_identity(served: Discover) -> None:
    code, out = served.run(where="tags['env'] == 'prod'")
    assert code is ExitCode.OK and _names(out) == ["aks-prod-eus", "aks-prod-weu"]
    assert "# Filter (--where): tags['env'] == 'prod'" in out.read_text()
    code, out = served.run(served.tmp / "pi.yaml", only_pod_identity=True)
    assert code is ExitCode.OK and _names(out) == ["aks-prod-eus", "aks-prod-weu"]
    tail = out.read_text().split("# ---- not listed by migrate discover ----\n")[1]
    assert tail.count("pod identity add-on off (--only-pod-identity)") == 3 and "aks-dev-weu (subscription" in tail
    with pytest.raises(InputError, match="Resource Graph rejected the query"):
        served.run(served.tmp / "bad.yaml", where="tags['env'] summarize")
    assert not (served.tmp / "bad.yaml").exists()
    with pytest.raises(InputError, match="no AKS cluster found"):
        served.run(served.tmp / "none.yaml", where="name == 'nothing'")


def test_management_group_and_tenant_scopes(served: Discover) -> None:
    served.arm.add_management_group("mg-nonprod", [SUB2])
    code, out = served.run(management_group="mg-nonprod")
    assert code is ExitCode.OK and _names(out) == ["aks-dev-weu", "aks-staging-eus", "aks-staging-weu"]
    assert served.graph_requests()[-1].json()["managementGroups"] == ["mg-nonprod"]
    assert "# Scope: management group mg-nonprod." in out.read_text()
    code, out = served.run(served.tmp / "tenant.yaml", tenant=True)
    assert code is ExitCode.OK and _names(out) == NAMES
    body = served.graph_requests()[-1].json()
    assert "subscriptions" not in body and "managementGroups" not in body


def test_duplicate_names_across_subscriptions_keep_the_first(served: Discover) -> None:
    served.arm.add_managed_cluster(managed_cluster("aks-prod-weu", sub=SUB2, rg="rg-copy"), name="aks-prod-weu")
    code, out = served.run()
    assert code is ExitCode.OK and _names(out) == NAMES
    assert ("#   aks-prod-weu (subscription 00000000-0000-0000-0000-000000000002, resource group rg-copy, eastus): "
            "the name is already used in the fleet by the cluster in subscription "
            "00000000-0000-0000-0000-000000000001, resource group rg-aks-prod-weu") in out.read_text()


def test_an_existing_file_is_never_overwritten_without_force(served: Discover) -> None:
    out = served.tmp / "fleet.yaml"
    out.write_text("hand-made\n")
    with pytest.raises(OutputError, match="already exists"):
        served.run(out)
    assert out.read_text() == "hand-made\n" and served.arm.requests == []   # refused before any request
    with pytest.raises(InputError, match="not both"):
        served.run(out, force=True, merge=True)
    code, _ = served.run(out, force=True)
    assert code is ExitCode.OK and _names(out) == NAMES
    with pytest.raises(OutputError, match="folder does not exist"):
        served.run(served.tmp / "missing" / "fleet.yaml")


def test_cli(served: Discover, monkeypatch: pytest.MonkeyPatch) -> None:
    import azure.identity

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", lambda: StaticCredential())
    runner = CliRunner()
    out = served.tmp / "cli.yaml"
    args = ["discover", "--subscription", SUB1, "--subscription", SUB2, "--out", str(out),
            "--arm-endpoint", served.arm.url, "--ca-bundle", served.arm.ca_path]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert _names(out) == NAMES
    assert runner.invoke(main, args).exit_code == 2                       # exists: refused
    assert runner.invoke(main, args + ["--merge"]).exit_code == 0
    assert runner.invoke(main, ["discover", "--out", str(out)]).exit_code == 2            # no scope
    assert runner.invoke(main, args + ["--tenant"]).exit_code == 2                        # two scopes
    assert runner.invoke(main, args + ["--force", "--merge"]).exit_code == 2


def test_the_discovered_file_catalogs_the_fleet_live(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from migrator.clock import ManualClock
    from migrator.commands.catalog import build_report
    from migrator.sources.access import LiveSettings
    from testkit import KubeServer
    from testkit.arm_server import ArmServer
    from testkit.credentials import STATIC_TOKEN
    from tests.conftest import EXAMPLES

    clock = ManualClock()
    with KubeServer(clock) as kube, ArmServer(clock) as arm:
        kube.add_fleet(str(EXAMPLES / "fleet.yaml"), token=STATIC_TOKEN)
        arm.load_fleet(str(EXAMPLES / "fleet.yaml"))
        arm.attach_kube(kube)
        served = Discover(arm, clock, tmp_path)
        _, out = served.run()
        report, partial = build_report(out, live=LiveSettings(credential=arm.credential(), arm_endpoint=arm.url,
                                                              ca_bundle=arm.ca_path, clock=clock))
        view = report.view()
        assert not partial and view["azure"]["captured"]
        assert sorted(c["name"] for c in view["clusters"]) == sorted(NAMES)
        assert all(c["status"] == "ok" for c in view["clusters"])
        snapshot_view, _ = build_report(EXAMPLES / "fleet.yaml")
        assert view["uses"] == snapshot_view.view()["uses"]


def test_a_batch_failing_past_every_retry_is_reported_and_the_other_batches_written(served: Discover,
                                                                                  capsys) -> None:  # type: ignore[no-untyped-def]
    served.arm.faults.add(Fault(service="arm", operation="resourcegraph", status=503,
                                when=lambda r: SUB2.encode() in (r.body or b"")))
    code, out = served.run(settings={"batch_size": 1})
    assert code is ExitCode.PARTIAL and _names(out) == ["aks-prod-eus", "aks-prod-weu"]
    assert [len(r.json()["subscriptions"]) for r in served.graph_requests()] == [1, 1] + [1] * 6
    assert len(served.clock.sleeps) == 5                               # backoff between the six attempts, on the clock
    assert f"error: subscription {SUB2}: Resource Graph query: HTTP 503" in capsys.readouterr().err
