#!/usr/bin/env python3
"""Generate the example fleet under examples/ (fleet.yaml + snapshots/).

Deterministic (stdlib only): every uid, hash suffix, IP and timestamp is derived from
names, so re-running produces byte-identical files. The generated files are the
truth; this script exists so they can be regenerated and reviewed.

    python3 examples/make_snapshots.py

Shapes follow the reference pack (shared/reference/*.md) and the verbatim upstream
fixtures (shared/fixtures/): kubectl `List` output (items carry kind/apiVersion, keys
sorted like kubectl prints them) for most kube files, raw API lists (`PodList`, items
without kind/apiVersion for built-in types) for a few, ARM REST bodies for most
managedClusters and `az aks show -o json` (flattened, SDK camelCase, sorted keys)
for aks-prod-eus. See examples/README.md for the story of each cluster.
"""
from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import shutil
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SNAP = HERE / "snapshots"

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB_PROD = "00000000-0000-0000-0000-000000000001"
SUB_NONPROD = "00000000-0000-0000-0000-000000000002"
SNAPSHOT_TIME = dt.datetime(2026, 6, 15, 8, 0, 0, tzinfo=dt.timezone.utc)
UUID_NS = uuid.UUID("5d1f0c2e-8a4b-4f4e-9c61-0b356c8e2a17")
AUDIENCE = "api://AzureADTokenExchange"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"

AADPI_IMAGE = "mcr.microsoft.com/oss/azure/aad-pod-identity"
WI_ADDON_WEBHOOK_IMAGE = "mcr.microsoft.com/oss/v2/azure/workload-identity/webhook:v1.5.1"
WI_SELF_WEBHOOK_IMAGE = "mcr.microsoft.com/oss/azure/workload-identity/webhook:v1.6.0"


# --------------------------------------------------------------------------------------
# deterministic helpers
# --------------------------------------------------------------------------------------

def new_uuid(*parts: str) -> str:
    return str(uuid.uuid5(UUID_NS, "|".join(parts)))


def ts(days_ago: float = 0, hours: float = 0, minutes: float = 0) -> str:
    t = SNAPSHOT_TIME - dt.timedelta(days=days_ago, hours=hours, minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.SafeEncodeString alphabet


def suffix(seed: str, n: int = 5) -> str:
    h = hashlib.sha256(seed.encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in h[:n])


def hexd(seed: str, n: int = 64) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:n]


def digits(seed: str, n: int = 8) -> str:
    return str(int(hexd(seed, 16), 16))[:n]


def issuer_url(region: str, key: str) -> str:
    return f"https://{region}.oic.prod-aks.azure.com/{TENANT}/{new_uuid('oidc-issuer', key)}/"


# --------------------------------------------------------------------------------------
# Azure side: user-assigned identities, FICs, role assignments (global registry)
# --------------------------------------------------------------------------------------

class Uami:
    def __init__(self, sub: str, rg: str, name: str, location: str, tags: dict | None = None,
                 in_azure: bool = True):
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.tags = tags or {}
        self.in_azure = in_azure  # False: referenced from a cluster but deleted in Azure
        self.client_id = new_uuid("client", sub, rg, name)
        self.principal_id = new_uuid("principal", sub, rg, name)
        self.fics: list[dict] = []
        self.roles: list[tuple[str, str]] = []  # (roleDefinitionGuid, scope)

    def rid(self, lower_rg: bool = False) -> str:
        seg = "resourcegroups" if lower_rg else "resourceGroups"
        return (f"/subscriptions/{self.sub}/{seg}/{self.rg}/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}")

    def fic(self, name: str, issuer: str, subject: str) -> None:
        self.fics.append({"name": name, "issuer": issuer, "subject": subject})

    def role(self, role_guid: str, scope: str) -> None:
        self.roles.append((role_guid, scope))


UAMIS: dict[str, Uami] = {}


def uami(sub, rg, name, location, tags=None, in_azure=True) -> Uami:
    u = Uami(sub, rg, name, location, tags, in_azure)
    UAMIS[name] = u
    return u


# built-in role definition GUIDs
ROLE_KV_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
ROLE_STORAGE_BLOB_CONTRIB = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
ROLE_ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ROLE_MI_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830"
ROLE_VM_CONTRIBUTOR = "9980e02c-c2be-4d73-94e8-173b1dc7cf3c"
ROLE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ROLE_SB_DATA_RECEIVER = "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"
ROLE_MONITORING_READER = "43d0d8ad-25c7-4714-9337-8ba259a9fe05"


def scope(sub: str, rg: str, provider_path: str | None = None) -> str:
    s = f"/subscriptions/{sub}/resourceGroups/{rg}"
    return s + ("/providers/" + provider_path if provider_path else "")


# --------------------------------------------------------------------------------------
# Kubernetes object model for one cluster
# --------------------------------------------------------------------------------------

# plural -> (listKind, apiVersion, is_custom_resource)
LIST_KINDS = {
    "azureidentities": ("AzureIdentityList", "aadpodidentity.k8s.io/v1", True),
    "azureidentitybindings": ("AzureIdentityBindingList", "aadpodidentity.k8s.io/v1", True),
    "azureassignedidentities": ("AzureAssignedIdentityList", "aadpodidentity.k8s.io/v1", True),
    "azurepodidentityexceptions": ("AzurePodIdentityExceptionList", "aadpodidentity.k8s.io/v1", True),
    "pods": ("PodList", "v1", False),
    "deployments": ("DeploymentList", "apps/v1", False),
    "statefulsets": ("StatefulSetList", "apps/v1", False),
    "daemonsets": ("DaemonSetList", "apps/v1", False),
    "replicasets": ("ReplicaSetList", "apps/v1", False),
    "jobs": ("JobList", "batch/v1", False),
    "cronjobs": ("CronJobList", "batch/v1", False),
    "serviceaccounts": ("ServiceAccountList", "v1", False),
    "namespaces": ("NamespaceList", "v1", False),
    "customresourcedefinitions": ("CustomResourceDefinitionList", "apiextensions.k8s.io/v1", False),
    "mutatingwebhookconfigurations": ("MutatingWebhookConfigurationList", "admissionregistration.k8s.io/v1", False),
    "validatingadmissionpolicies": ("ValidatingAdmissionPolicyList", "admissionregistration.k8s.io/v1", False),
    "validatingadmissionpolicybindings": ("ValidatingAdmissionPolicyBindingList", "admissionregistration.k8s.io/v1", False),
    "secretproviderclasses": ("SecretProviderClassList", "secrets-store.csi.x-k8s.io/v1", True),
    "triggerauthentications": ("TriggerAuthenticationList", "keda.sh/v1alpha1", True),
    "clustertriggerauthentications": ("ClusterTriggerAuthenticationList", "keda.sh/v1alpha1", True),
}
BUILTIN_PLURALS = [p for p, (_, _, cr) in LIST_KINDS.items() if not cr]
# CRD name that has to be present for a custom-resource file to be captured
CR_CRD = {
    "azureidentities": "azureidentities.aadpodidentity.k8s.io",
    "azureidentitybindings": "azureidentitybindings.aadpodidentity.k8s.io",
    "azureassignedidentities": "azureassignedidentities.aadpodidentity.k8s.io",
    "azurepodidentityexceptions": "azurepodidentityexceptions.aadpodidentity.k8s.io",
    "secretproviderclasses": "secretproviderclasses.secrets-store.csi.x-k8s.io",
    "triggerauthentications": "triggerauthentications.keda.sh",
    "clustertriggerauthentications": "clustertriggerauthentications.keda.sh",
}


class Node:
    def __init__(self, name, pool, ip, os_):
        self.name, self.pool, self.ip, self.os = name, pool, ip, os_


class Cluster:
    def __init__(self, name, region, sub, group, k8s_version, created_days_ago, *,
                 network_plugin="azure"):
        self.name, self.region, self.sub, self.group = name, region, sub, group
        self.k8s_version = k8s_version
        self.created_days_ago = created_days_ago
        self.network_plugin = network_plugin
        self.rg = f"rg-{name}"
        self.node_rg = f"MC_{self.rg}_{name}_{region}"
        self.objects: dict[str, list[dict]] = {p: [] for p in LIST_KINDS}
        self.raw_shape: set[str] = set()     # plurals written as raw API lists
        self.not_captured: set[str] = set()  # plurals deliberately missing
        self.pools: list[dict] = []
        self.nodes: list[Node] = []
        self._rv = 4_000_000 + int(digits(name, 5))
        self._pod_ip = 0
        self.arm: dict = {}
        self.arm_shape = "rest"
        self.kubelet = uami(sub, self.node_rg, f"{name}-agentpool", region)
        self.kubelet.role(ROLE_ACR_PULL, scope(sub, "rg-acr-shared",
                                               "Microsoft.ContainerRegistry/registries/acrcontoso"))
        self.vmss_extra: dict[str, list[tuple[Uami, bool]]] = {}  # pool -> [(uami, lower-case key)]
        self.issuer: str | None = None

    # -- bookkeeping -----------------------------------------------------------------
    def rv(self) -> str:
        self._rv += 17
        return str(self._rv)

    def add(self, plural: str, obj: dict) -> dict:
        self.objects[plural].append(obj)
        return obj

    def get(self, plural: str, ns: str | None, name: str) -> dict | None:
        for o in self.objects[plural]:
            m = o["metadata"]
            if m["name"] == name and m.get("namespace") == ns:
                return o
        return None

    def pod_ip(self) -> str:
        self._pod_ip += 1
        return f"10.244.{self._pod_ip // 200}.{10 + self._pod_ip % 200}"

    def add_pool(self, name, count, vm_size, os_="linux", mode="User"):
        if os_ == "windows":
            vmss = name
            nodes = [f"{name}{i:06d}" for i in range(count)]
        else:
            sfx = digits(self.name + name, 8)
            vmss = f"aks-{name}-{sfx}-vmss"
            nodes = [f"{vmss}{i:06d}" for i in range(count)]
        base = len(self.nodes)
        for i, n in enumerate(nodes):
            self.nodes.append(Node(n, name, f"10.224.0.{4 + base + i}", os_))
        self.pools.append({"name": name, "count": count, "vmSize": vm_size, "os": os_,
                           "mode": mode, "vmss": vmss})
        self.vmss_extra.setdefault(name, [])

    def pool_nodes(self, pool: str) -> list[Node]:
        return [n for n in self.nodes if n.pool == pool]

    def assign_to_vmss(self, u: Uami, pools=None, lower_key=False):
        for p in self.pools:
            if pools is None or p["name"] in pools:
                self.vmss_extra[p["name"]].append((u, lower_key))

    # -- generic metadata ------------------------------------------------------------
    def meta(self, kind, name, ns=None, *, labels=None, annotations=None, owner=None,
             created=None, generation=None, finalizers=None, generate_name=None):
        m: dict = {"name": name}
        if generate_name:
            m["generateName"] = generate_name
        if ns is not None:
            m["namespace"] = ns
        m["uid"] = new_uuid(self.name, kind, ns or "", name)
        m["resourceVersion"] = self.rv()
        if generation is not None:
            m["generation"] = generation
        m["creationTimestamp"] = created or ts(self.created_days_ago)
        if labels:
            m["labels"] = dict(labels)
        if annotations:
            m["annotations"] = dict(annotations)
        if owner is not None:
            m["ownerReferences"] = [owner_ref(owner)]
        if finalizers:
            m["finalizers"] = list(finalizers)
        return m


def owner_ref(obj: dict) -> dict:
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
            "uid": obj["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


# --------------------------------------------------------------------------------------
# namespaces / service accounts
# --------------------------------------------------------------------------------------

def namespace(c: Cluster, name: str, labels=None, created_days=None) -> dict:
    lab = {"kubernetes.io/metadata.name": name}
    lab.update(labels or {})
    created = ts(created_days if created_days is not None else c.created_days_ago)
    obj = {"apiVersion": "v1", "kind": "Namespace",
           "metadata": c.meta("Namespace", name, labels=lab, created=created),
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
    c.add("namespaces", obj)
    service_account(c, name, "default", created=created)
    return obj


def base_namespaces(c: Cluster) -> None:
    namespace(c, "default")
    namespace(c, "kube-system", {"addonmanager.kubernetes.io/mode": "Reconcile",
                                 "control-plane": "true",
                                 "kubernetes.azure.com/managedby": "aks",
                                 "kubernetes.io/cluster-service": "true"})
    namespace(c, "kube-public")
    namespace(c, "kube-node-lease")


def service_account(c: Cluster, ns: str, name: str, *, labels=None, annotations=None,
                    created=None) -> dict:
    existing = c.get("serviceaccounts", ns, name)
    if existing:
        if annotations:
            existing["metadata"].setdefault("annotations", {}).update(annotations)
        if labels:
            existing["metadata"].setdefault("labels", {}).update(labels)
        return existing
    obj = {"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": c.meta("ServiceAccount", name, ns, labels=labels, annotations=annotations,
                              created=created)}
    return c.add("serviceaccounts", obj)


# --------------------------------------------------------------------------------------
# labels helpers
# --------------------------------------------------------------------------------------

def helm_labels(chart: str, version: str, release: str, app_version: str | None = None,
                name: str | None = None) -> dict:
    lab = {"app.kubernetes.io/instance": release,
           "app.kubernetes.io/managed-by": "Helm",
           "app.kubernetes.io/name": name or chart,
           "helm.sh/chart": f"{chart}-{version}"}
    if app_version:
        lab["app.kubernetes.io/version"] = app_version
    return lab


def helm_annotations(release: str, ns: str) -> dict:
    return {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": ns}


def flux_labels(kustomization: str) -> dict:
    return {"kustomize.toolkit.fluxcd.io/name": kustomization,
            "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}


# --------------------------------------------------------------------------------------
# pod templates and pods
# --------------------------------------------------------------------------------------

def ctr(name, image, *, args=None, command=None, env=None, env_from=None, ports=None, mounts=None,
        resources=None, security=None, liveness=None, readiness=None, pull="IfNotPresent"):
    cdef: dict = {"name": name, "image": image}
    if command:
        cdef["command"] = list(command)
    if args:
        cdef["args"] = list(args)
    if ports:
        cdef["ports"] = [{"containerPort": p, "name": n, "protocol": "TCP"} for n, p in ports]
    if env:
        cdef["env"] = [e if isinstance(e, dict) else {"name": e[0], "value": e[1]} for e in env]
    if env_from:
        cdef["envFrom"] = list(env_from)
    cdef["resources"] = resources or {"limits": {"memory": "512Mi"},
                                      "requests": {"cpu": "100m", "memory": "256Mi"}}
    if mounts:
        cdef["volumeMounts"] = list(mounts)
    if liveness:
        cdef["livenessProbe"] = liveness
    if readiness:
        cdef["readinessProbe"] = readiness
    if security:
        cdef["securityContext"] = security
    cdef["imagePullPolicy"] = pull
    cdef["terminationMessagePath"] = "/dev/termination-log"
    cdef["terminationMessagePolicy"] = "File"
    return cdef


def env_field(name, path):
    return {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}


def http_probe(path, port, initial=10, period=5):
    return {"httpGet": {"path": path, "port": port, "scheme": "HTTP"}, "initialDelaySeconds": initial,
            "periodSeconds": period, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3}


def template(labels: dict, containers: list, *, sa=None, volumes=None, node_selector=None,
             host_network=False, annotations=None, tolerations=None, affinity=None,
             priority_class=None, restart_policy="Always", dns_policy=None,
             automount=None) -> dict:
    md: dict = {"creationTimestamp": None, "labels": dict(labels)}
    if annotations:
        md["annotations"] = dict(annotations)
    spec: dict = {"containers": containers}
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    if sa:
        spec["serviceAccountName"] = sa
        spec["serviceAccount"] = sa
    if host_network:
        spec["hostNetwork"] = True
    spec["dnsPolicy"] = dns_policy or ("ClusterFirstWithHostNet" if host_network else "ClusterFirst")
    spec["restartPolicy"] = restart_policy
    spec["schedulerName"] = "default-scheduler"
    spec["securityContext"] = {}
    spec["terminationGracePeriodSeconds"] = 30
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if tolerations:
        spec["tolerations"] = list(tolerations)
    if affinity:
        spec["affinity"] = affinity
    if priority_class:
        spec["priorityClassName"] = priority_class
    if volumes:
        spec["volumes"] = list(volumes)
    return {"metadata": md, "spec": spec}


DEFAULT_TOLERATIONS = [
    {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists",
     "tolerationSeconds": 300},
    {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists",
     "tolerationSeconds": 300},
]


def make_pod(c: Cluster, tpl: dict, name: str, ns: str, owner: dict | None, node: Node, *,
             created: str, generate_name=None, extra_labels=None, phase="Running",
             state="running", restarts=0, finished: str | None = None,
             crash_message: str | None = None, node_affinity=False) -> dict:
    labels = dict(tpl["metadata"]["labels"])
    labels.update(extra_labels or {})
    spec = copy.deepcopy(tpl["spec"])
    sa = spec.get("serviceAccountName") or "default"
    spec["serviceAccountName"] = sa
    spec["serviceAccount"] = sa
    if spec.get("automountServiceAccountToken", True):
        vol = f"kube-api-access-{suffix(ns + name + 'kaa')}"
        spec.setdefault("volumes", []).append({"name": vol, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
            {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                        "path": "namespace"}]}}]}})
        for cdef in spec["containers"]:
            cdef.setdefault("volumeMounts", []).append(
                {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": vol,
                 "readOnly": True})
    if node_affinity:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                    "values": [node.name]}]}]}}}
    spec["nodeName"] = node.name
    spec["enableServiceLinks"] = True
    spec["preemptionPolicy"] = "PreemptLowerPriority"
    spec["priority"] = 2000001000 if spec.get("priorityClassName") == "system-node-critical" else (
        2000000000 if spec.get("priorityClassName") == "system-cluster-critical" else 0)
    tol = spec.get("tolerations", [])
    if not any(t.get("operator") == "Exists" and "key" not in t for t in tol):
        spec["tolerations"] = tol + DEFAULT_TOLERATIONS
    host_network = spec.get("hostNetwork", False)
    pod_ip = node.ip if host_network else c.pod_ip()
    ready = phase == "Running" and state == "running"
    start = created
    cstatuses = []
    for cdef in spec["containers"]:
        st: dict
        if state == "running":
            st = {"running": {"startedAt": start}}
        elif state == "completed":
            st = {"terminated": {"containerID": f"containerd://{hexd(name + cdef['name'])}",
                                 "exitCode": 0, "finishedAt": finished, "reason": "Completed",
                                 "startedAt": start}}
        else:  # crashloop
            st = {"waiting": {"message": crash_message, "reason": "CrashLoopBackOff"}}
        cs = {"containerID": f"containerd://{hexd(name + cdef['name'])}",
              "image": cdef["image"],
              "imageID": cdef["image"].split(":")[0] + "@sha256:" + hexd(cdef["image"]),
              "name": cdef["name"], "ready": ready, "restartCount": restarts,
              "started": state == "running", "state": st}
        if state == "crashloop":
            cs["lastState"] = {"terminated": {"containerID": f"containerd://{hexd(name + 'last')}",
                                              "exitCode": 1, "finishedAt": ts(0, minutes=3),
                                              "reason": "Error", "startedAt": ts(0, minutes=3)}}
        cstatuses.append(cs)
    tf = "True" if ready else "False"
    conditions = [
        {"lastProbeTime": None, "lastTransitionTime": start, "status": "True" if phase == "Running" else "False",
         "type": "PodReadyToStartContainers"},
        {"lastProbeTime": None, "lastTransitionTime": start, "status": "True", "type": "Initialized"},
        {"lastProbeTime": None, "lastTransitionTime": start, "status": tf, "type": "Ready"},
        {"lastProbeTime": None, "lastTransitionTime": start, "status": tf, "type": "ContainersReady"},
        {"lastProbeTime": None, "lastTransitionTime": start, "status": "True", "type": "PodScheduled"},
    ]
    if phase == "Succeeded":
        for cond in conditions:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["reason"] = "PodCompleted"
    if not ready and phase == "Running":
        for cond in conditions:
            if cond["type"] in ("Ready", "ContainersReady"):
                cond["reason"] = "ContainersNotReady"
                cond["message"] = f"containers with unready status: [{spec['containers'][0]['name']}]"
    qos = "Burstable"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": c.meta("Pod", name, ns, labels=labels, owner=owner, created=created,
                              generate_name=generate_name,
                              annotations=tpl["metadata"].get("annotations")),
           "spec": spec,
           "status": {"conditions": conditions, "containerStatuses": cstatuses,
                      "hostIP": node.ip, "hostIPs": [{"ip": node.ip}], "phase": phase,
                      "podIP": pod_ip, "podIPs": [{"ip": pod_ip}], "qosClass": qos,
                      "startTime": start}}
    return c.add("pods", pod)


