"""Binding resolution by AAD Pod Identity's own rules, on small documents (no servers, no mocks)."""

from __future__ import annotations

from migrator.inventory.resolve import resolve
from tests.catalog.docs import addon_cluster, binding, cluster, controller, identity, nmi, pod


def _triples(res) -> list[tuple[str, str, str, list[str]]]:
    return [(u.namespace, u.service_account, u.identity.name, [str(w) for w in u.workloads]) for u in res.uses]


def test_binding_matches_templates_of_every_controller_kind_in_any_namespace() -> None:
    c = cluster(
        azureidentities=[identity("ids", "payments-id")],
        azureidentitybindings=[binding("ids", "payments-binding", "payments-id", "payments")],
        deployments=[controller("Deployment", "pay", "api", selector="payments", sa="api")],
        statefulsets=[controller("StatefulSet", "pay", "db", selector="payments", sa="db")],
        daemonsets=[controller("DaemonSet", "ops", "agent", selector="payments")],
        cronjobs=[controller("CronJob", "pay", "nightly", selector="payments", sa="api")],
        jobs=[controller("Job", "pay", "once", selector="payments", sa="api")],
        pods=[pod("pay", "bare", selector="payments", sa="bare-sa")],
    )
    assert _triples(resolve(c)) == [
        ("ops", "default", "payments-id", ["DaemonSet/agent"]),
        ("pay", "api", "payments-id", ["CronJob/nightly", "Deployment/api", "Job/once"]),
        ("pay", "bare-sa", "payments-id", ["Pod/bare"]),
        ("pay", "db", "payments-id", ["StatefulSet/db"]),
    ]


def test_selector_equality_is_exact() -> None:
    c = cluster(
        azureidentities=[identity("a", "id")],
        azureidentitybindings=[binding("a", "b", "id", "demo")],
        deployments=[controller("Deployment", "a", "x", selector="Demo"), controller("Deployment", "a", "y",
                                                                                      selector="demo ")],
    )
    r = resolve(c)
    assert r.uses == () and r.bindings[0].workloads == ()


def test_force_namespaced_flag_managed_mode_env_and_behavior_annotation_make_matching_local() -> None:
    docs = dict(
        azureidentities=[identity("a", "id")],
        azureidentitybindings=[binding("a", "b", "id", "demo")],
        deployments=[controller("Deployment", "a", "same-ns", selector="demo"),
                     controller("Deployment", "other", "other-ns", selector="demo")],
    )
    wide = resolve(cluster(**docs, daemonsets=[nmi("--operation-mode=standard")]))
    assert [str(w) for u in wide.uses for w in u.workloads] == ["Deployment/same-ns", "Deployment/other-ns"]
    for variant in (
        dict(daemonsets=[nmi("--forceNamespaced")]),
        dict(daemonsets=[nmi("--forceNamespaced=true")]),
        dict(daemonsets=[nmi("--operation-mode=managed", "--forceNamespaced")]),
        dict(daemonsets=[nmi(env={"FORCENAMESPACED": "true"})]),
    ):
        local = resolve(cluster(**docs, **variant))
        assert [str(w) for u in local.uses for w in u.workloads] == ["Deployment/same-ns"], variant
    annotated = dict(docs, azureidentities=[identity("a", "id", annotations={"aadpodidentity.k8s.io/Behavior": "namespaced"})])
    assert [str(w) for u in resolve(cluster(**annotated)).uses for w in u.workloads] == ["Deployment/same-ns"]


def test_identity_is_looked_up_in_the_bindings_own_namespace() -> None:
    c = cluster(
        azureidentities=[identity("elsewhere", "id")],
        azureidentitybindings=[binding("a", "b", "id", "demo")],
        deployments=[controller("Deployment", "a", "x", selector="demo")],
    )
    r = resolve(c)
    assert r.bindings[0].identity is None and r.bindings[0].workloads
    assert r.uses == ()


