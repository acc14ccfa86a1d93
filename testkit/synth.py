"""Synthetic snapshot data for the servers' own tests and for benchmarks.

Shapes follow ``shared/fixtures/kube/synthetic`` and ``shared/fixtures/arm`` (AAD Pod Identity
objects in both field casings, a workload-identity-annotated ServiceAccount, an NMI DaemonSet, a
managed cluster with podIdentityProfile + OIDC issuer), but everything is generated in code so the
repository's tests do not depend on files outside it.

``write_snapshot`` writes the normative layout (``<root>/<cluster>/kube/<plural>.json``,
``managedcluster.json``, ``vmss.json``, ``<root>/azure/*.json``); ``bulk_pods`` makes benchmark-size
pod lists.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from typing import Any, Iterable

from .kube_types import by_plural

__all__ = ["SUB", "TENANT", "RG", "managed_cluster", "identity", "cluster_objects", "write_snapshot", "bulk_pods",
           "write_fleet", "deployment", "service_account", "pod_for", "issuer_for"]

SUB = "00000000-0000-0000-0000-000000000000"
TENANT = "b6c948ef-f6b5-4384-8354-da3a15eca969"
RG = "rg1"
TS = "2025-06-01T10:00:00Z"


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def issuer_for(cluster: str, region: str = "eastus") -> str:
    return f"https://{region}.oic.prod-aks.azure.com/{TENANT}/{_uid('issuer', cluster)}/"


def identity(name: str, sub: str = SUB, rg: str = RG, location: str = "eastus",
             client_id: str | None = None, principal_id: str | None = None) -> dict[str, Any]:
    return {"id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ManagedIdentity/"
                  f"userAssignedIdentities/{name}",
            "name": name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "location": location,
            "tags": {}, "properties": {"tenantId": TENANT, "principalId": principal_id or _uid("principal", name),
                                       "clientId": client_id or _uid("client", name), "isolationScope": "None"}}


def managed_cluster(name: str, sub: str = SUB, rg: str = RG, location: str = "eastus", issuer: str | None = None,
                    pod_identity: bool = True, workload_identity: bool = True, cli_shape: bool = False,
                    kubernetes_version: str = "1.33.2", identities: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """A managedClusters GET body (REST shape, or ``az aks show`` shape with ``cli_shape``)."""
    issuer = issuer or issuer_for(name, location)
    props: dict[str, Any] = {
        "provisioningState": "Succeeded", "kubernetesVersion": kubernetes_version,
        "currentKubernetesVersion": kubernetes_version, "dnsPrefix": name,
        "fqdn": f"{name}-abcd1234.hcp.{location}.azmk8s.io", "enableRBAC": True,
        "nodeResourceGroup": f"MC_{rg}_{name}_{location}",
        "agentPoolProfiles": [{"name": "nodepool1", "count": 3, "vmSize": "Standard_DS2_v2", "osType": "Linux",
                               "mode": "System", "orchestratorVersion": kubernetes_version}],
        "podIdentityProfile": {"enabled": pod_identity, "allowNetworkPluginKubenet": False,
                               "userAssignedIdentities": [
                                   {"name": i["name"], "namespace": "demo", "bindingSelector": i["name"],
                                    "identity": {"resourceId": i["id"], "clientId": i["properties"]["clientId"],
                                                 "objectId": i["properties"]["principalId"]},
                                    "provisioningState": "Assigned"} for i in identities],
                               "userAssignedIdentityExceptions": [
                                   {"name": "flux-extension-exception", "namespace": "flux-system",
                                    "podLabels": {"app.kubernetes.io/name": "flux-extension"}}]},
        "oidcIssuerProfile": {"enabled": True, "issuerURL": issuer},
        "securityProfile": {"workloadIdentity": {"enabled": workload_identity}},
        "identityProfile": {"kubeletidentity": {
            "resourceId": f"/subscriptions/{sub}/resourcegroups/MC_{rg}_{name}_{location}/providers/"
                          f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}-agentpool",
            "clientId": _uid("kubelet", name), "objectId": _uid("kubelet-oid", name)}},
    }
    body = {"id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/"
                  f"managedClusters/{name}", "name": name, "type": "Microsoft.ContainerService/managedClusters",
            "location": location, "tags": {}, "properties": props}
    if not cli_shape:
        return body
    flat = {k: v for k, v in body.items() if k != "properties"}
    flat.update(copy.deepcopy(props))
    flat["oidcIssuerProfile"] = {"enabled": True, "issuerUrl": issuer}
    flat["enableRbac"] = flat.pop("enableRBAC")
    flat["resourceGroup"] = rg
    return flat


def service_account(ns: str, name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": _uid("sa", ns, name), "resourceVersion": "300",
                            "creationTimestamp": TS}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}


def deployment(ns: str, name: str, replicas: int = 2, labels: dict[str, str] | None = None, sa: str | None = None,
               image: str = "myregistry.azurecr.io/app:1.0.0") -> dict[str, Any]:
    tl = {"app": name, **(labels or {})}
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": image}]}
    if sa:
        spec["serviceAccountName"] = sa
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": _uid("deploy", ns, name), "resourceVersion": "10100",
                         "generation": 1, "creationTimestamp": TS, "labels": dict(tl)},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": tl}, "spec": spec}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                       "updatedReplicas": replicas, "observedGeneration": 1}}


def pod_for(owner: dict[str, Any], index: int, owner_kind: str = "ReplicaSet", owner_name: str | None = None,
            node: str = "aks-nodepool1-12345678-vmss000000", name: str | None = None,
            extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    tmpl = owner["spec"]["template"]
    ns = owner["metadata"]["namespace"]
    oname = owner_name or owner["metadata"]["name"]
    pname = name or f"{oname}-{index:05d}"
    spec = copy.deepcopy(tmpl.get("spec") or {})
    sa = spec.get("serviceAccountName") or "default"
    spec.update({"serviceAccountName": sa, "serviceAccount": sa, "nodeName": node})
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pname, "namespace": ns, "uid": _uid("pod", ns, pname), "resourceVersion": "10201",
                         "creationTimestamp": TS,
                         "labels": {**(tmpl.get("metadata") or {}).get("labels", {}), **(extra_labels or {})},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner_kind, "name": oname,
                                              "uid": _uid(owner_kind, ns, oname), "controller": True,
                                              "blockOwnerDeletion": True}]},
            "spec": spec, "status": {"phase": "Running", "podIP": f"10.244.0.{10 + index % 200}"}}


def cluster_objects(name: str = "aks-demo", client_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """A small cluster that uses AAD Pod Identity (both CRD field casings) and one WI workload."""
    demo_id = identity("demo-aad1")
    cid = client_id or demo_id["properties"]["clientId"]
    objs: dict[str, list[dict[str, Any]]] = {}
    objs["namespaces"] = [{"apiVersion": "v1", "kind": "Namespace",
                           "metadata": {"name": n, "uid": _uid("ns", n), "resourceVersion": "100",
                                        "creationTimestamp": TS, "labels": {"kubernetes.io/metadata.name": n}},
                           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                          for n in ("default", "kube-system", "flux-system", "demo", "legacy", "wi-demo")]
    objs["serviceaccounts"] = [
        service_account(n, "default") for n in ("default", "kube-system", "flux-system", "demo", "legacy", "wi-demo")
    ] + [service_account("demo", "app-sa"),
         service_account("wi-demo", "workload-identity-sa", {
             "azure.workload.identity/client-id": cid, "azure.workload.identity/tenant-id": TENANT,
             "azure.workload.identity/service-account-token-expiration": "86400"})]
    demo = deployment("demo", "demo", 2, {"aadpodidbinding": "demo"}, sa="app-sa")
    legacy = deployment("legacy", "legacy-app", 1, {"aadpodidbinding": "legacy"})
    wi = deployment("wi-demo", "wi-app", 1, {"azure.workload.identity/use": "true"}, sa="workload-identity-sa")
    objs["deployments"] = [demo, legacy, wi]
    objs["replicasets"] = []
    objs["pods"] = []
    for d in objs["deployments"]:
        rs_name = f"{d['metadata']['name']}-7d9f8c6b5d"
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": rs_name, "namespace": d["metadata"]["namespace"],
                           "uid": _uid("ReplicaSet", d["metadata"]["namespace"], rs_name), "resourceVersion": "10110",
                           "creationTimestamp": TS, "labels": {**d["spec"]["template"]["metadata"]["labels"],
                                                               "pod-template-hash": "7d9f8c6b5d"},
                           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                "name": d["metadata"]["name"], "uid": d["metadata"]["uid"],
                                                "controller": True, "blockOwnerDeletion": True}]},
              "spec": {"replicas": d["spec"]["replicas"],
                       "selector": {"matchLabels": {**d["spec"]["selector"]["matchLabels"],
                                                    "pod-template-hash": "7d9f8c6b5d"}},
                       "template": d["spec"]["template"]},
              "status": {"replicas": d["spec"]["replicas"], "readyReplicas": d["spec"]["replicas"]}}
        objs["replicasets"].append(rs)
        for i in range(d["spec"]["replicas"]):
            objs["pods"].append(pod_for(d, i, owner_name=rs_name, extra_labels={"pod-template-hash": "7d9f8c6b5d"},
                                        node=f"aks-nodepool1-12345678-vmss{i % 3:06d}"))
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "db", "namespace": "demo", "uid": _uid("StatefulSet", "demo", "db"),
                        "resourceVersion": "10120", "generation": 1, "creationTimestamp": TS},
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db", "aadpodidbinding": "demo"}},
                                 "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}},
           "status": {"replicas": 2, "readyReplicas": 2, "currentReplicas": 2, "updatedReplicas": 2,
                      "currentRevision": "db-5b8c6f9d7", "updateRevision": "db-5b8c6f9d7", "observedGeneration": 1}}
    objs["statefulsets"] = [sts]
    for i in range(2):
        objs["pods"].append(pod_for(sts, i, "StatefulSet", name=f"db-{i}",
                                    extra_labels={"controller-revision-hash": "db-5b8c6f9d7",
                                                  "statefulset.kubernetes.io/pod-name": f"db-{i}"}))
    nmi = {"apiVersion": "apps/v1", "kind": "DaemonSet",
           "metadata": {"name": "nmi", "namespace": "kube-system", "uid": _uid("DaemonSet", "kube-system", "nmi"),
                        "resourceVersion": "10120", "generation": 1, "creationTimestamp": TS,
                        "labels": {"component": "nmi", "k8s-app": "aad-pod-id"}},
           "spec": {"selector": {"matchLabels": {"component": "nmi"}},
                    "template": {"metadata": {"labels": {"component": "nmi", "tier": "node"}},
                                 "spec": {"hostNetwork": True, "containers": [
                                     {"name": "nmi", "image": "mcr.microsoft.com/oss/azure/aad-pod-identity/"
                                                              "nmi:v1.8.17"}]}}},
           "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 3,
                      "updatedNumberScheduled": 3, "numberAvailable": 3, "numberMisscheduled": 0,
                      "observedGeneration": 1}}
    objs["daemonsets"] = [nmi]
    for i in range(3):
        objs["pods"].append(pod_for(nmi, i, "DaemonSet", name=f"nmi-{'abc'[i]}x{i}k9",
                                    node=f"aks-nodepool1-12345678-vmss{i:06d}"))
    objs["cronjobs"] = [{"apiVersion": "batch/v1", "kind": "CronJob",
                         "metadata": {"name": "nightly-export", "namespace": "demo",
                                      "uid": _uid("CronJob", "demo", "nightly-export"), "resourceVersion": "10130",
                                      "generation": 1, "creationTimestamp": TS},
                         "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {
                             "metadata": {"labels": {"aadpodidbinding": "exporter"}},
                             "spec": {"restartPolicy": "OnFailure", "containers": [
                                 {"name": "export", "image": "myregistry.azurecr.io/export:2.1.0"}]}}}}},
                         "status": {}}]
    objs["jobs"] = []
    g = "aadpodidentity.k8s.io/v1"
    objs["azureidentities"] = [
        {"apiVersion": g, "kind": "AzureIdentity",
         "metadata": {"name": "demo-aad1", "namespace": "demo", "uid": _uid("ai", "demo"), "resourceVersion": "10170",
                      "generation": 1, "creationTimestamp": TS},
         "spec": {"type": 0, "resourceID": demo_id["id"], "clientID": cid}},
        {"apiVersion": g, "kind": "AzureIdentity",
         "metadata": {"name": "legacy-id", "namespace": "legacy", "uid": _uid("ai", "legacy"),
                      "resourceVersion": "10170", "generation": 1, "creationTimestamp": TS},
         "spec": {"type": 0, "ResourceID": identity("legacy-id")["id"],
                  "ClientID": identity("legacy-id")["properties"]["clientId"]}}]
    objs["azureidentitybindings"] = [
        {"apiVersion": g, "kind": "AzureIdentityBinding",
         "metadata": {"name": "demo-azure-id-binding", "namespace": "demo", "uid": _uid("aib", "demo"),
                      "resourceVersion": "10170", "generation": 1, "creationTimestamp": TS},
         "spec": {"azureIdentity": "demo-aad1", "selector": "demo"}},
        {"apiVersion": g, "kind": "AzureIdentityBinding",
         "metadata": {"name": "legacy-binding", "namespace": "legacy", "uid": _uid("aib", "legacy"),
                      "resourceVersion": "10170", "generation": 1, "creationTimestamp": TS},
         "spec": {"AzureIdentity": "legacy-id", "Selector": "legacy", "Weight": 1}}]
    objs["azurepodidentityexceptions"] = [
        {"apiVersion": g, "kind": "AzurePodIdentityException",
         "metadata": {"name": "flux-extension-exception", "namespace": "flux-system", "uid": _uid("ape", "flux"),
                      "resourceVersion": "10170", "generation": 1, "creationTimestamp": TS},
         "spec": {"podLabels": {"app.kubernetes.io/name": "flux-extension"}}}]
    objs["mutatingwebhookconfigurations"] = [
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
         "metadata": {"name": "azure-wi-webhook-mutating-webhook-configuration", "uid": _uid("mwc"),
                      "resourceVersion": "10180", "generation": 1, "creationTimestamp": TS},
         "webhooks": [{"name": "mutation.azure-workload-identity.io", "failurePolicy": "Fail",
                       "objectSelector": {"matchLabels": {"azure.workload.identity/use": "true"}},
                       "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                  "resources": ["pods"]}], "sideEffects": "None",
                       "admissionReviewVersions": ["v1", "v1beta1"],
                       "clientConfig": {"service": {"name": "azure-wi-webhook-webhook-service",
                                                    "namespace": "kube-system", "path": "/mutate-v1-pod"}}}]}]
    return objs


def _as_kubectl_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


def _as_raw_list(plural: str, items: list[dict[str, Any]], rv: str = "10300") -> dict[str, Any]:
    t = by_plural(plural)
    assert t is not None
    if t.builtin:
        items = [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in items]
    return {"kind": t.list_kind, "apiVersion": t.api_version, "metadata": {"resourceVersion": rv}, "items": items}


def write_snapshot(root: str, name: str = "aks-demo", *, objects: dict[str, list[dict[str, Any]]] | None = None,
                   kubectl_list: bool = True, raw_plurals: Iterable[str] = (), managed: dict[str, Any] | None = None,
                   cli_shape: bool = False, vmss: list[dict[str, Any]] | None = None,
                   identities: list[dict[str, Any]] | None = None, fics: list[dict[str, Any]] | None = None,
                   role_assignments: list[dict[str, Any]] | None = None, bare_arrays: bool = False) -> str:
    """Write ``<root>/<name>/...`` (and ``<root>/azure/...`` when given).  Returns the cluster folder.

    Lists are written in ``kubectl get -A -o json`` shape unless the plural is in ``raw_plurals``
    (or ``kubectl_list=False``), then as a raw API list (items without kind/apiVersion)."""
    objs = objects if objects is not None else cluster_objects(name)
    cdir = os.path.join(root, name)
    os.makedirs(os.path.join(cdir, "kube"), exist_ok=True)
    raw = set(raw_plurals)
    for plural, items in objs.items():
        doc = _as_raw_list(plural, items) if (plural in raw or not kubectl_list) else _as_kubectl_list(items)
        with open(os.path.join(cdir, "kube", f"{plural}.json"), "w") as fh:
            json.dump(doc, fh)
    demo_ids = identities if identities is not None else [identity("demo-aad1"), identity("legacy-id")]
    mc = managed or managed_cluster(name, identities=demo_ids[:1], cli_shape=cli_shape)
    with open(os.path.join(cdir, "managedcluster.json"), "w") as fh:
        json.dump(mc, fh)
    node_rg = (mc.get("properties") or mc).get("nodeResourceGroup", f"MC_{RG}_{name}_eastus")
    vm = vmss if vmss is not None else [{
        "id": f"/subscriptions/{SUB}/resourceGroups/{node_rg}/providers/Microsoft.Compute/virtualMachineScaleSets/"
              "aks-nodepool1-12345678-vmss", "name": "aks-nodepool1-12345678-vmss",
        "type": "Microsoft.Compute/virtualMachineScaleSets", "location": "eastus",
        "sku": {"name": "Standard_DS2_v2", "tier": "Standard", "capacity": 3},
        "identity": {"type": "UserAssigned", "userAssignedIdentities": {
            i["id"]: {"principalId": i["properties"]["principalId"], "clientId": i["properties"]["clientId"]}
            for i in demo_ids}},
        "properties": {"provisioningState": "Succeeded"}}]
    with open(os.path.join(cdir, "vmss.json"), "w") as fh:
        json.dump({"value": vm}, fh)
    az = os.path.join(root, "azure")
    os.makedirs(az, exist_ok=True)

    def _write(fn: str, items: list[dict[str, Any]] | None) -> None:
        if items is None:
            return
        with open(os.path.join(az, fn), "w") as fh:
            json.dump(items if bare_arrays else {"value": items}, fh)

    _write("identities.json", demo_ids)
    _write("federatedIdentityCredentials.json", fics if fics is not None else [])
    _write("roleAssignments.json", role_assignments if role_assignments is not None else [])
    return cdir


def bulk_pods(n: int, namespace: str = "load", prefix: str = "load", labels_every: int = 10,
              padding: int = 0) -> list[dict[str, Any]]:
    """``n`` pods; every ``labels_every``-th carries ``aadpodidbinding``; ``padding`` adds bytes per pod."""
    out = []
    for i in range(n):
        labels = {"app": f"{prefix}-{i % 50}"}
        if labels_every and i % labels_every == 0:
            labels["aadpodidbinding"] = f"{prefix}-binding"
        meta: dict[str, Any] = {"name": f"{prefix}-{i:06d}", "namespace": namespace, "uid": _uid("bulk", prefix,
                                                                                                   str(i)),
                                "resourceVersion": str(20000 + i), "creationTimestamp": TS, "labels": labels}
        if padding:
            meta["annotations"] = {"padding": "x" * padding}
        out.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                    "spec": {"serviceAccountName": "default", "nodeName": f"aks-nodepool1-12345678-vmss{i % 3:06d}",
                             "containers": [{"name": "app", "image": "myregistry.azurecr.io/app:1.0.0"}]},
                    "status": {"phase": "Running"}})
    return out


def write_fleet(path: str, clusters: list[dict[str, Any]]) -> str:
    import yaml

    with open(path, "w") as fh:
        yaml.safe_dump({"clusters": clusters}, fh, sort_keys=False)
    return path