def _spread(c: Cluster, pool: str, i: int, seed: str) -> Node:
    nodes = c.pool_nodes(pool)
    off = int(hexd(seed, 4), 16)
    return nodes[(off + i) % len(nodes)]


# --------------------------------------------------------------------------------------
# workload builders (each also creates the objects a real cluster would show for it)
# --------------------------------------------------------------------------------------

def deployment(c: Cluster, ns: str, name: str, containers: list, *, sa=None, replicas=1,
               labels=None, selector=None, pod_labels=None, binding=None, annotations=None,
               pod_annotations=None, volumes=None, node_selector=None, host_network=False,
               tolerations=None, affinity=None, priority_class=None, pool="user", age_days=60,
               revision=1, old_revisions=0, ready=None, pod_state="running", restarts=0,
               crash_message=None) -> dict:
    """Deployment + its current ReplicaSet (+ old, scaled-down ones) + pods."""
    selector = selector or {"app": name}
    plabels = dict(selector)
    plabels.update(pod_labels or {})
    if binding:
        plabels["aadpodidbinding"] = binding
    tpl = template(plabels, containers, sa=sa, volumes=volumes, node_selector=node_selector,
                   host_network=host_network, annotations=pod_annotations, tolerations=tolerations,
                   affinity=affinity, priority_class=priority_class)
    ready_n = replicas if ready is None else ready
    dep_ann = {"deployment.kubernetes.io/revision": str(revision)}
    dep_ann.update(annotations or {})
    dep_labels = dict(labels) if labels is not None else dict(selector)
    dep = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": c.meta("Deployment", name, ns, labels=dep_labels, annotations=dep_ann,
                              created=ts(age_days), generation=revision),
           "spec": {"progressDeadlineSeconds": 600, "replicas": replicas, "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": dict(selector)},
                    "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
                                 "type": "RollingUpdate"},
                    "template": tpl},
           "status": {"availableReplicas": ready_n, "conditions": [
               {"lastTransitionTime": ts(age_days), "lastUpdateTime": ts(age_days),
                "message": f'ReplicaSet "{name}" has successfully progressed.',
                "reason": "NewReplicaSetAvailable", "status": "True", "type": "Progressing"},
               {"lastTransitionTime": ts(2), "lastUpdateTime": ts(2),
                "message": "Deployment has minimum availability." if ready_n else
                "Deployment does not have minimum availability.",
                "reason": "MinimumReplicasAvailable" if ready_n else "MinimumReplicasUnavailable",
                "status": "True" if ready_n else "False", "type": "Available"}],
               "observedGeneration": revision, "readyReplicas": ready_n, "replicas": replicas,
               "updatedReplicas": replicas}}
    if not ready_n:
        del dep["status"]["availableReplicas"]
        del dep["status"]["readyReplicas"]
        dep["status"]["unavailableReplicas"] = replicas
    c.add("deployments", dep)
    for rev in range(max(1, revision - old_revisions), revision + 1):
        current = rev == revision
        h = suffix(f"{c.name}/{ns}/{name}/rev{rev}", 10)
        rs_tpl = copy.deepcopy(tpl)
        rs_tpl["metadata"]["labels"]["pod-template-hash"] = h
        rs_sel = dict(selector)
        rs_sel["pod-template-hash"] = h
        rs_n = replicas if current else 0
        rs_labels = dict(plabels)
        rs_labels["pod-template-hash"] = h
        rs_created = ts(age_days if rev == 1 else max(1, age_days * (revision - rev) / revision))
        if current:
            rs_created = ts(min(age_days, 9 + len(name) % 20))
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": c.meta("ReplicaSet", f"{name}-{h}", ns, labels=rs_labels, owner=dep,
                                 created=rs_created, generation=1 if current else 2,
                                 annotations={"deployment.kubernetes.io/desired-replicas": str(replicas),
                                              "deployment.kubernetes.io/max-replicas": str(replicas + max(1, replicas // 4)),
                                              "deployment.kubernetes.io/revision": str(rev)}),
              "spec": {"replicas": rs_n, "selector": {"matchLabels": rs_sel}, "template": rs_tpl},
              "status": {"observedGeneration": 1 if current else 2, "replicas": rs_n}}
        if rs_n:
            rs["status"].update({"availableReplicas": ready_n, "fullyLabeledReplicas": rs_n,
                                 "readyReplicas": ready_n})
            if not ready_n:
                del rs["status"]["availableReplicas"]
                del rs["status"]["readyReplicas"]
        c.add("replicasets", rs)
        if current:
            for i in range(replicas):
                pname = f"{name}-{h}-{suffix(f'{c.name}/{ns}/{name}/pod{i}')}"
                make_pod(c, rs_tpl, pname, ns, rs, _spread(c, pool, i, name), created=rs_created,
                         generate_name=f"{name}-{h}-", state=pod_state, restarts=restarts,
                         crash_message=crash_message)
    return dep


def statefulset(c: Cluster, ns: str, name: str, containers: list, *, sa=None, replicas=1,
                labels=None, binding=None, pool="user", age_days=90, volumes=None) -> dict:
    selector = {"app": name}
    plabels = dict(selector)
    if binding:
        plabels["aadpodidbinding"] = binding
    tpl = template(plabels, containers, sa=sa, volumes=volumes)
    rev = f"{name}-{suffix(c.name + ns + name + 'rev', 10)}"
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": c.meta("StatefulSet", name, ns, labels=labels or selector, created=ts(age_days),
                              generation=3),
           "spec": {"persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
                    "podManagementPolicy": "OrderedReady", "replicas": replicas, "revisionHistoryLimit": 10,
                    "selector": {"matchLabels": dict(selector)}, "serviceName": name, "template": tpl,
                    "updateStrategy": {"rollingUpdate": {"partition": 0}, "type": "RollingUpdate"}},
           "status": {"availableReplicas": replicas, "collisionCount": 0, "currentReplicas": replicas,
                      "currentRevision": rev, "observedGeneration": 3, "readyReplicas": replicas,
                      "replicas": replicas, "updateRevision": rev, "updatedReplicas": replicas}}
    c.add("statefulsets", sts)
    for i in range(replicas):
        make_pod(c, tpl, f"{name}-{i}", ns, sts, _spread(c, pool, i, name), created=ts(11),
                 generate_name=f"{name}-",
                 extra_labels={"apps.kubernetes.io/pod-index": str(i), "controller-revision-hash": rev,
                               "statefulset.kubernetes.io/pod-name": f"{name}-{i}"})
    return sts


def daemonset(c: Cluster, ns: str, name: str, containers: list, *, sa=None, labels=None,
              selector=None, pod_labels=None, annotations=None, host_network=False, volumes=None,
              node_selector=None, tolerations=None, priority_class=None, os_="linux",
              age_days=200, generation=1, pod_state="running", restarts=0, crash_message=None,
              update_strategy=None) -> dict:
    selector = selector or {"app": name}
    plabels = dict(selector)
    plabels.update(pod_labels or {})
    tpl = template(plabels, containers, sa=sa, volumes=volumes, host_network=host_network,
                   node_selector=node_selector or {"kubernetes.io/os": os_},
                   tolerations=tolerations, priority_class=priority_class)
    nodes = [n for n in c.nodes if n.os == os_]
    ready = len(nodes) if pod_state == "running" else 0
    ann = {"deprecated.daemonset.template.generation": str(generation)}
    ann.update(annotations or {})
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": c.meta("DaemonSet", name, ns, labels=labels or selector, annotations=ann,
                             created=ts(age_days), generation=generation),
          "spec": {"revisionHistoryLimit": 10, "selector": {"matchLabels": dict(selector)},
                   "template": tpl,
                   "updateStrategy": update_strategy or {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
                                                         "type": "RollingUpdate"}},
          "status": {"currentNumberScheduled": len(nodes), "desiredNumberScheduled": len(nodes),
                     "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready,
                     "observedGeneration": generation, "updatedNumberScheduled": len(nodes)}}
    if not ready:
        del ds["status"]["numberAvailable"]
        ds["status"]["numberUnavailable"] = len(nodes)
    c.add("daemonsets", ds)
    rev = suffix(c.name + ns + name + "dsrev", 10)
    for i, node in enumerate(nodes):
        make_pod(c, tpl, f"{name}-{suffix(c.name + ns + name + node.name)}", ns, ds, node,
                 created=ts(min(age_days, 20)), generate_name=f"{name}-", node_affinity=True,
                 extra_labels={"controller-revision-hash": rev, "pod-template-generation": str(generation)},
                 state=pod_state, restarts=restarts, crash_message=crash_message)
    return ds


def _job_body(c: Cluster, ns: str, name: str, tpl: dict, *, owner=None, labels=None,
              annotations=None, start: str, end: str) -> tuple[dict, dict]:
    job_uid = new_uuid(c.name, "Job", ns, name)
    ctl = {"batch.kubernetes.io/controller-uid": job_uid, "batch.kubernetes.io/job-name": name,
           "controller-uid": job_uid, "job-name": name}
    jtpl = copy.deepcopy(tpl)
    jtpl["metadata"]["labels"].update(ctl)
    jlabels = dict(labels or {})
    jlabels.update(ctl)
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": c.meta("Job", name, ns, labels=jlabels, owner=owner, created=start, generation=1,
                              annotations=annotations),
           "spec": {"backoffLimit": 6, "completionMode": "NonIndexed", "completions": 1,
                    "manualSelector": False, "parallelism": 1, "podReplacementPolicy": "TerminatingOrFailed",
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": job_uid}},
                    "suspend": False, "template": jtpl},
           "status": {"completionTime": end, "conditions": [
               {"lastProbeTime": end, "lastTransitionTime": end, "message": "Reached expected number of succeeded pods",
                "reason": "CompletionsReached", "status": "True", "type": "SuccessCriteriaMet"},
               {"lastProbeTime": end, "lastTransitionTime": end, "message": "Reached expected number of succeeded pods",
                "reason": "CompletionsReached", "status": "True", "type": "Complete"}],
               "ready": 0, "startTime": start, "succeeded": 1, "terminating": 0,
               "uncountedTerminatedPods": {}}}
    assert job["metadata"]["uid"] == job_uid
    c.add("jobs", job)
    return job, jtpl


