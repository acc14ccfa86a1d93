"""Building the inventory from documents: what the built objects share (plain data, no servers)."""

from __future__ import annotations

from tests.catalog.docs import cluster, controller, pod


def test_equal_pod_templates_are_one_object_and_different_ones_stay_apart() -> None:
    replicas = [pod("a", f"web-5d4f-{i}", sa="web", owner=("ReplicaSet", "web-5d4f")) for i in range(5)]
    c = cluster(
        replicasets=[controller("ReplicaSet", "a", "web-5d4f", owner=("Deployment", "web"), sa="web")],
        deployments=[controller("Deployment", "a", "web", sa="web")],
        pods=[*replicas, pod("a", "other", sa="other", owner=("ReplicaSet", "web-5d4f"))],
    )
    pods = {p.ref.name: p for p in c.pods or ()}
    web = [pods[f"web-5d4f-{i}"] for i in range(5)]
    # five equal replicas hold one template (and one owner reference), not five copies
    assert len({id(p.template) for p in web}) == 1
    assert len({id(p.owner) for p in web}) == 1
    assert all(p.template == web[0].template for p in web)
    # a pod with another service account keeps its own, and sharing never merges different templates
    assert pods["other"].template.service_account == "other"
    assert pods["other"].template is not web[0].template
    assert web[0].template.service_account == "web"
    # the containers of equal pods are shared even where the templates differ
    assert pods["other"].template.containers is web[0].template.containers
