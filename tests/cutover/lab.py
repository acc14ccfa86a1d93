"""A small synthetic fleet for the cutover tests: one cluster, ``aks-lab``, with every kind the cutover
patches in place (Deployment, StatefulSet, DaemonSet, CronJob) bound to one identity in namespace
``demo``, a Deployment in namespace ``other`` matched by the same binding (cluster-wide matching), the
workload identity webhook with its Deployment, and AAD Pod Identity in standard mode (NMI + MIC)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from testkit.synth import (
    TENANT,
    TS,
    _uid,
    cluster_objects,
    deployment,
    identity,
    managed_cluster,
    pod_for,
    write_fleet,
    write_snapshot,
)

CLUSTER = "aks-lab"
NS = "demo"


def _daemonset(ns: str, name: str, labels: dict[str, str], sa: str | None, image: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": name, "image": image}]}
    if sa:
        spec["serviceAccountName"] = sa
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": ns, "uid": _uid("DaemonSet", ns, name), "resourceVersion": "10120",
                         "generation": 1, "creationTimestamp": TS, "labels": {"app": name}},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name, **labels}}, "spec": spec}},
            "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 3,
                       "updatedNumberScheduled": 3, "numberAvailable": 3, "numberMisscheduled": 0,
                       "observedGeneration": 1}}


def lab_objects() -> dict[str, list[dict[str, Any]]]:
    objs = cluster_objects(CLUSTER)
    objs["namespaces"].append({"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": "other", "uid": _uid("ns", "other"), "resourceVersion": "100",
                                            "creationTimestamp": TS,
                                            "labels": {"kubernetes.io/metadata.name": "other"}}})
    objs["serviceaccounts"].append({"apiVersion": "v1", "kind": "ServiceAccount",
                                    "metadata": {"name": "default", "namespace": "other", "uid": _uid("sa", "o"),
                                                 "creationTimestamp": TS}})
    # the CronJob uses the demo identity too
    cj = objs["cronjobs"][0]
    cj["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]["aadpodidbinding"] = "demo"
    cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["serviceAccountName"] = "app-sa"
    # a DaemonSet bound in place, and one in another namespace matched by the same binding
    agent = _daemonset(NS, "log-agent", {"aadpodidbinding": "demo"}, "app-sa", "myregistry.azurecr.io/agent:3.2")
    objs["daemonsets"].append(agent)
    for i in range(3):
        objs["pods"].append(pod_for(agent, i, "DaemonSet", name=f"log-agent-x{i}",
                                    node=f"aks-nodepool1-12345678-vmss{i:06d}"))
    reporter = deployment("other", "reporter", 1, {"aadpodidbinding": "demo"})
    objs["deployments"].append(reporter)
    rs = copy.deepcopy(objs["replicasets"][0])
    rs["metadata"].update(name="reporter-5f7c9d8b6c", namespace="other", uid=_uid("ReplicaSet", "other", "r"))
    rs["metadata"]["ownerReferences"][0].update(name="reporter", uid=reporter["metadata"]["uid"])
    rs["spec"]["template"] = reporter["spec"]["template"]
    objs["replicasets"].append(rs)
    objs["pods"].append(pod_for(reporter, 0, owner_name=rs["metadata"]["name"],
                                extra_labels={"pod-template-hash": "5f7c9d8b6c"}))
    # a second identity whose workload shares the service account app-sa: the plan splits it off
    billing = deployment(NS, "billing", 1, {"aadpodidbinding": "billing"}, sa="app-sa")
    objs["deployments"].append(billing)
    brs = copy.deepcopy(objs["replicasets"][0])
    brs["metadata"].update(name="billing-7c6b5a4d3e", uid=_uid("ReplicaSet", NS, "billing"))
    brs["metadata"]["ownerReferences"][0].update(name="billing", uid=billing["metadata"]["uid"])
    brs["spec"]["template"] = billing["spec"]["template"]
    objs["replicasets"].append(brs)
    objs["pods"].append(pod_for(billing, 0, owner_name=brs["metadata"]["name"],
                                extra_labels={"pod-template-hash": "7c6b5a4d3e"}))
    # the legacy namespace's capitalized objects are not needed here
    objs["deployments"] = [d for d in objs["deployments"] if d["metadata"]["namespace"] != "legacy"]
    objs["replicasets"] = [r for r in objs["replicasets"] if r["metadata"]["namespace"] != "legacy"]
    objs["pods"] = [p for p in objs["pods"] if p["metadata"]["namespace"] != "legacy"]
    objs["azureidentities"] = objs["azureidentities"][:1]
    objs["azureidentitybindings"] = objs["azureidentitybindings"][:1]
    bill = identity("billing-id")
    objs["azureidentities"].append({
        "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
        "metadata": {"name": "billing-id", "namespace": NS, "uid": _uid("ai", "billing"), "creationTimestamp": TS},
        "spec": {"type": 0, "resourceID": bill["id"], "clientID": bill["properties"]["clientId"]}})
    objs["azureidentitybindings"].append({
        "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentityBinding",
        "metadata": {"name": "billing-binding", "namespace": NS, "uid": _uid("aib", "billing"),
                     "creationTimestamp": TS},
        "spec": {"azureIdentity": "billing-id", "selector": "billing"}})
    # the webhook's Deployment (self-installed chart, v1.6.0) and MIC (standard mode)
    hook = deployment("kube-system", "azure-wi-webhook-controller-manager", 2,
                      {"azure-workload-identity.io/system": "true"},
                      image="mcr.microsoft.com/oss/azure/workload-identity/webhook:v1.6.0")
    mic = deployment("kube-system", "mic", 2, {"component": "mic", "app": "mic"},
                     image="mcr.microsoft.com/oss/azure/aad-pod-identity/mic:v1.8.17")
    objs["deployments"] += [hook, mic]
    for d in (hook, mic):
        for i in range(2):
            objs["pods"].append(pod_for(d, i, owner_name=f"{d['metadata']['name']}-6d5c4b3a2f",
                                        extra_labels={"pod-template-hash": "6d5c4b3a2f"}))
    objs["azureassignedidentities"] = [{
        "apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureAssignedIdentity",
        "metadata": {"name": "demo-00000-demo-demo-aad1", "namespace": "default", "uid": _uid("aai", "1"),
                     "creationTimestamp": TS, "finalizers": ["azureassignedidentity.finalizers.aadpodidentity.k8s.io"],
                     "labels": {"nodename": "aks-nodepool1-12345678-vmss000000"}},
        "spec": {"pod": "demo-00000", "podNamespace": "demo", "nodename": "aks-nodepool1-12345678-vmss000000",
                 "azureIdentityRef": {"metadata": {"name": "demo-aad1", "namespace": "demo"}},
                 "azureBindingRef": {"metadata": {"name": "demo-azure-id-binding", "namespace": "demo"}}},
        "status": {"status": "Assigned"}}]
    return objs


def write_lab_fleet(root: Path) -> Path:
    """The snapshot folder and fleet file of the lab (planned with the usual defaults)."""
    ids = [identity("demo-aad1"), identity("billing-id")]
    managed = managed_cluster(CLUSTER, pod_identity=False, identities=ids)
    write_snapshot(str(root / "snap"), CLUSTER, objects=lab_objects(), managed=managed, identities=ids)
    path = root / "fleet.yaml"
    write_fleet(str(path), [{"name": CLUSTER, "region": "eastus",
                             "subscriptionId": "00000000-0000-0000-0000-000000000000", "resourceGroup": "rg1",
                             "snapshot": f"snap/{CLUSTER}"}])
    text = f"tenantId: {TENANT}\n" + path.read_text() + "azure:\n  snapshot: snap/azure\n"
    path.write_text(text)
    return path