def cronjob(c: Cluster, ns: str, name: str, containers: list, *, schedule: str, sa=None,
            labels=None, annotations=None, binding=None, pool="user", age_days=120,
            last_run_hours_ago=0.5) -> dict:
    plabels = {"app": name}
    if binding:
        plabels["aadpodidbinding"] = binding
    tpl = template(plabels, containers, sa=sa, restart_policy="OnFailure")
    last = SNAPSHOT_TIME - dt.timedelta(hours=last_run_hours_ago)
    last = last.replace(second=0)
    cj = {"apiVersion": "batch/v1", "kind": "CronJob",
          "metadata": c.meta("CronJob", name, ns, labels=labels, annotations=annotations,
                             created=ts(age_days), generation=1),
          "spec": {"concurrencyPolicy": "Forbid", "failedJobsHistoryLimit": 1,
                   "jobTemplate": {"metadata": {"creationTimestamp": None},
                                   "spec": {"backoffLimit": 2, "template": tpl}},
                   "schedule": schedule, "successfulJobsHistoryLimit": 3, "suspend": False},
          "status": {"lastScheduleTime": last.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "lastSuccessfulTime": (last + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    c.add("cronjobs", cj)
    job_name = f"{name}-{int(last.timestamp() // 60)}"
    start = last.strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (last + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    job, jtpl = _job_body(c, ns, job_name, tpl, owner=cj, start=start, end=end)
    make_pod(c, jtpl, f"{job_name}-{suffix(c.name + job_name)}", ns, job, _spread(c, pool, 0, job_name),
             created=start, generate_name=f"{job_name}-", phase="Succeeded", state="completed",
             finished=end)
    return cj


def bare_job(c: Cluster, ns: str, name: str, containers: list, *, sa=None, labels=None,
             annotations=None, binding=None, pool="user", started_hours_ago=30) -> dict:
    plabels = {"app": name.rsplit("-", 1)[0]}
    if binding:
        plabels["aadpodidbinding"] = binding
    tpl = template(plabels, containers, sa=sa, restart_policy="Never")
    start = ts(0, hours=started_hours_ago)
    end = ts(0, hours=started_hours_ago - 0.1)
    job, jtpl = _job_body(c, ns, name, tpl, labels=labels, annotations=annotations, start=start, end=end)
    make_pod(c, jtpl, f"{name}-{suffix(c.name + name)}", ns, job, _spread(c, pool, 0, name),
             created=start, generate_name=f"{name}-", phase="Succeeded", state="completed", finished=end)
    return job


def rollout_replicasets(c: Cluster, ns: str, rollout: str, containers: list, *, sa=None,
                        binding=None, replicas=3, pool="user", revision=7) -> None:
    """ReplicaSets + pods owned by an Argo Rollout (the Rollout itself is not captured)."""
    owner = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
             "metadata": {"name": rollout, "uid": new_uuid(c.name, "Rollout", ns, rollout)}}
    for rev in (revision - 1, revision):
        current = rev == revision
        h = suffix(f"{c.name}/{ns}/{rollout}/rev{rev}", 10)
        plabels = {"app": rollout, "rollouts-pod-template-hash": h}
        if binding:
            plabels["aadpodidbinding"] = binding
        tpl = template(plabels, copy.deepcopy(containers), sa=sa)
        n = replicas if current else 0
        created = ts(6 if current else 34)
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": c.meta("ReplicaSet", f"{rollout}-{h}", ns, labels=plabels, owner=owner,
                                 created=created, generation=1 if current else 2,
                                 annotations={"rollout.argoproj.io/desired-replicas": str(replicas),
                                              "rollout.argoproj.io/revision": str(rev)}),
              "spec": {"replicas": n, "selector": {"matchLabels": {"app": rollout,
                                                                   "rollouts-pod-template-hash": h}},
                       "template": tpl},
              "status": {"observedGeneration": 1 if current else 2, "replicas": n}}
        if n:
            rs["status"].update({"availableReplicas": n, "fullyLabeledReplicas": n, "readyReplicas": n})
        c.add("replicasets", rs)
        if current:
            for i in range(replicas):
                make_pod(c, tpl, f"{rollout}-{h}-{suffix(f'{c.name}/{ns}/{rollout}/pod{i}')}", ns, rs,
                         _spread(c, pool, i, rollout), created=created, generate_name=f"{rollout}-{h}-")


def bare_replicaset(c: Cluster, ns: str, name: str, containers: list, *, sa=None, binding=None,
                    replicas=1, pool="user", age_days=400) -> dict:
    plabels = {"app": name, "tier": "worker"}
    if binding:
        plabels["aadpodidbinding"] = binding
    tpl = template(plabels, containers, sa=sa)
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": c.meta("ReplicaSet", name, ns, labels=plabels, created=ts(age_days), generation=1),
          "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name, "tier": "worker"}},
                   "template": tpl},
          "status": {"availableReplicas": replicas, "fullyLabeledReplicas": replicas,
                     "observedGeneration": 1, "readyReplicas": replicas, "replicas": replicas}}
    c.add("replicasets", rs)
    for i in range(replicas):
        make_pod(c, tpl, f"{name}-{suffix(c.name + ns + name + str(i))}", ns, rs, _spread(c, pool, i, name),
                 created=ts(27), generate_name=f"{name}-")
    return rs


def bare_pod(c: Cluster, ns: str, name: str, containers: list, *, sa=None, binding=None,
             labels=None, pool="user", age_days=3) -> dict:
    plabels = {"run": name}
    plabels.update(labels or {})
    if binding:
        plabels["aadpodidbinding"] = binding
    tpl = template(plabels, containers, sa=sa)
    return make_pod(c, tpl, name, ns, None, _spread(c, pool, 0, name), created=ts(age_days))


# --------------------------------------------------------------------------------------
# AAD Pod Identity objects
# --------------------------------------------------------------------------------------

AAPI = "aadpodidentity.k8s.io/v1"


def azure_identity(c: Cluster, ns: str, name: str, u: Uami | None = None, *, lower_rg=False,
                   legacy=False, type_value=0, annotations=None, sp=None, age_days=200) -> dict:
    """AzureIdentity. legacy=True writes the <=v1.5 capitalized field names."""
    if sp is not None:  # service principal (type 1)
        spec = {"type": 1, "tenantID": TENANT, "clientID": sp["clientID"],
                "clientPassword": {"name": sp["secret"], "namespace": ns}}
    elif legacy:
        spec = {"type": type_value, "ResourceID": u.rid(lower_rg), "ClientID": u.client_id}
    else:
        spec = {"type": type_value, "resourceID": u.rid(lower_rg), "clientID": u.client_id}
    obj = {"apiVersion": AAPI, "kind": "AzureIdentity",
           "metadata": c.meta("AzureIdentity", name, ns, annotations=annotations, created=ts(age_days),
                              generation=1),
           "spec": spec}
    return c.add("azureidentities", obj)


def identity_binding(c: Cluster, ns: str, name: str, identity_name: str, selector: str, *,
                     legacy=False, age_days=200) -> dict:
    spec = ({"AzureIdentity": identity_name, "Selector": selector} if legacy
            else {"azureIdentity": identity_name, "selector": selector})
    obj = {"apiVersion": AAPI, "kind": "AzureIdentityBinding",
           "metadata": c.meta("AzureIdentityBinding", name, ns, created=ts(age_days), generation=1),
           "spec": spec}
    return c.add("azureidentitybindings", obj)


def pod_exception(c: Cluster, ns: str, name: str, pod_labels: dict, *, legacy=False, age_days=200,
                  labels=None, annotations=None) -> dict:
    obj = {"apiVersion": AAPI, "kind": "AzurePodIdentityException",
           "metadata": c.meta("AzurePodIdentityException", name, ns, created=ts(age_days), generation=1,
                              labels=labels, annotations=annotations),
           "spec": {"PodLabels" if legacy else "podLabels": dict(pod_labels)}}
    return c.add("azurepodidentityexceptions", obj)


def _embedded(obj: dict) -> dict:
    e = copy.deepcopy(obj)
    e.pop("status", None)
    return e


def assigned_identity(c: Cluster, pod: dict, identity: dict, binding: dict, *, ns="default") -> dict:
    """AzureAssignedIdentity as MIC >= v1.6.1 writes it (name <pod>-<podns>-<identity>)."""
    pm = pod["metadata"]
    name = f"{pm['name']}-{pm['namespace']}-{identity['metadata']['name']}"
    obj = {"apiVersion": AAPI, "kind": "AzureAssignedIdentity",
           "metadata": c.meta("AzureAssignedIdentity", name, ns, labels={"nodename": pod["spec"]["nodeName"]},
                              created=pm["creationTimestamp"], generation=1,
                              finalizers=["azureassignedidentity.finalizers.aadpodidentity.k8s.io"]),
           "spec": {"azureBindingRef": _embedded(binding), "azureIdentityRef": _embedded(identity),
                    "nodename": pod["spec"]["nodeName"], "pod": pm["name"], "podNamespace": pm["namespace"]},
           "status": {"availableReplicas": 1, "status": "Assigned"}}
    return c.add("azureassignedidentities", obj)


def assign_for_pods(c: Cluster, selector: str, identity: dict, binding: dict, *, namespaced=False):
    for pod in list(c.objects["pods"]):
        if pod["metadata"]["labels"].get("aadpodidbinding") != selector:
            continue
        if pod["status"]["phase"] != "Running":
            continue
        if namespaced and pod["metadata"]["namespace"] != identity["metadata"]["namespace"]:
            continue
        assigned_identity(c, pod, identity, binding,
                          ns=identity["metadata"]["namespace"] if namespaced else "default")


# --------------------------------------------------------------------------------------
# CRDs (trimmed: names, versions, schema presence with real field names)
# --------------------------------------------------------------------------------------

def _props(**kw):
    return {"type": "object", "properties": kw}


_S, _I = {"type": "string"}, {"type": "integer"}
AADPI_SPEC_SCHEMAS = {
    "AzureIdentity": _props(adEndpoint=_S, adResourceID=_S,
                            auxiliaryTenantIDs={"type": "array", "items": _S, "nullable": True},
                            clientID=_S, clientPassword=_props(name=_S, namespace=_S),
                            metadata={"type": "object"}, replicas={"type": "integer", "format": "int32",
                                                                   "nullable": True},
                            resourceID=_S, tenantID=_S, type=_I),
    "AzureIdentityBinding": _props(azureIdentity=_S, metadata={"type": "object"}, selector=_S, weight=_I),
    "AzureAssignedIdentity": _props(azureBindingRef={"type": "object", "x-kubernetes-embedded-resource": True},
                                    azureIdentityRef={"type": "object", "x-kubernetes-embedded-resource": True},
                                    metadata={"type": "object"}, nodename=_S, pod=_S, podNamespace=_S,
                                    replicas={"type": "integer", "format": "int32", "nullable": True}),
    "AzurePodIdentityException": _props(metadata={"type": "object"},
                                        podLabels={"type": "object", "additionalProperties": _S}),
}
AADPI_KINDS = {"azureidentities": "AzureIdentity", "azureidentitybindings": "AzureIdentityBinding",
               "azureassignedidentities": "AzureAssignedIdentity",
               "azurepodidentityexceptions": "AzurePodIdentityException"}


def crd(c: Cluster, group: str, kind: str, plural: str, versions: list[dict], *, scope_="Namespaced",
        labels=None, annotations=None, short_names=None, preserve_unknown=False, age_days=300,
        list_kind=None) -> dict:
    names = {"kind": kind, "listKind": list_kind or f"{kind}List", "plural": plural,
             "singular": kind.lower()}
    if short_names:
        names["shortNames"] = list(short_names)
    spec: dict = {"conversion": {"strategy": "None"}, "group": group, "names": names, "scope": scope_,
                  "versions": versions}
    if preserve_unknown:
        spec["preserveUnknownFields"] = True
    name = f"{plural}.{group}"
    created = ts(age_days)
    obj = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": c.meta("CustomResourceDefinition", name, labels=labels, annotations=annotations,
                              created=created, generation=1),
           "spec": spec,
           "status": {"acceptedNames": dict(names), "conditions": [
               {"lastTransitionTime": created, "message": "no conflicts found", "reason": "NoConflicts",
                "status": "True", "type": "NamesAccepted"},
               {"lastTransitionTime": created, "message": "the initial names have been accepted",
                "reason": "InitialNamesAccepted", "status": "True", "type": "Established"}],
               "storedVersions": [v["name"] for v in versions if v.get("storage")]}}
    return c.add("customresourcedefinitions", obj)


def aadpi_crds(c: Cluster, era: str, plurals=None, helm=False, age_days=300):
    """era 'structural' = v1.8 apiextensions/v1 CRDs; 'schemaless' = v1beta1-era CRDs read via v1."""
    plurals = plurals or list(AADPI_KINDS)
    for plural in plurals:
        kind = AADPI_KINDS[plural]
        if era == "structural":
            schema = {"openAPIV3Schema": {"type": "object", "properties": {
                "apiVersion": _S, "kind": _S, "metadata": {"type": "object"},
                "spec": AADPI_SPEC_SCHEMAS[kind],
                "status": _props(status=_S, availableReplicas={"type": "integer", "format": "int32"},
                                 metadata={"type": "object"})}}}
            versions = [{"name": "v1", "schema": schema, "served": True, "storage": True}]
            if kind in ("AzureIdentity", "AzureIdentityBinding"):
                versions[0]["subresources"] = {}
            labels = ({"app.kubernetes.io/instance": "aad-pod-identity",
                       "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": "aad-pod-identity",
                       "helm.sh/chart": "aad-pod-identity"} if helm else None)
            crd(c, "aadpodidentity.k8s.io", kind, plural, versions, labels=labels, age_days=age_days,
                annotations={"api-approved.kubernetes.io": "unapproved",
                             "controller-gen.kubebuilder.io/version": "v0.5.0"})
        else:
            crd(c, "aadpodidentity.k8s.io", kind, plural,
                [{"name": "v1", "served": True, "storage": True}], preserve_unknown=True, age_days=age_days)


def _loose_schema():
    return {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}


def spc_crd(c: Cluster, age_days=400):
    crd(c, "secrets-store.csi.x-k8s.io", "SecretProviderClass", "secretproviderclasses",
        [{"name": "v1", "schema": {"openAPIV3Schema": {"type": "object", "properties": {
            "spec": _props(parameters={"type": "object", "additionalProperties": _S}, provider=_S,
                           secretObjects={"type": "array", "items": {"type": "object"}})}}},
          "served": True, "storage": True},
         {"name": "v1alpha1", "deprecated": True, "schema": _loose_schema(), "served": True,
          "storage": False}],
        labels={"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.azure.com/managedby": "aks"},
        annotations={"controller-gen.kubebuilder.io/version": "v0.9.0"}, age_days=age_days)


def flux_crds(c: Cluster, image_automation=False, age_days=300):
    crd(c, "kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations",
        [{"name": "v1", "schema": _loose_schema(), "served": True, "storage": True},
         {"name": "v1beta2", "deprecated": True, "schema": _loose_schema(), "served": True, "storage": False}],
        short_names=["ks"], labels={"app.kubernetes.io/component": "kustomize-controller",
                                    "app.kubernetes.io/instance": "flux-system",
                                    "app.kubernetes.io/part-of": "flux"}, age_days=age_days)
    crd(c, "source.toolkit.fluxcd.io", "GitRepository", "gitrepositories",
        [{"name": "v1", "schema": _loose_schema(), "served": True, "storage": True}],
        short_names=["gitrepo"], labels={"app.kubernetes.io/component": "source-controller",
                                         "app.kubernetes.io/instance": "flux-system",
                                         "app.kubernetes.io/part-of": "flux"}, age_days=age_days)
    if image_automation:
        crd(c, "image.toolkit.fluxcd.io", "ImageRepository", "imagerepositories",
            [{"name": "v1beta2", "schema": _loose_schema(), "served": True, "storage": True}],
            labels={"app.kubernetes.io/component": "image-reflector-controller",
                    "app.kubernetes.io/instance": "flux-system", "app.kubernetes.io/part-of": "flux"},
            age_days=age_days)


# --------------------------------------------------------------------------------------
# shared system pieces
# --------------------------------------------------------------------------------------

AKS_MANAGED = {"kubernetes.azure.com/managedby": "aks"}
CRITICAL_TOL = [{"key": "CriticalAddonsOnly", "operator": "Exists"}]