def test_shared_selector_gives_one_pod_several_identities() -> None:
    c = cluster(
        azureidentities=[identity("a", "id1", client_id="c1"), identity("a", "id2", client_id="c2")],
        azureidentitybindings=[binding("a", "b1", "id1", "demo"), binding("a", "b2", "id2", "demo")],
        deployments=[controller("Deployment", "a", "x", selector="demo", sa="x")],
    )
    assert _triples(resolve(c)) == [("a", "x", "id1", ["Deployment/x"]), ("a", "x", "id2", ["Deployment/x"])]


def test_running_pods_roll_up_to_their_controller_and_unread_owners_are_kept() -> None:
    c = cluster(
        azureidentities=[identity("a", "id")],
        azureidentitybindings=[binding("a", "b", "id", "demo")],
        deployments=[controller("Deployment", "a", "web", sa="web")],  # template lacks the label...
        replicasets=[controller("ReplicaSet", "a", "web-5d4f", owner=("Deployment", "web"), sa="web"),
                     controller("ReplicaSet", "a", "canary-7c9", owner=("Rollout", "canary"), selector="demo",
                                sa="canary")],
        pods=[pod("a", "web-5d4f-abcde", selector="demo", sa="web", owner=("ReplicaSet", "web-5d4f")),  # ...a pod has it
              pod("a", "canary-7c9-xyz", selector="demo", sa="canary", owner=("ReplicaSet", "canary-7c9")),
              pod("a", "wf-1", selector="demo", sa="wf", owner=("Workflow", "nightly"))],
    )
    assert _triples(resolve(c)) == [
        ("a", "canary", "id", ["Rollout/canary"]),
        ("a", "web", "id", ["Deployment/web"]),
        ("a", "wf", "id", ["Workflow/nightly"]),
    ]


def test_default_service_account_when_unset() -> None:
    c = cluster(azureidentities=[identity("a", "id")], azureidentitybindings=[binding("a", "b", "id", "demo")],
                deployments=[controller("Deployment", "a", "x", selector="demo")])
    assert _triples(resolve(c)) == [("a", "default", "id", ["Deployment/x"])]


def test_legacy_schema_is_inactive_under_v16_controllers_and_live_below() -> None:
    docs = dict(azureidentities=[identity("a", "id", keys="legacy")],
                azureidentitybindings=[binding("a", "b", "id", "demo", keys="legacy")],
                deployments=[controller("Deployment", "a", "x", selector="demo")])
    modern = resolve(cluster(**docs, daemonsets=[nmi()]))
    assert modern.uses == () and len(modern.inactive_uses) == 1
    assert "v1.8.17" in (modern.bindings[0].inactive_reason or "")
    old = resolve(cluster(**docs, daemonsets=[nmi(image="mcr.microsoft.com/k8s/aad-pod-identity/nmi:1.5.5")]))
    assert len(old.uses) == 1 and old.inactive_uses == ()


def test_addon_identities_act_as_bindings_and_their_crd_twins_count_once() -> None:
    rid = "/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pay"
    mc = addon_cluster([{"name": "pay", "namespace": "a", "bindingSelector": "pay-sel",
                         "identity": {"resourceId": rid, "clientId": "c-pay", "objectId": "o"}}])
    twin_identity = identity("a", "pay", resource_id=rid.replace("resourcegroups", "resourceGroups"), client_id="c-pay")
    twin_binding = binding("a", "pay-binding", "pay", "pay-sel")
    c = cluster(managed_cluster=mc, azureidentities=[twin_identity], azureidentitybindings=[twin_binding],
                deployments=[controller("Deployment", "a", "x", selector="pay-sel", sa="x"),
                             controller("Deployment", "b", "y", selector="pay-sel", sa="y")])
    r = resolve(c)
    assert len(r.bindings) == 1 and r.bindings[0].binding.managed_by == "add-on"
    assert len(r.identities) == 1 and r.identities[0].managed_by == "add-on"
    # the add-on runs managed mode: namespaced matching
    assert _triples(r) == [("a", "x", "pay", ["Deployment/x"])]
    without_twins = resolve(cluster(managed_cluster=mc, deployments=[controller("Deployment", "a", "x",
                                                                                selector="pay-sel", sa="x")]))
    assert _triples(without_twins) == [("a", "x", "pay", ["Deployment/x"])]
    assert without_twins.bindings[0].binding.origin.value == "addon"
