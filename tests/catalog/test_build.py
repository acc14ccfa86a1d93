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
    # five equal replicas fold into the first of them, with their count
    assert sorted(pods) == ["other", "web-5d4f-0"]
    web = pods["web-5d4f-0"]
    assert web.count == 5 and str(web.owner) == "Deployment/web"
    # a pod with another service account stays apart, and sharing never merges different templates
    assert pods["other"].count == 1 and pods["other"].template.service_account == "other"
    assert pods["other"].template is not web.template and web.template.service_account == "web"
    # the containers of equal pods are shared even where the templates differ
    assert pods["other"].template.containers is web.template.containers


def test_pods_that_differ_in_phase_or_owner_are_not_folded() -> None:
    done = pod("a", "job-2", sa="web", owner=("ReplicaSet", "web-5d4f"))
    done["status"]["phase"] = "Succeeded"
    c = cluster(
        replicasets=[controller("ReplicaSet", "a", "web-5d4f", sa="web")],
        pods=[pod("a", "job-1", sa="web", owner=("ReplicaSet", "web-5d4f")), done,
              pod("a", "bare", sa="web")],
    )
    assert sorted((p.ref.name, p.phase, str(p.owner), p.count) for p in c.pods or ()) == [
        ("bare", "Running", "Pod/bare", 1),
        ("job-1", "Running", "ReplicaSet/web-5d4f", 1),
        ("job-2", "Succeeded", "ReplicaSet/web-5d4f", 1),
    ]


def test_a_catalog_keeps_equal_values_of_its_clusters_once() -> None:
    """A peer group's clusters run the same workloads: with one table for the fleet, one template."""
    def peer(name: str, shared: dict | None, image: str = "contoso.azurecr.io/app:1") -> object:
        return cluster(name, shared_values=shared,
                       deployments=[controller("Deployment", "a", "web", sa="web", image=image)],
                       pods=[pod("a", "web-1", sa="web", owner=("ReplicaSet", "web-5d4f"))])

    table: dict = {}
    weu, eus = peer("aks-weu", table), peer("aks-eus", table)
    assert weu.workloads[0].template is eus.workloads[0].template  # type: ignore[attr-defined,index]
    assert weu.pods[0].template.labels is eus.pods[0].template.labels  # type: ignore[attr-defined,index]
    # without a shared table (or with different content) nothing is shared, and equality is unchanged
    alone = peer("aks-weu", None)
    assert alone.workloads[0].template == weu.workloads[0].template  # type: ignore[attr-defined,index]
    assert alone.workloads[0].template is not weu.workloads[0].template  # type: ignore[attr-defined,index]
    other = peer("aks-new", table, image="contoso.azurecr.io/app:2")
    assert other.workloads[0].template.containers[0].image == "contoso.azurecr.io/app:2"  # type: ignore[attr-defined,index]
    assert weu.workloads[0].template.containers[0].image == "contoso.azurecr.io/app:1"  # type: ignore[attr-defined,index]


def test_aks_labelled_objects_are_the_add_ons_unless_the_managed_cluster_says_it_is_off() -> None:
    from tests.catalog.docs import addon_cluster, binding, identity

    labelled = identity("apps", "api")
    labelled["metadata"]["labels"] = {"kubernetes.azure.com/managedby": "aks"}
    bound = binding("apps", "api", "api", "api")
    bound["metadata"]["labels"] = {"kubernetes.azure.com/managedby": "aks"}
    off = addon_cluster([])
    off["properties"]["podIdentityProfile"]["enabled"] = False

    def owners(**kw: object) -> list[str]:
        c = cluster(azureidentities=[labelled], azureidentitybindings=[bound], **kw)  # type: ignore[arg-type]
        return [o.managed_by for o in (*(c.identities or ()), *(c.bindings or ()))]

    assert owners() == ["add-on", "add-on"]  # the managed cluster was not read: the label decides
    assert owners(managed_cluster=addon_cluster([])) == ["add-on", "add-on"]
    assert owners(managed_cluster=off) == ["manifest", "manifest"]  # leftovers of a disabled add-on