def aks_system(c: Cluster, *, wi_addon=False, kv_csi=False):
    service_account(c, "kube-system", "coredns")
    deployment(c, "kube-system", "coredns",
               [ctr("coredns", "mcr.microsoft.com/oss/v2/kubernetes/coredns:v1.11.3-8",
                    args=["-conf", "/etc/coredns/Corefile"], ports=[("dns", 53), ("dns-tcp", 53), ("metrics", 9153)],
                    mounts=[{"mountPath": "/etc/coredns", "name": "config-volume", "readOnly": True}])],
               sa="coredns", replicas=2, selector={"k8s-app": "kube-dns", "version": "v20"},
               labels={"addonmanager.kubernetes.io/mode": "Reconcile", "k8s-app": "kube-dns",
                       "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS", **AKS_MANAGED},
               pod_labels=AKS_MANAGED, priority_class="system-node-critical", tolerations=CRITICAL_TOL,
               volumes=[{"configMap": {"defaultMode": 420, "items": [{"key": "Corefile", "path": "Corefile"}],
                                       "name": "coredns"}, "name": "config-volume"}],
               pool="system", age_days=c.created_days_ago, revision=14)
    service_account(c, "kube-system", "kube-proxy")
    daemonset(c, "kube-system", "kube-proxy",
              [ctr("kube-proxy", f"mcr.microsoft.com/oss/kubernetes/kube-proxy:v{c.k8s_version}",
                   command=["kube-proxy", "--conntrack-max-per-core=0", "--metrics-bind-address=0.0.0.0:10249",
                            "--cluster-cidr=10.244.0.0/16", "--detect-local-mode=ClusterCIDR",
                            "--pod-interface-name-prefix=", "--v=3"],
                   security={"privileged": True})],
              sa="kube-proxy", selector={"component": "kube-proxy", "tier": "node"},
              labels={"addonmanager.kubernetes.io/mode": "Reconcile", "component": "kube-proxy", "tier": "node",
                      **AKS_MANAGED},
              pod_labels=AKS_MANAGED, host_network=True, priority_class="system-node-critical",
              tolerations=[{"operator": "Exists"}], age_days=c.created_days_ago, generation=9)
    if wi_addon:
        service_account(c, "kube-system", "azure-wi-webhook-admin",
                        labels={"azure-workload-identity.io/system": "true"})
        deployment(c, "kube-system", "azure-wi-webhook-controller-manager",
                   [ctr("manager", WI_ADDON_WEBHOOK_IMAGE, command=["/manager"],
                        args=["--log-level=info", "--disable-cert-rotation=true"],
                        env=[env_field("POD_NAMESPACE", "metadata.namespace")],
                        ports=[("webhook-server", 9443), ("metrics", 8095), ("healthz", 9440)],
                        mounts=[{"mountPath": "/certs", "name": "cert", "readOnly": True}])],
                   sa="azure-wi-webhook-admin", replicas=2,
                   selector={"azure-workload-identity.io/system": "true"},
                   labels={"azure-workload-identity.io/system": "true", **AKS_MANAGED},
                   pod_labels=AKS_MANAGED, priority_class="system-cluster-critical", tolerations=CRITICAL_TOL,
                   volumes=[{"name": "cert", "secret": {"defaultMode": 420,
                                                        "secretName": "azure-wi-webhook-server-cert"}}],
                   pool="system", age_days=120, revision=6)
        wi_webhook_config(c, "kube-system", labels={"azure-workload-identity.io/system": "true", **AKS_MANAGED},
                          annotations={"admissions.enforcer/disabled": "true"})
    if kv_csi:
        service_account(c, "kube-system", "secrets-store-csi-driver")
        service_account(c, "kube-system", "csi-secrets-store-provider-azure")
        daemonset(c, "kube-system", "aks-secrets-store-csi-driver",
                  [ctr("secrets-store", "mcr.microsoft.com/oss/v2/kubernetes-csi/secrets-store/driver:v1.4.8",
                       args=["--endpoint=$(CSI_ENDPOINT)", "--nodeid=$(KUBE_NODE_NAME)",
                             "--provider-volume=/var/run/secrets-store-csi-providers",
                             "--enable-secret-rotation=true", "--rotation-poll-interval=2m"],
                       security={"privileged": True})],
                  sa="secrets-store-csi-driver", selector={"app": "secrets-store-csi-driver"},
                  labels={"app": "secrets-store-csi-driver", **AKS_MANAGED}, pod_labels=AKS_MANAGED,
                  priority_class="system-node-critical", tolerations=[{"operator": "Exists"}], age_days=300,
                  generation=4)
        daemonset(c, "kube-system", "aks-secrets-store-provider-azure",
                  [ctr("provider-azure-installer",
                       "mcr.microsoft.com/oss/v2/azure/secrets-store/provider-azure:v1.6.2",
                       args=["--endpoint=unix:///provider/azure.sock", "--construct-pem-chain=true",
                             "--healthz-port=8989", "--healthz-path=/healthz", "--healthz-timeout=5s"])],
                  sa="csi-secrets-store-provider-azure", selector={"app": "csi-secrets-store-provider-azure"},
                  labels={"app": "csi-secrets-store-provider-azure", **AKS_MANAGED}, pod_labels=AKS_MANAGED,
                  host_network=True, priority_class="system-node-critical", tolerations=[{"operator": "Exists"}],
                  age_days=300, generation=4)


def wi_webhook_config(c: Cluster, ns: str, labels: dict, annotations=None, age_days=120):
    obj = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
           "metadata": c.meta("MutatingWebhookConfiguration", "azure-wi-webhook-mutating-webhook-configuration",
                              labels=labels, annotations=annotations, created=ts(age_days), generation=2),
           "webhooks": [{"admissionReviewVersions": ["v1", "v1beta1"],
                         "clientConfig": {"caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=",
                                          "service": {"name": "azure-wi-webhook-webhook-service", "namespace": ns,
                                                      "path": "/mutate-v1-pod", "port": 443}},
                         "failurePolicy": "Fail", "matchPolicy": "Equivalent",
                         "name": "mutation.azure-workload-identity.io", "namespaceSelector": {},
                         "objectSelector": {"matchLabels": {"azure.workload.identity/use": "true"}},
                         "reinvocationPolicy": "IfNeeded",
                         "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                    "resources": ["pods"], "scope": "*"}],
                         "sideEffects": "None", "timeoutSeconds": 10}]}
    return c.add("mutatingwebhookconfigurations", obj)


FLUX_CONTROLLERS = [("source-controller", "v1.5.0"), ("kustomize-controller", "v1.5.1"),
                    ("helm-controller", "v1.2.0"), ("notification-controller", "v1.5.0")]
FLUX_IMAGE_CONTROLLERS = [("image-reflector-controller", "v0.34.0"), ("image-automation-controller", "v0.40.0")]


def flux_extension(c: Cluster, *, image_automation=False, ext_version="1.19.5", age_days=300):
    """microsoft.flux cluster extension in flux-system (controllers + extension agents)."""
    namespace(c, "flux-system", {"app.kubernetes.io/instance": "flux-system",
                                 "app.kubernetes.io/part-of": "flux",
                                 "clusterconfig.azure.com/managed-by": "flux"}, created_days=age_days)
    flux_crds(c, image_automation, age_days=age_days)
    controllers = FLUX_CONTROLLERS + (FLUX_IMAGE_CONTROLLERS if image_automation else [])
    for name, ver in controllers:
        service_account(c, "flux-system", name, labels={"app.kubernetes.io/managed-by": "Helm"})
        deployment(c, "flux-system", name,
                   [ctr("manager", f"mcr.microsoft.com/oss/fluxcd/{name}:{ver}",
                        args=["--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
                              "--watch-all-namespaces=true", "--log-level=info", "--log-encoding=json",
                              "--enable-leader-election"],
                        env=[env_field("RUNTIME_NAMESPACE", "metadata.namespace")],
                        ports=[("http-prom", 8080), ("healthz", 9440)],
                        security={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                  "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                                  "seccompProfile": {"type": "RuntimeDefault"}})],
                   sa=name, selector={"app": name},
                   labels={"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/name": "microsoft.flux",
                           "app.kubernetes.io/version": ext_version, "control-plane": "controller"},
                   annotations=helm_annotations("flux", "flux-system"),
                   pod_labels={"app.kubernetes.io/name": "microsoft.flux"}, pool="user",
                   age_days=age_days, revision=12)
    service_account(c, "flux-system", "flux-operatorsa", labels={"app.kubernetes.io/managed-by": "Helm"})
    for name in ("fluxconfig-agent", "fluxconfig-controller"):
        deployment(c, "flux-system", name,
                   [ctr("manager", f"mcr.microsoft.com/azurek8sflux/{name}:{ext_version}",
                        env=[("EXTENSION_NAME", "flux"), ("FLUX_CONFIG_NAMESPACE", "flux-system"),
                             env_field("POD_NAME", "metadata.name")])],
                   sa="flux-operatorsa", selector={"app.kubernetes.io/component": name},
                   labels={"app.kubernetes.io/component": name, "app.kubernetes.io/managed-by": "Helm",
                           "app.kubernetes.io/name": "flux-extension", "control-plane": "controller-manager"},
                   annotations=helm_annotations("flux", "flux-system"),
                   pod_labels={"app.kubernetes.io/name": "flux-extension", "control-plane": "controller-manager"},
                   pool="user", age_days=age_days, revision=12)


NMI_VOLUMES = [{"hostPath": {"path": "/run/xtables.lock", "type": "FileOrCreate"}, "name": "iptableslock"},
               {"hostPath": {"path": "/etc/default/kubelet", "type": "FileOrCreate"}, "name": "kubelet-config"}]
NMI_MOUNTS = [{"mountPath": "/run/xtables.lock", "name": "iptableslock"},
              {"mountPath": "/etc/default/kubelet", "name": "kubelet-config", "readOnly": True}]
NMI_SECURITY = {"capabilities": {"add": ["DAC_READ_SEARCH", "NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                "runAsUser": 0}
NMI_RESOURCES = {"limits": {"cpu": "200m", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}}


def nmi_container(tag: str, args: list, env_extra=None, include_host_ip=True):
    env = []
    if include_host_ip:
        env.append(env_field("HOST_IP", "status.podIP"))
    env.append(env_field("NODE_NAME", "spec.nodeName"))
    env += env_extra or []
    return ctr("nmi", f"{AADPI_IMAGE}/nmi:{tag}", args=args, env=env, mounts=NMI_MOUNTS,
               resources=NMI_RESOURCES, security=NMI_SECURITY, liveness=http_probe("/healthz", 8085))


# --------------------------------------------------------------------------------------
# ARM documents
# --------------------------------------------------------------------------------------

def agent_pool_profiles(c: Cluster) -> list[dict]:
    out = []
    for p in c.pools:
        prof = {"name": p["name"], "count": p["count"], "vmSize": p["vmSize"], "osDiskSizeGB": 128,
                "osDiskType": "Ephemeral", "kubeletDiskType": "OS", "maxPods": 110,
                "type": "VirtualMachineScaleSets", "availabilityZones": ["1", "2", "3"],
                "enableAutoScaling": p["mode"] == "User", "provisioningState": "Succeeded",
                "powerState": {"code": "Running"}, "orchestratorVersion": c.k8s_version,
                "currentOrchestratorVersion": c.k8s_version, "mode": p["mode"],
                "osType": "Windows" if p["os"] == "windows" else "Linux",
                "osSKU": "Windows2022" if p["os"] == "windows" else "Ubuntu",
                "nodeImageVersion": ("AKSWindows-2022-containerd-20348.3807.250605" if p["os"] == "windows"
                                     else "AKSUbuntu-2204gen2containerd-202605.27.0"),
                "enableNodePublicIP": False, "enableFIPS": False}
        if p["mode"] == "User":
            prof["minCount"], prof["maxCount"] = 1, max(5, p["count"] * 2)
        if p["mode"] == "System":
            prof["nodeTaints"] = ["CriticalAddonsOnly=true:NoSchedule"]
        out.append(prof)
    return out


def managed_cluster_rest(c: Cluster, *, pod_identity: dict | None, oidc: bool, wi: bool,
                         kv_csi=False, tags=None, sku=None) -> dict:
    fqdn_sfx = hexd(c.name + "fqdn", 8)
    props: dict = {
        "provisioningState": "Succeeded",
        "powerState": {"code": "Running"},
        "kubernetesVersion": c.k8s_version,
        "currentKubernetesVersion": c.k8s_version,
        "dnsPrefix": c.name,
        "fqdn": f"{c.name}-{fqdn_sfx}.hcp.{c.region}.azmk8s.io",
        "azurePortalFQDN": f"{c.name}-{fqdn_sfx}.portal.hcp.{c.region}.azmk8s.io",
        "agentPoolProfiles": agent_pool_profiles(c),
        "servicePrincipalProfile": {"clientId": "msi"},
        "nodeResourceGroup": c.node_rg,
        "enableRBAC": True,
        "supportPlan": "KubernetesOfficial",
        "networkProfile": {"networkPlugin": c.network_plugin, "loadBalancerSku": "standard",
                           "podCidr": "10.244.0.0/16", "serviceCidr": "10.0.0.0/16",
                           "dnsServiceIP": "10.0.0.10", "outboundType": "loadBalancer",
                           "podCidrs": ["10.244.0.0/16"], "serviceCidrs": ["10.0.0.0/16"],
                           "ipFamilies": ["IPv4"]},
        "aadProfile": {"managed": True, "enableAzureRBAC": True, "tenantID": TENANT},
        "maxAgentPools": 100,
        "identityProfile": {"kubeletidentity": {"resourceId": c.kubelet.rid(), "clientId": c.kubelet.client_id,
                                                "objectId": c.kubelet.principal_id}},
        "disableLocalAccounts": True,
    }
    if c.network_plugin == "azure":
        props["networkProfile"]["networkPluginMode"] = "overlay"
    addons: dict = {}
    if kv_csi:
        kv_id = UAMIS[f"azurekeyvaultsecretsprovider-{c.name}"]
        addons["azureKeyvaultSecretsProvider"] = {
            "enabled": True, "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"},
            "identity": {"resourceId": kv_id.rid(), "clientId": kv_id.client_id, "objectId": kv_id.principal_id}}
    if addons:
        props["addonProfiles"] = addons
    if pod_identity is not None:
        props["podIdentityProfile"] = pod_identity
    props["oidcIssuerProfile"] = {"enabled": oidc}
    if oidc:
        props["oidcIssuerProfile"]["issuerURL"] = c.issuer
    props["securityProfile"] = {"workloadIdentity": {"enabled": wi}} if wi else {}
    body = {"id": f"/subscriptions/{c.sub}/resourceGroups/{c.rg}/providers/Microsoft.ContainerService/"
                  f"managedClusters/{c.name}",
            "location": c.region, "name": c.name, "type": "Microsoft.ContainerService/ManagedClusters",
            "tags": tags or {},
            "sku": sku or {"name": "Base", "tier": "Standard"},
            "identity": {"type": "SystemAssigned", "principalId": new_uuid("cluster-mi", c.name),
                         "tenantId": TENANT},
            "properties": props}
    return body


def pod_identity_entry(name: str, ns: str, u: Uami, *, selector=None, lower_rg=False) -> dict:
    e = {"name": name, "namespace": ns}
    if selector:
        e["bindingSelector"] = selector
    e["identity"] = {"resourceId": u.rid(lower_rg), "clientId": u.client_id, "objectId": u.principal_id}
    e["provisioningState"] = "Assigned"
    return e


# REST wire name -> Azure CLI (SDK attribute camelCased) name, where they differ
_AZ_RENAMES = {"azurePortalFQDN": "azurePortalFqdn", "enableRBAC": "enableRbac", "issuerURL": "issuerUrl",
               "osSKU": "osSku", "tenantID": "tenantId", "osDiskSizeGB": "osDiskSizeGb",
               "dnsServiceIP": "dnsServiceIp", "enableFIPS": "enableFips",
               "enableAzureRBAC": "enableAzureRbac", "enableNodePublicIP": "enableNodePublicIp"}


def _az_rename(v):
    if isinstance(v, dict):
        return {_AZ_RENAMES.get(k, k): _az_rename(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_az_rename(x) for x in v]
    return v


def to_az_cli_shape(rest: dict, c: Cluster) -> dict:
    """`az aks show -o json`: flattened properties, SDK camelCase names, nulls for unset models."""
    out = {k: v for k, v in rest.items() if k != "properties"}
    out.update(rest["properties"])
    out = _az_rename(out)
    out["id"] = out["id"].replace("/resourceGroups/", "/resourcegroups/")
    out["resourceGroup"] = c.rg
    for k in ("apiServerAccessProfile", "autoScalerProfile", "autoUpgradeProfile", "azureMonitorProfile",
              "diskEncryptionSetId", "extendedLocation", "httpProxyConfig", "ingressProfile", "linuxProfile",
              "privateFqdn", "privateLinkResources", "serviceMeshProfile", "storageProfile", "windowsProfile",
              "workloadAutoScalerProfile", "systemData"):
        out.setdefault(k, None)
    out["identity"]["userAssignedIdentities"] = None
    out["securityProfile"].setdefault("azureKeyVaultKms", None)
    out["securityProfile"].setdefault("defender", None)
    out["securityProfile"].setdefault("imageCleaner", None)
    for p in out["agentPoolProfiles"]:
        for k in ("nodeLabels", "proximityPlacementGroupId", "scaleSetPriority", "spotMaxPrice", "tags",
                  "vnetSubnetId", "podSubnetId"):
            p.setdefault(k, None)
    pip = out.get("podIdentityProfile")
    if pip:
        pip.setdefault("allowNetworkPluginKubenet", None)
        for e in pip.get("userAssignedIdentities", []):
            e.setdefault("bindingSelector", None)
            e.setdefault("provisioningInfo", None)
    return out


def vmss_list(c: Cluster) -> dict:
    value = []
    for p in c.pools:
        ids = {c.kubelet.rid(): {"principalId": c.kubelet.principal_id, "clientId": c.kubelet.client_id}}
        for u, lower in c.vmss_extra[p["name"]]:
            ids[u.rid(lower)] = {"principalId": u.principal_id, "clientId": u.client_id}
        vmss = p["vmss"]
        value.append({
            "name": vmss,
            "id": f"/subscriptions/{c.sub}/resourceGroups/{c.node_rg}/providers/Microsoft.Compute/"
                  f"virtualMachineScaleSets/{vmss}",
            "type": "Microsoft.Compute/virtualMachineScaleSets",
            "location": c.region,
            "tags": {"aks-managed-createOperationID": new_uuid("createop", c.name, p["name"]),
                     "aks-managed-creationSource": f"vmssclient-{vmss}",
                     "aks-managed-kubeletIdentityClientID": c.kubelet.client_id,
                     "aks-managed-orchestrator": f"Kubernetes:{c.k8s_version}",
                     "aks-managed-poolName": p["name"],
                     "aks-managed-resourceNameSuffix": digits(c.name + "sfx", 8)},
            "sku": {"name": p["vmSize"], "tier": "Standard", "capacity": p["count"]},
            "zones": ["1", "2", "3"],
            "identity": {"type": "UserAssigned", "userAssignedIdentities": ids},
            "properties": {"singlePlacementGroup": False, "orchestrationMode": "Uniform",
                           "upgradePolicy": {"mode": "Manual"},
                           "provisioningState": "Succeeded", "overprovision": False,
                           "doNotRunExtensionsOnOverprovisionedVMs": False,
                           "uniqueId": new_uuid("vmss", c.name, p["name"]),
                           "timeCreated": ts(c.created_days_ago)},
        })
    return {"value": value}


# --------------------------------------------------------------------------------------
# the fleet
# --------------------------------------------------------------------------------------

def app_container(name, image, *, port=8080, env=None, mounts=None):
    return ctr(name, image, ports=[("http", port)], env=env, mounts=mounts,
               readiness=http_probe("/healthz/ready", port), liveness=http_probe("/healthz/live", port, 15, 10))


ACR = "acrcontoso.azurecr.io"


def prod_payments_orders_shared(c: Cluster, ids: dict, *, weu: bool):
    """Application namespaces shared by the prod peers (aks-prod-weu / aks-prod-eus)."""
    region = "weu" if weu else "eus"
    # payments: Helm-managed API + CronJob sharing SA payments-api; SPC with usePodIdentity
    namespace(c, "payments", {"team": "payments"}, created_days=700 if weu else 600)
    service_account(c, "payments", "payments-api", labels=helm_labels("payments-api", "3.4.1", "payments-api"),
                    annotations=helm_annotations("payments-api", "payments"))
    kv = f"kv-payments-prod-{region}"
    c.add("secretproviderclasses", {
        "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
        "metadata": c.meta("SecretProviderClass", "payments-kv", "payments", created=ts(500), generation=3,
                           labels=helm_labels("payments-api", "3.4.1", "payments-api"),
                           annotations=helm_annotations("payments-api", "payments")),
        "spec": {"provider": "azure",
                 "parameters": {"usePodIdentity": "true", "useVMManagedIdentity": "false",
                                "keyvaultName": kv, "cloudName": "AzurePublicCloud", "tenantId": TENANT,
                                "objects": "array:\n  - |\n    objectName: stripe-api-key\n    objectType: secret\n"
                                           "  - |\n    objectName: payments-db-connection\n    objectType: secret\n"},
                 "secretObjects": [{"secretName": "payments-api-secrets", "type": "Opaque",
                                    "data": [{"key": "stripe-api-key", "objectName": "stripe-api-key"}]}]}})
    pay = ids["payments"]
    hl = helm_labels("payments-api", "3.4.1", "payments-api", "2026.06.3")
    deployment(c, "payments", "payments-api",
               [app_container("payments-api", f"{ACR}/payments/payments-api:2026.06.3",
                              env=[("ASPNETCORE_ENVIRONMENT", "Production"), ("AZURE_CLIENT_ID", pay.client_id),
                                   ("KEYVAULT_NAME", kv)],
                              mounts=[{"mountPath": "/mnt/secrets-store", "name": "secrets-store", "readOnly": True}])],
               sa="payments-api", replicas=2 if weu else 3,
               selector={"app.kubernetes.io/instance": "payments-api", "app.kubernetes.io/name": "payments-api"},
               labels=hl, pod_labels={"app.kubernetes.io/version": "2026.06.3"}, binding="payments-api",
               annotations=helm_annotations("payments-api", "payments"),
               volumes=[{"csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": True,
                                 "volumeAttributes": {"secretProviderClass": "payments-kv"}},
                         "name": "secrets-store"}],
               age_days=640 if weu else 560, revision=23, old_revisions=2)
    cronjob(c, "payments", "payments-reconcile",
            [ctr("reconcile", f"{ACR}/payments/payments-reconcile:2026.06.3",
                 env=[("AZURE_CLIENT_ID", pay.client_id), ("RECONCILE_WINDOW", "30m")])],
            schedule="*/30 * * * *", sa="payments-api", binding="payments-api",
            labels=hl, annotations=helm_annotations("payments-api", "payments"),
            last_run_hours_ago=0.35)

    # orders: Flux-managed; backup StatefulSet runs as SA default
    namespace(c, "orders", {"team": "orders", **flux_labels("apps")}, created_days=650 if weu else 600)
    service_account(c, "orders", "orders-sync", labels=flux_labels("orders"))
    service_account(c, "orders", "orders-api", labels=flux_labels("orders"))
    statefulset(c, "orders", "orders-db-backup",
                [ctr("backup", f"{ACR}/orders/pg-backup:1.12.0",
                     env=[("BACKUP_CONTAINER", "orders-backups"),
                          ("STORAGE_ACCOUNT", f"storders{region}prod")],
                     mounts=[{"mountPath": "/var/lib/backup", "name": "scratch"}])],
                sa=None, labels={"app": "orders-db-backup", **flux_labels("orders")}, binding="orders-db-backup",
                volumes=[{"emptyDir": {"sizeLimit": "20Gi"}, "name": "scratch"}])
    deployment(c, "orders", "orders-sync",
               [app_container("orders-sync", f"{ACR}/orders/orders-sync:4.2.0",
                              env=[("SERVICEBUS_NAMESPACE", f"sb-orders-prod-{region}")])],
               sa="orders-sync", labels={"app": "orders-sync", **flux_labels("orders")}, binding="orders-sync",
               age_days=300, revision=9)
    deployment(c, "orders", "orders-api",
               [app_container("orders-api", f"{ACR}/orders/orders-api:4.2.0")],
               sa="orders-api", replicas=2, labels={"app": "orders-api", **flux_labels("orders")},
               age_days=300, revision=31)
    # a copy-pasted label: selector of a *namespaced* identity living in `shared` -> no match here
    deployment(c, "orders", "ingest-replay",
               [ctr("replay", f"{ACR}/shared/ingest-worker:7.0.1", args=["--mode=replay", "--since=72h"])],
               sa=None, labels={"app": "ingest-replay", **flux_labels("orders")}, binding="ingest-worker",
               age_days=45, revision=2)

    # shared: ONE service account used by two Deployments bound to two different identities
    namespace(c, "shared", {"team": "platform"}, created_days=700 if weu else 600)
    service_account(c, "shared", "shared-runner")
    deployment(c, "shared", "report-builder",
               [app_container("report-builder", f"{ACR}/shared/report-builder:2.8.0",
                              env=[("REPORT_STORAGE_ACCOUNT", f"streports{region}prod")])],
               sa="shared-runner", binding="report-builder",
               annotations={"argocd.argoproj.io/tracking-id": "shared-apps:apps/Deployment:shared/report-builder"},
               labels={"app": "report-builder", "app.kubernetes.io/part-of": "shared-apps"},
               age_days=400, revision=17)
    deployment(c, "shared", "ingest-worker",
               [app_container("ingest-worker", f"{ACR}/shared/ingest-worker:7.0.1",
                              env=[("AZURE_CLIENT_ID", ids["ingest"].client_id),
                                   ("EVENTHUB_NAMESPACE", f"evh-ingest-prod-{region}")])],
               sa="shared-runner", replicas=2, binding="ingest-worker",
               labels={"app": "ingest-worker", "app.kubernetes.io/part-of": "shared-apps"},
               age_days=400, revision=12)

    # checkout: Argo Rollout; pods' owner chain ends in a Rollout (not captured)
    namespace(c, "checkout", {"team": "checkout", "argocd.argoproj.io/managed-by": "argocd"},
              created_days=380)
    service_account(c, "checkout", "checkout-web")
    rollout_replicasets(c, "checkout", "checkout-web",
                        [app_container("checkout-web", f"{ACR}/checkout/checkout-web:5.14.2",
                                       env=[("COSMOS_ACCOUNT", f"cosmos-checkout-prod-{region}")])],
                        sa="checkout-web", binding="checkout-web", replicas=3)
    crd(c, "argoproj.io", "Rollout", "rollouts",
        [{"name": "v1alpha1", "schema": _loose_schema(), "served": True, "storage": True,
          "subresources": {"scale": {"labelSelectorPath": ".status.selector", "specReplicasPath": ".spec.replicas",
                                     "statusReplicasPath": ".status.HPAReplicas"}, "status": {}}}],
        short_names=["ro"], labels={"app.kubernetes.io/component": "rollouts-controller",
                                    "app.kubernetes.io/name": "argo-rollouts",
                                    "app.kubernetes.io/part-of": "argo-rollouts"}, age_days=380)


def build_prod_weu(ids) -> Cluster:
    c = Cluster("aks-prod-weu", "westeurope", SUB_PROD, "prod", "1.32.7", 1920)
    c.issuer = issuer_url("westeurope", c.name)
    c.add_pool("system", 2, "Standard_D4ds_v5", mode="System")
    c.add_pool("user", 3, "Standard_D8ds_v5")
    base_namespaces(c)
    aks_system(c, wi_addon=True, kv_csi=True)
    spc_crd(c)

    # --- AAD Pod Identity, Helm chart aad-pod-identity-4.1.18 (app v1.8.17), standard mode ---
    aadpi_crds(c, "structural", helm=True, age_days=1100)
    chart = helm_labels("aad-pod-identity", "4.1.18", "aad-pod-identity")
    chart["helm.sh/chart"] = "aad-pod-identity-4.1.18"
    sel = {"app.kubernetes.io/instance": "aad-pod-identity", "app.kubernetes.io/name": "aad-pod-identity"}
    helm_ann = {"description": "Deploy components for aad-pod-identity",
                **helm_annotations("aad-pod-identity", "kube-system")}
    service_account(c, "kube-system", "aad-pod-identity-nmi", labels=chart,
                    annotations=helm_annotations("aad-pod-identity", "kube-system"))
    service_account(c, "kube-system", "aad-pod-identity-mic", labels=chart,
                    annotations=helm_annotations("aad-pod-identity", "kube-system"))
    daemonset(c, "kube-system", "aad-pod-identity-nmi",
              [nmi_container("v1.8.17", ["--node=$(NODE_NAME)", "--http-probe-port=8085",
                                         "--enableScaleFeatures=true", "--metadata-header-required=true",
                                         "--operation-mode=standard", "--kubelet-config=/etc/default/kubelet"],
                             env_extra=[{"name": "FORCENAMESPACED", "value": "false"}], include_host_ip=False)],
              sa="aad-pod-identity-nmi", selector={**sel, "app.kubernetes.io/component": "nmi"},
              labels={**chart, "app.kubernetes.io/component": "nmi", "tier": "node"},
              pod_labels={**chart, "app.kubernetes.io/component": "nmi", "tier": "node"},
              annotations=helm_ann, host_network=True, volumes=NMI_VOLUMES,
              tolerations=[{"operator": "Exists"}], age_days=1100, generation=6,
              update_strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"})
    deployment(c, "kube-system", "aad-pod-identity-mic",
               [ctr("mic", f"{AADPI_IMAGE}/mic:v1.8.17", args=["--cloudconfig=/etc/kubernetes/azure.json",
                                                               "--logtostderr"],
                    env=[env_field("MIC_POD_NAMESPACE", "metadata.namespace"),
                         {"name": "FORCENAMESPACED", "value": "false"}],
                    mounts=[{"mountPath": "/etc/kubernetes/azure.json", "name": "k8s-azure-file", "readOnly": True}],
                    resources={"limits": {"cpu": "200m", "memory": "1024Mi"},
                               "requests": {"cpu": "100m", "memory": "256Mi"}},
                    security={"readOnlyRootFilesystem": True, "runAsUser": 0},
                    liveness=http_probe("/healthz", 8080))],
               sa="aad-pod-identity-mic", replicas=2, selector={**sel, "app.kubernetes.io/component": "mic"},
               labels={**chart, "app.kubernetes.io/component": "mic"},
               pod_labels={**chart, "app.kubernetes.io/component": "mic"},
               pod_annotations={"checksum/config": hexd("aad-pod-identity-mic-secret")},
               annotations=helm_ann, node_selector={"kubernetes.io/os": "linux"},
               volumes=[{"hostPath": {"path": "/etc/kubernetes/azure.json", "type": ""}, "name": "k8s-azure-file"}],
               affinity={"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                   {"podAffinityTerm": {"labelSelector": {"matchLabels": {"app.kubernetes.io/component": "mic"}},
                                        "topologyKey": "kubernetes.io/hostname"}, "weight": 1}]}},
               pool="user", age_days=1100, revision=6)
    pod_exception(c, "kube-system", "mic", {"app": "mic", "component": "mic", "app.kubernetes.io/component": "mic"},
                  age_days=1100, labels=chart, annotations=helm_annotations("aad-pod-identity", "kube-system"))
    pod_exception(c, "kube-system", "aks-addon-exception", {"kubernetes.azure.com/managedby": "aks"},
                  age_days=1100, labels=chart, annotations=helm_annotations("aad-pod-identity", "kube-system"))

    # --- the AKS pod-identity add-on was ALSO enabled later (managed mode, namespaced) ---
    service_account(c, "kube-system", "nmi", labels=AKS_MANAGED)
    daemonset(c, "kube-system", "nmi",
              [nmi_container("v1.8.17", ["--node=$(NODE_NAME)", "--http-probe-port=8085",
                                         "--operation-mode=managed", "--forceNamespaced",
                                         "--kubelet-config=/etc/default/kubelet",
                                         "--metadata-header-required=true", "--allow-network-plugin-kubenet=false"],
                             include_host_ip=False)],
              sa="nmi", selector={"component": "nmi", "tier": "node"},
              labels={"component": "nmi", "tier": "node", **AKS_MANAGED},
              pod_labels=AKS_MANAGED, host_network=True, volumes=NMI_VOLUMES,
              priority_class="system-node-critical", tolerations=[{"operator": "Exists"}], age_days=21,
              pod_state="crashloop", restarts=412,
              crash_message="back-off 5m0s restarting failed container=nmi")

    # applications
    prod_payments_orders_shared(c, ids, weu=True)
    flux_extension(c, age_days=500)

    # platform team's identities (non-namespaced, in `default`), MIC standard mode
    pay_id = azure_identity(c, "default", "payments-api-id", ids["payments"], age_days=640)
    pay_b = identity_binding(c, "default", "payments-api-id-binding", "payments-api-id", "payments-api", age_days=640)
    # add-on materialized objects for its pod identity payments/payments-api (same UAMI)
    addon_id = azure_identity(c, "payments", "payments-api", ids["payments"], lower_rg=True, age_days=21)
    addon_b = identity_binding(c, "payments", "payments-api-binding", "payments-api", "payments-api", age_days=21)
    pod_exception(c, "flux-system", "flux-extension-exception", {"app.kubernetes.io/name": "flux-extension"},
                  age_days=21)

    ob_id = azure_identity(c, "orders", "orders-backup", ids["orders_backup"], lower_rg=True, age_days=600)
    ob_b = identity_binding(c, "orders", "orders-backup-binding", "orders-backup", "orders-db-backup", age_days=600)
    # incident hotfix, never mirrored to eus: orders-sync borrows the backup identity
    hot_b = identity_binding(c, "orders", "orders-sync-hotfix", "orders-backup", "orders-sync", age_days=95)
    azure_identity(c, "orders", "legacy-exporter", ids["legacy_exporter"], age_days=900)
    identity_binding(c, "orders", "legacy-exporter-binding", "legacy-exporter", "legacy-exporter", age_days=900)

    rb_id = azure_identity(c, "shared", "report-builder", ids["reports"], age_days=400)
    rb_b = identity_binding(c, "shared", "report-builder-binding", "report-builder", "report-builder", age_days=400)
    iw_id = azure_identity(c, "shared", "ingest-worker", ids["ingest"], age_days=400,
                           annotations={"aadpodidentity.k8s.io/Behavior": "namespaced"})
    iw_b = identity_binding(c, "shared", "ingest-worker-binding", "ingest-worker", "ingest-worker", age_days=400)
    cw_id = azure_identity(c, "checkout", "checkout-web", ids["checkout"], age_days=380)
    cw_b = identity_binding(c, "checkout", "checkout-web-binding", "checkout-web", "checkout-web", age_days=380)

    # MIC's AzureAssignedIdentity objects for the running pods
    assign_for_pods(c, "payments-api", pay_id, pay_b)
    assign_for_pods(c, "payments-api", addon_id, addon_b)
    assign_for_pods(c, "orders-db-backup", ob_id, ob_b)
    assign_for_pods(c, "orders-sync", ob_id, hot_b)
    assign_for_pods(c, "report-builder", rb_id, rb_b)
    assign_for_pods(c, "ingest-worker", iw_id, iw_b, namespaced=True)
    assign_for_pods(c, "checkout-web", cw_id, cw_b)

    c.arm = managed_cluster_rest(c, pod_identity={
        "enabled": True, "allowNetworkPluginKubenet": False,
        "userAssignedIdentities": [pod_identity_entry("payments-api", "payments", ids["payments"],
                                                      selector="payments-api", lower_rg=True)],
        "userAssignedIdentityExceptions": [{"name": "flux-extension-exception", "namespace": "flux-system",
                                            "podLabels": {"app.kubernetes.io/name": "flux-extension"}}]},
        oidc=True, wi=True, kv_csi=True, tags={"env": "prod", "region-pair": "weu-eus", "owner": "platform"})
    for u in (ids["payments"], ids["orders_backup"], ids["reports"], ids["ingest"], ids["checkout"]):
        c.assign_to_vmss(u, lower_key=True)
    c.assign_to_vmss(UAMIS["azurekeyvaultsecretsprovider-aks-prod-weu"])
    return c


def build_prod_eus(ids) -> Cluster:
    c = Cluster("aks-prod-eus", "eastus", SUB_PROD, "prod", "1.32.7", 1380)
    c.issuer = issuer_url("eastus", c.name)
    c.arm_shape = "az"
    c.raw_shape |= {"pods", "replicasets", "azureidentitybindings"}
    c.add_pool("system", 2, "Standard_D4ds_v5", mode="System")
    c.add_pool("user", 3, "Standard_D8ds_v5")
    base_namespaces(c)
    aks_system(c, wi_addon=True, kv_csi=True)
    spc_crd(c)
    aadpi_crds(c, "structural", plurals=["azureidentities", "azureidentitybindings",
                                         "azurepodidentityexceptions", "azureassignedidentities"], age_days=900)

    # AKS pod-identity add-on only: NMI in managed mode, no MIC
    service_account(c, "kube-system", "nmi", labels=AKS_MANAGED)
    daemonset(c, "kube-system", "nmi",
              [nmi_container("v1.8.17", ["--node=$(NODE_NAME)", "--http-probe-port=8085",
                                         "--operation-mode=managed", "--forceNamespaced",
                                         "--kubelet-config=/etc/default/kubelet",
                                         "--metadata-header-required=true", "--allow-network-plugin-kubenet=false"],
                             include_host_ip=False)],
              sa="nmi", selector={"component": "nmi", "tier": "node"},
              labels={"component": "nmi", "tier": "node", **AKS_MANAGED},
              pod_labels=AKS_MANAGED, host_network=True, volumes=NMI_VOLUMES,
              priority_class="system-node-critical", tolerations=[{"operator": "Exists"}], age_days=900, generation=11)

    prod_payments_orders_shared(c, ids, weu=False)
    flux_extension(c, age_days=480)

    # KEDA 2.14 (last line supporting podIdentity.provider: azure) - operator bound via add-on identity
    namespace(c, "keda", {"app.kubernetes.io/managed-by": "Helm"}, created_days=700)
    kl = helm_labels("keda", "2.14.0", "keda", "2.14.0", name="keda-operator")
    service_account(c, "keda", "keda-operator", labels=kl, annotations=helm_annotations("keda", "keda"))
    service_account(c, "keda", "keda-metrics-server", labels=kl, annotations=helm_annotations("keda", "keda"))
    deployment(c, "keda", "keda-operator",
               [ctr("keda-operator", "ghcr.io/kedacore/keda:2.14.0", command=["/keda"],
                    args=["--leader-elect", "--disable-compression=true", "--zap-log-level=info",
                          "--zap-encoder=console", "--zap-time-encoding=rfc3339", "--enable-cert-rotation=true",
                          "--cert-secret-name=kedaorg-certs", "--operator-service-name=keda-operator",
                          "--metrics-server-service-name=keda-operator-metrics-apiserver",
                          "--webhooks-service-name=keda-admission-webhooks", "--k8s-cluster-name=kubernetes",
                          "--k8s-cluster-domain=cluster.local", "--enable-prometheus-metrics=false"],
                    env=[("WATCH_NAMESPACE", ""), env_field("POD_NAME", "metadata.name"),
                         ("OPERATOR_NAME", "keda-operator"), ("KEDA_HTTP_DEFAULT_TIMEOUT", "3000")],
                    ports=[("metricsservice", 9666)])],
               sa="keda-operator", selector={"app": "keda-operator"},
               labels={**kl, "app": "keda-operator", "app.kubernetes.io/component": "operator",
                       "app.kubernetes.io/part-of": "keda-operator"},
               pod_labels={**kl, "app.kubernetes.io/component": "operator",
                           "app.kubernetes.io/part-of": "keda-operator", "name": "keda-operator"},
               binding="keda", annotations=helm_annotations("keda", "keda"), age_days=700, revision=8)
    deployment(c, "keda", "keda-operator-metrics-apiserver",
               [ctr("keda-operator-metrics-apiserver", "ghcr.io/kedacore/keda-metrics-apiserver:2.14.0",
                    args=["--port=8080", "--secure-port=6443", "--logtostderr=true", "--stderrthreshold=ERROR",
                          "--disable-compression=true", "--metrics-service-address=keda-operator.keda.svc.cluster.local:9666"])],
               sa="keda-metrics-server", selector={"app": "keda-operator-metrics-apiserver"},
               labels={**kl, "app": "keda-operator-metrics-apiserver", "app.kubernetes.io/name":
                       "keda-operator-metrics-apiserver"}, annotations=helm_annotations("keda", "keda"),
               age_days=700, revision=8)
    for kind, plural, scope_ in (("TriggerAuthentication", "triggerauthentications", "Namespaced"),
                                 ("ClusterTriggerAuthentication", "clustertriggerauthentications", "Cluster"),
                                 ("ScaledObject", "scaledobjects", "Namespaced")):
        crd(c, "keda.sh", kind, plural, [{"name": "v1alpha1", "schema": _loose_schema(), "served": True,
                                          "storage": True, "subresources": {"status": {}}}],
            scope_=scope_, labels={**kl, "app.kubernetes.io/name": "keda-operator"},
            annotations={"controller-gen.kubebuilder.io/version": "v0.14.0", **helm_annotations("keda", "keda")},
            age_days=700)
    c.add("triggerauthentications", {
        "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
        "metadata": c.meta("TriggerAuthentication", "orders-servicebus-auth", "orders", created=ts(500), generation=1,
                           labels=flux_labels("orders")),
        "spec": {"podIdentity": {"provider": "azure"}}})

    # add-on pod identities (managed mode -> namespace-local) and the CRD objects AKS materialized
    entries = [("payments-api", "payments", ids["payments"], "payments-api"),
               ("orders-backup", "orders", ids["orders_backup"], "orders-db-backup"),
               ("report-builder", "shared", ids["reports"], None),
               ("ingest-worker", "shared", ids["ingest"], None),
               ("checkout-web", "checkout", ids["checkout"], None),
               ("keda-operator", "keda", ids["keda"], "keda")]
    pip_entries = []
    for name, ns, u, selector in entries:
        pip_entries.append(pod_identity_entry(name, ns, u, selector=selector))
        azure_identity(c, ns, name, u, age_days=500)
        identity_binding(c, ns, f"{name}-binding", name, selector or name, age_days=500)
    exceptions = [{"name": "flux-extension-exception", "namespace": "flux-system",
                   "podLabels": {"app.kubernetes.io/name": "flux-extension"}},
                  {"name": "flux-controllers-exception", "namespace": "flux-system",
                   "podLabels": {"app.kubernetes.io/name": "microsoft.flux"}}]
    pod_exception(c, "kube-system", "aks-addon-exception", {"kubernetes.azure.com/managedby": "aks"}, age_days=900)
    for e in exceptions:
        pod_exception(c, e["namespace"], e["name"], e["podLabels"], age_days=480)
    # an exception for a batch job decommissioned long ago: it matches no pod any more
    pod_exception(c, "orders", "legacy-batch-exception", {"app": "orders-legacy-batch"}, age_days=820)

    # keda-operator also reads Service Bus with a second identity, bound by hand next to the add-on's
    azure_identity(c, "keda", "keda-servicebus", ids["keda_sb"], age_days=300)
    identity_binding(c, "keda", "keda-servicebus-binding", "keda-servicebus", "keda", age_days=300)
    c.assign_to_vmss(ids["keda_sb"])

    # copied weu's "identities live in default" habit: namespaced here -> dangling binding
    azure_identity(c, "default", "payments-api-readonly", ids["payments_ro"], age_days=200)
    identity_binding(c, "payments", "payments-api-ro-binding", "payments-api-readonly", "payments-api", age_days=200)

    c.arm = managed_cluster_rest(c, pod_identity={
        "enabled": True, "allowNetworkPluginKubenet": False,
        "userAssignedIdentities": pip_entries, "userAssignedIdentityExceptions": exceptions},
        oidc=True, wi=True, kv_csi=True, tags={"env": "prod", "region-pair": "weu-eus", "owner": "platform"})
    for _, _, u, _ in entries:
        c.assign_to_vmss(u)
    c.assign_to_vmss(UAMIS["azurekeyvaultsecretsprovider-aks-prod-eus"])
    return c


def build_staging_weu(ids) -> Cluster:
    c = Cluster("aks-staging-weu", "westeurope", SUB_NONPROD, "staging", "1.31.9", 2250, network_plugin="kubenet")
    c.raw_shape |= {"azureidentities", "jobs"}
    c.add_pool("system", 2, "Standard_D2s_v3", mode="System")
    c.add_pool("user", 2, "Standard_D4s_v3")
    base_namespaces(c)
    aks_system(c)

    # half-removed AAD Pod Identity: raw manifests from the v1.5.5 era, NMI image bumped to v1.8.13 in place,
    # MIC deleted. CRDs are the original schema-less v1beta1 ones.
    aadpi_crds(c, "schemaless", age_days=2200)
    service_account(c, "default", "aad-pod-id-nmi-service-account")
    daemonset(c, "default", "nmi",
              [nmi_container("v1.8.13", ["--node=$(NODE_NAME)", "--http-probe-port=8085",
                                         "--enableScaleFeatures=true", "--metadata-header-required=true"])],
              sa="aad-pod-id-nmi-service-account", selector={"component": "nmi", "tier": "node"},
              labels={"component": "nmi", "tier": "node", "k8s-app": "aad-pod-id"},
              host_network=True, volumes=NMI_VOLUMES, tolerations=[{"operator": "Exists"}],
              age_days=2200, generation=7,
              update_strategy={"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}, "type": "RollingUpdate"})

    flux_extension(c, image_automation=True, ext_version="1.15.1", age_days=800)  # NO exception at all

    namespace(c, "billing", {"team": "billing"}, created_days=2100)
    namespace(c, "reports", {"team": "billing"}, created_days=2000)
    service_account(c, "billing", "billing-api")
    # old-schema (capitalized) objects written for v1.5.5; ignored by NMI >= v1.6
    azure_identity(c, "default", "billing-api-identity", ids["billing"], legacy=True, age_days=2100)
    identity_binding(c, "default", "billing-api-binding", "billing-api-identity", "billing-api", legacy=True,
                     age_days=2100)
    azure_identity(c, "default", "report-legacy", ids["report_legacy"], legacy=True, type_value="0",
                   lower_rg=True, age_days=1900)
    identity_binding(c, "default", "report-legacy-binding", "report-legacy", "report-legacy", legacy=True,
                     age_days=1900)
    pod_exception(c, "kube-system", "system-pods-exception", {"kubernetes.azure.com/managedby": "aks"},
                  legacy=True, age_days=2000)
    # orphaned AzureAssignedIdentity objects written by the v1.5.5 MIC (lower-case json tags, capital Status)
    bi = c.get("azureidentities", "default", "billing-api-identity")
    bb = c.get("azureidentitybindings", "default", "billing-api-binding")
    user_vmss = next(p["vmss"] for p in c.pools if p["name"] == "user")
    for i, gone_node in enumerate((f"{user_vmss}00000a", f"{user_vmss}00000c")):  # scaled-in nodes
        pod_name = f"billing-api-{suffix('old-rs' + str(i), 10)}-{suffix('gone' + str(i))}"
        ref_id = _embedded(bi)
        ref_id["spec"] = {"type": 0, "resourceid": bi["spec"]["ResourceID"], "clientid": bi["spec"]["ClientID"]}
        ref_b = _embedded(bb)
        ref_b["spec"] = {"azureidentity": "billing-api-identity", "selector": "billing-api"}
        c.add("azureassignedidentities", {
            "apiVersion": AAPI, "kind": "AzureAssignedIdentity",
            "metadata": c.meta("AzureAssignedIdentity", f"{pod_name}-billing-billing-api-identity", "default",
                               labels={"nodename": gone_node}, created=ts(1500 + i * 40), generation=1),
            "spec": {"azureidentityref": ref_id, "azurebindingref": ref_b, "pod": pod_name,
                     "podnamespace": "billing", "nodename": gone_node},
            "Status": {"status": "Assigned", "availableReplicas": 1}})

    deployment(c, "billing", "billing-api",
               [app_container("billing-api", f"{ACR}/billing/billing-api:1.44.0",
                              env=[("AZURE_CLIENT_ID", ids["billing"].client_id)])],
               sa="billing-api", replicas=2, binding="billing-api", age_days=1800, revision=58)
    bare_pod(c, "billing", "debug-shell", [ctr("debug-shell", "mcr.microsoft.com/azure-cli:2.74.0",
                                               command=["sleep", "infinity"])],
             binding="billing-api", age_days=3)
    cronjob(c, "reports", "report-legacy",
            [ctr("report", f"{ACR}/billing/report-legacy:0.9.7", args=["--month=previous"])],
            schedule="0 3 * * *", binding="report-legacy", age_days=1900, last_run_hours_ago=5)

    # a service-principal identity added later with v1.8 casing
    sp_client = new_uuid("sp-app", "billing-sp")
    azure_identity(c, "billing", "billing-sp", sp={"clientID": sp_client, "secret": "billing-sp-secret"},
                   age_days=600)
    identity_binding(c, "billing", "billing-sp-binding", "billing-sp", "billing-sp", age_days=600)
    deployment(c, "billing", "invoice-renderer",
               [app_container("invoice-renderer", f"{ACR}/billing/invoice-renderer:3.1.0")],
               sa=None, binding="billing-sp", age_days=600, revision=14)
    bare_replicaset(c, "billing", "ledger-export",
                    [ctr("ledger-export", f"{ACR}/billing/ledger-export:2.0.4")], binding="billing-sp")

    c.arm = managed_cluster_rest(c, pod_identity=None, oidc=False, wi=False,
                                 tags={"env": "staging", "owner": "billing"})
    c.assign_to_vmss(ids["billing"], pools=["user"], lower_key=True)  # left behind by the old MIC
    return c


def build_staging_eus(ids) -> Cluster:
    c = Cluster("aks-staging-eus", "eastus", SUB_NONPROD, "staging", "1.33.7", 225)
    c.issuer = issuer_url("eastus", c.name)
    c.raw_shape |= {"deployments", "namespaces"}
    c.add_pool("system", 2, "Standard_D4ds_v5", mode="System")
    c.add_pool("user", 2, "Standard_D8ds_v5")
    c.add_pool("akswin", 1, "Standard_D4s_v5", os_="windows")
    base_namespaces(c)
    aks_system(c)

    # managed-mode raw manifests (deploy/infra/managed-mode-deployment.yaml): 3 CRDs, NMI only, kube-system
    aadpi_crds(c, "structural", plurals=["azureidentities", "azureidentitybindings", "azurepodidentityexceptions"],
               age_days=220)
    service_account(c, "kube-system", "aad-pod-id-nmi-service-account")
    daemonset(c, "kube-system", "nmi",
              [nmi_container("v1.8.17", ["--node=$(NODE_NAME)", "--operation-mode=managed", "--forceNamespaced",
                                         "--http-probe-port=8085", "--enableScaleFeatures=true",
                                         "--metadata-header-required=true"])],
              sa="aad-pod-id-nmi-service-account", selector={"component": "nmi", "tier": "node"},
              labels={"component": "nmi", "tier": "node", "k8s-app": "aad-pod-id"},
              host_network=True, volumes=NMI_VOLUMES, tolerations=[{"operator": "Exists"}], age_days=220,
              update_strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}})
    pod_exception(c, "kube-system", "aks-addon-exception", {"kubernetes.azure.com/managedby": "aks"}, age_days=220)

    # self-installed workload identity webhook v1.6.0 (deploy/azure-wi-webhook.yaml)
    wi_sys = {"azure-workload-identity.io/system": "true"}
    namespace(c, "azure-workload-identity-system", {**wi_sys, "pod-security.kubernetes.io/audit": "restricted",
                                                    "pod-security.kubernetes.io/audit-version": "latest",
                                                    "pod-security.kubernetes.io/enforce": "restricted",
                                                    "pod-security.kubernetes.io/enforce-version": "latest",
                                                    "pod-security.kubernetes.io/warn": "restricted",
                                                    "pod-security.kubernetes.io/warn-version": "latest"},
              created_days=40)
    service_account(c, "azure-workload-identity-system", "azure-wi-webhook-admin", labels=wi_sys)
    deployment(c, "azure-workload-identity-system", "azure-wi-webhook-controller-manager",
               [ctr("manager", WI_SELF_WEBHOOK_IMAGE, command=["/manager"], args=["--log-level=info"],
                    env=[env_field("POD_NAMESPACE", "metadata.namespace")],
                    env_from=[{"configMapRef": {"name": "azure-wi-webhook-config"}}],
                    ports=[("webhook-server", 9443), ("metrics", 8095), ("healthz", 9440)],
                    resources={"limits": {"cpu": "100m", "memory": "30Mi"},
                               "requests": {"cpu": "100m", "memory": "20Mi"}},
                    mounts=[{"mountPath": "/certs", "name": "cert", "readOnly": True}],
                    security={"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                              "readOnlyRootFilesystem": True, "runAsGroup": 65532, "runAsNonRoot": True,
                              "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}})],
               sa="azure-wi-webhook-admin", replicas=2, selector=wi_sys, labels=wi_sys,
               node_selector={"kubernetes.io/os": "linux"}, priority_class="system-cluster-critical",
               volumes=[{"name": "cert", "secret": {"defaultMode": 420, "secretName": "azure-wi-webhook-server-cert"}}],
               pool="user", age_days=40, revision=1)
    wi_webhook_config(c, "azure-workload-identity-system", labels=wi_sys, age_days=40)

    # flux (both exceptions present) - flux-system is protected by the VAP below
    flux_extension(c, age_days=200)
    pod_exception(c, "flux-system", "flux-extension-exception", {"app.kubernetes.io/name": "flux-extension"},
                  age_days=200)
    pod_exception(c, "flux-system", "flux-system-exception", {"app.kubernetes.io/name": "microsoft.flux"},
                  age_days=200)

    # monitoring: bound to the KUBELET identity (node resource group) - must not be federated
    namespace(c, "monitoring", created_days=210)
    service_account(c, "monitoring", "azure-metrics-exporter")
    azure_identity(c, "monitoring", "node-identity", c.kubelet, lower_rg=True, age_days=210)
    identity_binding(c, "monitoring", "node-identity-binding", "node-identity", "azure-metrics-exporter",
                     age_days=210)
    deployment(c, "monitoring", "azure-metrics-exporter",
               [ctr("azure-metrics-exporter", "webdevops/azure-metrics-exporter:24.9.0",
                    env=[("AZURE_CLIENT_ID", c.kubelet.client_id), ("METRICS_RESOURCEGRAPH_QUERY_TIMEOUT", "10s")],
                    ports=[("metrics", 8080)])],
               sa="azure-metrics-exporter", binding="azure-metrics-exporter",
               labels={"app": "azure-metrics-exporter", **helm_labels("azure-metrics-exporter", "1.2.8",
                                                                         "azure-metrics-exporter")},
               annotations=helm_annotations("azure-metrics-exporter", "monitoring"), age_days=210, revision=3)

    # edge: hostNetwork gateway, Argo CD managed
    namespace(c, "edge", {"argocd.argoproj.io/managed-by": "argocd"}, created_days=200)
    service_account(c, "edge", "edge-gateway")
    azure_identity(c, "edge", "edge-gateway", ids["edge"], lower_rg=True, age_days=200)
    identity_binding(c, "edge", "edge-gateway-binding", "edge-gateway", "edge-gateway", age_days=200)
    deployment(c, "edge", "edge-gateway",
               [ctr("gateway", f"{ACR}/edge/edge-gateway:1.8.2", ports=[("https", 8443)],
                    env=[("IOTHUB_HOSTNAME", "iot-contoso-stg-eus.azure-devices.net")],
                    security={"capabilities": {"add": ["NET_BIND_SERVICE"]}})],
               sa="edge-gateway", replicas=2, binding="edge-gateway", host_network=True,
               annotations={"argocd.argoproj.io/tracking-id": "edge:apps/Deployment:edge/edge-gateway"},
               labels={"app": "edge-gateway", "app.kubernetes.io/part-of": "edge"}, age_days=200, revision=5)
    # leftover from when this cluster ran standard mode: binding in `default` cannot reach edge/ pods now
    azure_identity(c, "default", "edge-gateway", ids["edge"], age_days=224)
    identity_binding(c, "default", "edge-gateway-binding", "edge-gateway", "edge-gateway", age_days=224)

    # dapr-system: bound workload in a namespace protected by the AKS-Automatic-style VAP
    namespace(c, "dapr-system", {"app.kubernetes.io/managed-by": "helm"}, created_days=190)
    dl = {"app.kubernetes.io/component": "operator", "app.kubernetes.io/managed-by": "helm",
          "app.kubernetes.io/name": "dapr", "app.kubernetes.io/part-of": "dapr", "app.kubernetes.io/version": "1.15.5"}
    service_account(c, "dapr-system", "dapr-operator", labels=dl)
    service_account(c, "dapr-system", "dapr-sentry", labels=dl)
    azure_identity(c, "dapr-system", "dapr-operator", ids["dapr"], age_days=190)
    identity_binding(c, "dapr-system", "dapr-operator-binding", "dapr-operator", "dapr-operator", age_days=190)
    deployment(c, "dapr-system", "dapr-operator",
               [ctr("dapr-operator", "ghcr.io/dapr/operator:1.15.5", command=["/operator"],
                    args=["--watch-interval", "0", "--max-pod-restarts-per-minute", "20", "--log-level", "info",
                          "--trust-anchors-file", "/var/run/secrets/dapr.io/tls/ca.crt", "--enable-metrics",
                          "--metrics-port", "9090"],
                    env=[env_field("NAMESPACE", "metadata.namespace"),
                         ("AZURE_KEYVAULT_NAME", "kv-dapr-stg-eus")],
                    ports=[("webhook-server", 19443), ("metrics", 9090)])],
               sa="dapr-operator", selector={"app": "dapr-operator"}, labels={**dl, "app": "dapr-operator"},
               pod_labels={**dl, "app.kubernetes.io/component": "operator"}, binding="dapr-operator",
               age_days=190, revision=4)
    deployment(c, "dapr-system", "dapr-sentry",
               [ctr("dapr-sentry", "ghcr.io/dapr/sentry:1.15.5", command=["/sentry"],
                    args=["--log-level", "info", "--enable-metrics", "--metrics-port", "9090",
                          "--trust-domain", "cluster.local"], ports=[("grpc", 50001)])],
               sa="dapr-sentry", selector={"app": "dapr-sentry"},
               labels={**dl, "app": "dapr-sentry", "app.kubernetes.io/component": "sentry"},
               age_days=190, revision=4)

    # winapps: Windows workload (NMI is Linux-only; nothing intercepts IMDS on this node)
    namespace(c, "winapps", created_days=180)
    service_account(c, "winapps", "legacy-dotnet-api")
    azure_identity(c, "winapps", "legacy-dotnet-api", ids["dotnet"], age_days=180)
    identity_binding(c, "winapps", "legacy-dotnet-api-binding", "legacy-dotnet-api", "legacy-dotnet-api",
                     age_days=180)
    deployment(c, "winapps", "legacy-dotnet-api",
               [ctr("api", "mcr.microsoft.com/dotnet/framework/aspnet:4.8.1-windowsservercore-ltsc2022",
                    ports=[("http", 80)], env=[("AZURE_CLIENT_ID", ids["dotnet"].client_id)],
                    resources={"limits": {"cpu": "1", "memory": "2Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}})],
               sa="legacy-dotnet-api", binding="legacy-dotnet-api",
               node_selector={"kubernetes.io/os": "windows"},
               tolerations=[{"effect": "NoSchedule", "key": "os", "operator": "Equal", "value": "windows"}],
               pool="akswin", age_days=180, revision=2)

    # batch: a pipeline-created Job whose identity was deleted in Azure
    namespace(c, "batch", created_days=170)
    service_account(c, "batch", "batch-runner")
    azure_identity(c, "batch", "batch-runner", ids["batch"], age_days=170)
    identity_binding(c, "batch", "batch-runner-binding", "batch-runner", "batch-runner", age_days=170)
    bare_job(c, "batch", "schema-migrate-20260614",
             [ctr("migrate", f"{ACR}/batch/schema-migrate:2026.06.14", args=["--target=latest"])],
             sa="batch-runner", binding="batch-runner",
             labels={"pipeline": "db-release", "app.kubernetes.io/managed-by": "azure-pipelines"},
             started_hours_ago=30)

    # AKS-Automatic-style namespace protection
    vap_labels = {"kubernetes.azure.com/managedby": "aks"}
    c.add("validatingadmissionpolicies", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
        "metadata": c.meta("ValidatingAdmissionPolicy", "aks-managed-protect-system-namespaces", labels=vap_labels,
                           created=ts(150), generation=3),
        "spec": {"failurePolicy": "Fail",
                 "matchConditions": [{"name": "exclude-exempt-service-accounts",
                                      "expression": "!request.userInfo.groups.exists(g, g in ["
                                                    "'system:serviceaccounts:kube-system', "
                                                    "'system:serviceaccounts:gatekeeper-system', "
                                                    "'system:serviceaccounts:app-routing-system', "
                                                    "'system:serviceaccounts:aks-istio-system', "
                                                    "'system:serviceaccounts:flux-system'])"}],
                 "matchConstraints": {
                     "matchPolicy": "Equivalent",
                     "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                                 "operator": "In",
                                                                 "values": ["flux-system", "dapr-system"]}]},
                     "objectSelector": {},
                     "resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"],
                                        "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["*"],
                                        "scope": "Namespaced"}]},
                 "validations": [{"expression": "false",
                                  "message": "Modification of resources in managed system namespaces is not allowed"}]},
        "status": {"observedGeneration": 3, "typeChecking": {}}})
    c.add("validatingadmissionpolicybindings", {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": c.meta("ValidatingAdmissionPolicyBinding", "aks-managed-protect-system-namespaces-binding",
                           labels=vap_labels, created=ts(150), generation=1),
        "spec": {"policyName": "aks-managed-protect-system-namespaces", "validationActions": ["Deny"]}})

    c.arm = managed_cluster_rest(c, pod_identity=None, oidc=True, wi=False,
                                 tags={"env": "staging", "owner": "platform"})
    c.arm["properties"]["securityProfile"] = {"workloadIdentity": {"enabled": False}}
    # identities assigned to the node pools by hand (managed mode has no MIC)
    c.assign_to_vmss(ids["edge"], pools=["user"])
    c.assign_to_vmss(ids["dapr"], pools=["user"], lower_key=True)
    c.assign_to_vmss(ids["dotnet"], pools=["akswin"])
    return c


def build_dev_weu(ids) -> Cluster:
    c = Cluster("aks-dev-weu", "westeurope", SUB_NONPROD, "dev", "1.33.7", 480)
    c.issuer = issuer_url("westeurope", c.name)
    c.not_captured.add("pods")
    c.raw_shape |= {"serviceaccounts"}
    c.add_pool("system", 1, "Standard_D4ds_v5", mode="System")
    c.add_pool("user", 1, "Standard_D4ds_v5")
    base_namespaces(c)
    aks_system(c, wi_addon=True)
    # Pod Identity was removed with `helm uninstall` when catalog-api moved to workload identity: Helm
    # never deletes CRDs, so they and the AzureIdentity nobody cleaned up are still here, with no NMI/MIC
    aadpi_crds(c, "structural", helm=True, age_days=460)
    namespace(c, "catalog", {"team": "catalog"}, created_days=400)
    azure_identity(c, "catalog", "catalog-api-podid", ids["catalog"], age_days=430)
    service_account(c, "catalog", "catalog-api",
                    annotations={"azure.workload.identity/client-id": ids["catalog"].client_id})
    deployment(c, "catalog", "catalog-api",
               [app_container("catalog-api", f"{ACR}/catalog/catalog-api:0.31.0")],
               sa="catalog-api", replicas=2, pod_labels={"azure.workload.identity/use": "true"},
               age_days=400, revision=40)
    c.arm = managed_cluster_rest(c, pod_identity=None, oidc=True, wi=True,
                                 tags={"env": "dev", "owner": "catalog"})
    return c


def build_identities() -> dict:
    def rg(env, region):
        return f"rg-identities-{env}-{region}"

    prod_tags = {"env": "prod", "managed-by": "terraform"}
    ids = {
        "payments": uami(SUB_PROD, rg("prod", "weu"), "id-payments-api-weu", "westeurope",
                         {**prod_tags, "owner": "team-payments"}),
        "orders_backup": uami(SUB_PROD, rg("prod", "weu"), "id-orders-backup-weu", "westeurope",
                              {**prod_tags, "owner": "team-orders"}),
        "legacy_exporter": uami(SUB_PROD, rg("prod", "weu"), "id-legacy-exporter-weu", "westeurope",
                                {"env": "prod", "owner": "team-orders"}),
        "reports": uami(SUB_PROD, rg("prod", "weu"), "id-shared-reports-weu", "westeurope",
                        {**prod_tags, "owner": "platform"}),
        "ingest": uami(SUB_PROD, rg("prod", "weu"), "id-shared-ingest-weu", "westeurope",
                       {**prod_tags, "owner": "platform"}),
        "checkout": uami(SUB_PROD, rg("prod", "weu"), "id-checkout-web-weu", "westeurope",
                         {**prod_tags, "owner": "team-checkout"}),
    }
    eus = {
        "payments": uami(SUB_PROD, rg("prod", "eus"), "id-payments-api-eus", "eastus",
                         {**prod_tags, "owner": "team-payments"}),
        "orders_backup": uami(SUB_PROD, rg("prod", "eus"), "id-orders-backup-eus", "eastus",
                              {**prod_tags, "owner": "team-orders"}),
        "reports": uami(SUB_PROD, rg("prod", "eus"), "id-shared-reports-eus", "eastus",
                        {**prod_tags, "owner": "platform"}),
        "ingest": uami(SUB_PROD, rg("prod", "eus"), "id-shared-ingest-eus", "eastus",
                       {**prod_tags, "owner": "platform"}),
        "checkout": uami(SUB_PROD, rg("prod", "eus"), "id-checkout-web-eus", "eastus",
                         {**prod_tags, "owner": "team-checkout"}),
        "keda": uami(SUB_PROD, rg("prod", "eus"), "id-keda-eus", "eastus", {**prod_tags, "owner": "platform"}),
        "keda_sb": uami(SUB_PROD, rg("prod", "eus"), "id-keda-servicebus-eus", "eastus",
                        {**prod_tags, "owner": "platform"}),
        "payments_ro": uami(SUB_PROD, rg("prod", "eus"), "id-payments-readonly-eus", "eastus",
                            {"env": "prod", "owner": "team-payments"}),
    }
    stg_weu = {
        "billing": uami(SUB_NONPROD, rg("staging", "weu"), "id-billing-api-stg-weu", "westeurope",
                        {"env": "staging", "owner": "team-billing"}),
        "report_legacy": uami(SUB_NONPROD, rg("staging", "weu"), "id-report-legacy-stg-weu", "westeurope",
                              {"env": "staging", "owner": "team-billing"}),
    }
    stg_eus = {
        "edge": uami(SUB_NONPROD, rg("staging", "eus"), "id-edge-gateway-stg-eus", "eastus",
                     {"env": "staging", "owner": "team-edge"}),
        "dapr": uami(SUB_NONPROD, rg("staging", "eus"), "id-dapr-operator-stg-eus", "eastus",
                     {"env": "staging", "owner": "platform"}),
        "dotnet": uami(SUB_NONPROD, rg("staging", "eus"), "id-legacy-dotnet-stg-eus", "eastus",
                       {"env": "staging", "owner": "team-legacy"}),
        "batch": uami(SUB_NONPROD, rg("staging", "eus"), "id-batch-runner-stg-eus", "eastus",
                      {"env": "staging", "owner": "team-data"}, in_azure=False),
    }
    dev = {"catalog": uami(SUB_NONPROD, rg("dev", "weu"), "id-catalog-dev-weu", "westeurope",
                           {"env": "dev", "owner": "team-catalog"})}
    for cl, reg in (("aks-prod-weu", "westeurope"), ("aks-prod-eus", "eastus")):
        uami(SUB_PROD, f"MC_rg-{cl}_{cl}_{reg}", f"azurekeyvaultsecretsprovider-{cl}", reg)
    return {"weu": ids, "eus": eus, "stg_weu": stg_weu, "stg_eus": stg_eus, "dev": dev}


def azure_wiring(all_ids: dict, clusters: dict[str, Cluster]):
    """Role assignments + federated credentials already present in Azure."""
    weu, eus = all_ids["weu"], all_ids["eus"]
    for region, ids in (("weu", weu), ("eus", eus)):
        ids["payments"].role(ROLE_KV_SECRETS_USER, scope(SUB_PROD, f"rg-payments-prod-{region}",
                                                         f"Microsoft.KeyVault/vaults/kv-payments-prod-{region}"))
        ids["orders_backup"].role(ROLE_STORAGE_BLOB_CONTRIB, scope(
            SUB_PROD, f"rg-orders-prod-{region}", f"Microsoft.Storage/storageAccounts/storders{region}prod"))
        ids["reports"].role(ROLE_STORAGE_BLOB_CONTRIB, scope(
            SUB_PROD, f"rg-shared-prod-{region}", f"Microsoft.Storage/storageAccounts/streports{region}prod"))
        ids["ingest"].role("a638d3c7-ab3a-418d-83e6-5f17a39d4fde", scope(
            SUB_PROD, f"rg-shared-prod-{region}", f"Microsoft.EventHub/namespaces/evh-ingest-prod-{region}"))
        ids["checkout"].role(ROLE_READER, scope(SUB_PROD, f"rg-checkout-prod-{region}"))
    weu["legacy_exporter"].role(ROLE_STORAGE_BLOB_CONTRIB, scope(SUB_PROD, "rg-orders-prod-weu",
                                                                 "Microsoft.Storage/storageAccounts/stordersexportweu"))
    eus["keda"].role(ROLE_SB_DATA_RECEIVER, scope(SUB_PROD, "rg-orders-prod-eus",
                                                  "Microsoft.ServiceBus/namespaces/sb-orders-prod-eus"))
    eus["payments_ro"].role(ROLE_READER, scope(SUB_PROD, "rg-payments-prod-eus"))
    all_ids["stg_weu"]["billing"].role(ROLE_KV_SECRETS_USER, scope(
        SUB_NONPROD, "rg-billing-staging-weu", "Microsoft.KeyVault/vaults/kv-billing-stg-weu"))
    all_ids["stg_weu"]["report_legacy"].role(ROLE_STORAGE_BLOB_CONTRIB, scope(SUB_NONPROD, "rg-billing-staging-weu"))
    se = all_ids["stg_eus"]
    se["edge"].role(ROLE_READER, scope(SUB_NONPROD, "rg-edge-staging-eus"))
    se["dapr"].role(ROLE_KV_SECRETS_USER, scope(SUB_NONPROD, "rg-dapr-staging-eus",
                                                "Microsoft.KeyVault/vaults/kv-dapr-stg-eus"))
    se["dotnet"].role(ROLE_STORAGE_BLOB_CONTRIB, scope(SUB_NONPROD, "rg-legacy-staging-eus"))
    all_ids["dev"]["catalog"].role(ROLE_STORAGE_BLOB_CONTRIB, scope(SUB_NONPROD, "rg-catalog-dev-weu"))
    # MIC (standard mode) needs the kubelet identity to manage identities on the VMSS
    kw = clusters["aks-prod-weu"].kubelet
    kw.role(ROLE_MI_OPERATOR, scope(SUB_PROD, "rg-identities-prod-weu"))
    kw.role(ROLE_VM_CONTRIBUTOR, scope(SUB_PROD, clusters["aks-prod-weu"].node_rg))
    ks = clusters["aks-staging-weu"].kubelet
    ks.role(ROLE_MI_OPERATOR, scope(SUB_NONPROD, "rg-identities-staging-weu"))
    clusters["aks-staging-eus"].kubelet.role(ROLE_MONITORING_READER, f"/subscriptions/{SUB_NONPROD}")

    # --- federated identity credentials already in Azure ---
    weu_issuer = clusters["aks-prod-weu"].issuer
    # exactly what (aks-prod-weu, payments, payments-api) will need -> already present
    weu["payments"].fic("aks-prod-weu-payments-payments-api", weu_issuer, "system:serviceaccount:payments:payments-api")
    service_account(clusters["aks-prod-weu"], "payments", "payments-api",
                    annotations={"azure.workload.identity/client-id": weu["payments"].client_id})
    # a rebuilt cluster's issuer that no cluster in the fleet has any more -> stale
    dead = issuer_url("westeurope", "aks-prod-weu-2023-rebuild")
    weu["checkout"].fic("aks-prod-weu-old-checkout-web", dead, "system:serviceaccount:checkout:checkout-web")
    # GitHub Actions -> foreign
    eus["payments"].fic("github-contoso-payments-main", GITHUB_ISSUER, "repo:contoso/payments:ref:refs/heads/main")
    # 19 FICs already: the orders backup identity was reused by CI for restore drills
    drills = [f"environment:restore-drill-{i:02d}" for i in range(1, 15)] + [
        "ref:refs/heads/main", "ref:refs/heads/release/2026.05", "ref:refs/heads/release/2026.06",
        "pull_request", "environment:prod-weu"]
    assert len(drills) == 19
    for i, subj in enumerate(drills, 1):
        weu["orders_backup"].fic(f"gh-orders-db-tools-{i:02d}", GITHUB_ISSUER, f"repo:contoso/orders-db-tools:{subj}")
    # healthy native WI in dev
    all_ids["dev"]["catalog"].fic("aks-dev-weu-catalog-catalog-api", clusters["aks-dev-weu"].issuer,
                                  "system:serviceaccount:catalog:catalog-api")


def identities_doc() -> dict:
    value = []
    for u in UAMIS.values():
        if not u.in_azure:
            continue
        item = {"name": u.name, "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "id": u.rid(),
                "location": u.location, "tags": dict(u.tags),
                "properties": {"tenantId": TENANT, "principalId": u.principal_id, "clientId": u.client_id,
                               "isolationScope": "None"}}
        value.append(item)
    return {"value": value}


def fics_doc() -> dict:
    value = []
    for u in UAMIS.values():
        for f in u.fics:
            value.append({"name": f["name"],
                          "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
                          "id": f"{u.rid()}/federatedIdentityCredentials/{f['name']}",
                          "properties": {"issuer": f["issuer"], "subject": f["subject"], "audiences": [AUDIENCE]}})
    return {"value": value}


def role_assignments_doc() -> dict:
    value = []
    for u in UAMIS.values():
        if not u.in_azure:
            continue
        for role_guid, sc in u.roles:
            sub = sc.split("/")[2]
            ra = new_uuid("ra", u.name, role_guid, sc)
            value.append({"id": f"{sc}/providers/Microsoft.Authorization/roleAssignments/{ra}",
                          "name": ra, "type": "Microsoft.Authorization/roleAssignments",
                          "properties": {"roleDefinitionId": f"/subscriptions/{sub}/providers/"
                                                             f"Microsoft.Authorization/roleDefinitions/{role_guid}",
                                         "principalId": u.principal_id, "principalType": "ServicePrincipal",
                                         "scope": sc, "condition": None, "conditionVersion": None,
                                         "createdOn": "2024-03-11T09:12:44.0000000Z",
                                         "updatedOn": "2024-03-11T09:12:44.0000000Z",
                                         "createdBy": new_uuid("tf-sp"), "updatedBy": new_uuid("tf-sp"),
                                         "delegatedManagedIdentityResourceId": None, "description": None}})
    return {"value": value}


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------

def _sorted(v):
    if isinstance(v, dict):
        return {k: _sorted(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [_sorted(x) for x in v]
    return v


def write_json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def kube_list_doc(c: Cluster, plural: str) -> dict:
    list_kind, api_version, is_cr = LIST_KINDS[plural]
    items = copy.deepcopy(c.objects[plural])
    items.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    if plural in c.raw_shape:
        if not is_cr:
            for it in items:
                it.pop("apiVersion", None)
                it.pop("kind", None)
        return {"kind": list_kind, "apiVersion": api_version, "metadata": {"resourceVersion": c.rv()},
                "items": items}
    # `kubectl get <plural> -A -o json`: kind List, items keep kind/apiVersion, keys sorted
    return _sorted({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}})


def write_cluster(c: Cluster) -> None:
    root = SNAP / c.name
    arm = to_az_cli_shape(c.arm, c) if c.arm_shape == "az" else c.arm
    write_json(root / "managedcluster.json", _sorted(arm) if c.arm_shape == "az" else arm)
    write_json(root / "vmss.json", vmss_list(c))
    crd_names = {o["metadata"]["name"] for o in c.objects["customresourcedefinitions"]}
    for plural in LIST_KINDS:
        if plural in c.not_captured:
            continue
        if plural in CR_CRD and CR_CRD[plural] not in crd_names:
            assert not c.objects[plural], f"{c.name}: {plural} objects without their CRD"
            continue
        write_json(root / "kube" / f"{plural}.json", kube_list_doc(c, plural))


def write_fleet(clusters: list[Cluster]) -> None:
    lines = ["# Example fleet for wi-migrator (generated by examples/make_snapshots.py; see README.md)",
             f"tenantId: {TENANT}", "clusters:"]
    for c in clusters:
        lines += [f"  - name: {c.name}", f"    region: {c.region}", f"    subscriptionId: {c.sub}",
                  f"    resourceGroup: {c.rg}", f"    group: {c.group}", f"    snapshot: snapshots/{c.name}"]
    lines += ["azure:", "  snapshot: snapshots/azure", ""]
    (HERE / "fleet.yaml").write_text("\n".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------------------
# validation of what was written
# --------------------------------------------------------------------------------------

def _items(doc):
    return doc.get("items", [])


def validate(clusters: list[Cluster]) -> list[str]:
    problems: list[str] = []
    for path in sorted(HERE.rglob("*.json")):
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except ValueError as e:  # pragma: no cover
            problems.append(f"{path}: {e}")
    for c in clusters:
        kube = SNAP / c.name / "kube"
        files = {p.stem: json.loads(p.read_text()) for p in kube.glob("*.json")}
        ns_names = {o["metadata"]["name"] for o in _items(files["namespaces"])}
        index = {}
        for plural, doc in files.items():
            kind_default = LIST_KINDS[plural][0][:-4]
            for o in _items(doc):
                kind = o.get("kind", kind_default)
                m = o["metadata"]
                index[(kind, m.get("namespace"), m["name"])] = m["uid"]
                ns = m.get("namespace")
                if ns is not None and ns not in ns_names:
                    problems.append(f"{c.name}: {kind} {ns}/{m['name']} in missing namespace")
        sa_names = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in _items(files["serviceaccounts"])}
        for plural in ("deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs", "pods"):
            for o in _items(files.get(plural, {})):
                spec = o["spec"]
                pod_spec = (spec["jobTemplate"]["spec"]["template"]["spec"] if plural == "cronjobs"
                            else spec if plural == "pods" else spec["template"]["spec"])
                sa = pod_spec.get("serviceAccountName") or "default"
                if (o["metadata"]["namespace"], sa) not in sa_names:
                    problems.append(f"{c.name}: {plural} {o['metadata']['name']} uses missing SA {sa}")
                for ref in o["metadata"].get("ownerReferences", []):
                    key = (ref["kind"], o["metadata"]["namespace"], ref["name"])
                    if ref["kind"] == "Rollout":
                        continue  # intended: owner kind not captured
                    if index.get(key) != ref["uid"]:
                        problems.append(f"{c.name}: {plural} {o['metadata']['name']} owner {key} missing")
        crds = {o["metadata"]["name"] for o in _items(files["customresourcedefinitions"])}
        for plural, crd_name in CR_CRD.items():
            if (crd_name in crds) != (plural in files):
                problems.append(f"{c.name}: {plural} file presence does not follow CRD {crd_name}")
        if "pods" in c.not_captured and "pods" in files:
            problems.append(f"{c.name}: pods.json should be missing")
        # cross-check: objects referenced by bindings/identities live in existing namespaces (done above)
    return problems


def main() -> int:
    if SNAP.exists():
        shutil.rmtree(SNAP)
    all_ids = build_identities()
    builders = [build_prod_weu(all_ids["weu"]), build_prod_eus(all_ids["eus"]),
                build_staging_weu(all_ids["stg_weu"]), build_staging_eus(all_ids["stg_eus"]),
                build_dev_weu(all_ids["dev"])]
    clusters = {c.name: c for c in builders}
    azure_wiring(all_ids, clusters)
    for c in builders:
        write_cluster(c)
    write_json(SNAP / "azure" / "identities.json", identities_doc())
    write_json(SNAP / "azure" / "federatedIdentityCredentials.json", fics_doc())
    write_json(SNAP / "azure" / "roleAssignments.json", role_assignments_doc())
    write_fleet(builders)
    problems = validate(builders)
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    n = sum(1 for _ in SNAP.rglob("*.json"))
    print(f"wrote fleet.yaml and {n} snapshot files under {SNAP.relative_to(HERE.parent)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
