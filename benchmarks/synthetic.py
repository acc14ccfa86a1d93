"""Synthetic fleets for the benchmarks: realistic cluster profiles, the ARM side, and plan-size catalogs.

A *profile* is one cluster's worth of Kubernetes objects, built deterministically from an index:
Deployments → ReplicaSets (the live one and two old revisions at 0 replicas) → Pods, StatefulSets,
DaemonSets on every node, CronJobs → Jobs → completed Pods, a few hundred ServiceAccounts, CRDs with
real-size schemas, webhooks, and AAD Pod Identity (AzureIdentity / AzureIdentityBinding on a fraction
of the workloads, NMI and MIC, an AzureAssignedIdentity per bound pod). Documents have the shape and
size of real ones: a pod carries labels, annotations, env, volumes, probes, managedFields and a full
status (about 6 KB as the API serves it).

Many clusters share a few profiles (``KubeServer`` serialises a profile's pages once and reuses them),
but every cluster has its own name, subscription, resource group, OIDC issuer and managed cluster.

``plan_catalog(triples)`` builds a catalog of N (cluster, namespace, serviceaccount) triples without
any server, through the product's own decoder and inventory builder (as ``tests/plan/fleets.py``).
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

import msgspec

from testkit.synth import TENANT, issuer_for, managed_cluster
from testkit.synth import identity as arm_identity

REGIONS = ("westeurope", "northeurope", "eastus", "eastus2", "westus3", "uksouth", "swedencentral", "centralus")
GROUPS = ("prod", "staging", "dev", "sandbox")
IDENTITY_SUB = "11111111-0000-0000-0000-000000000000"
TS = "2025-06-01T10:00:00Z"
AAD_GROUP = "aadpodidentity.k8s.io"
NMI_IMAGE = "mcr.microsoft.com/oss/azure/aad-pod-identity/nmi:v1.8.17"
MIC_IMAGE = "mcr.microsoft.com/oss/azure/aad-pod-identity/mic:v1.8.17"


def _copy(obj: Any) -> Any:
    return msgspec.json.decode(msgspec.json.encode(obj))


def _uid(*parts: object) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def _hash(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def subscription(index: int) -> str:
    return f"{index:08x}-aaaa-4000-8000-{index:012x}"


# ----------------------------------------------------------------------------- documents


def _managed_fields(manager: str, operation: str, paths: dict[str, Any], sub: str | None = None) -> dict[str, Any]:
    entry = {"manager": manager, "operation": operation, "apiVersion": "v1", "time": TS, "fieldsType": "FieldsV1",
             "fieldsV1": paths}
    if sub:
        entry["subresource"] = sub
    return entry


def _fields_of(obj: Any, depth: int = 0, limit: int = 4) -> Any:
    """A FieldsV1 set for ``obj`` (what the API server stores in managedFields): the shape of real ones."""
    if isinstance(obj, dict) and depth < limit:
        out: dict[str, Any] = {".": {}} if depth else {}
        for k, v in obj.items():
            out[f"f:{k}"] = _fields_of(v, depth + 1, limit)
        return out
    if isinstance(obj, list) and depth < limit:
        out = {".": {}}
        for item in obj:
            key = item.get("name") if isinstance(item, dict) else None
            out[f'k:{{"name":"{key}"}}' if key else f"v:{json.dumps(item)[:40]}"] = _fields_of(item, depth + 1, limit)
        return out
    return {}


def _env(rng: random.Random, app: str, n: int) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": "ASPNETCORE_ENVIRONMENT", "value": "Production"},
        {"name": "LOG_LEVEL", "value": rng.choice(["info", "warn", "debug"])},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://otel-collector.monitoring.svc.cluster.local:4317"},
        {"name": "OTEL_SERVICE_NAME", "value": app},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}},
        {"name": "FEATURE_FLAGS", "value": ",".join(rng.sample(["a", "b", "beta-ui", "new-cache", "v2-api"], 3))},
        {"name": "SERVICE_BUS_NAMESPACE", "value": f"sb-{app}-prod.servicebus.windows.net"},
        {"name": "KEYVAULT_URI", "value": f"https://kv-{app[:16]}.vault.azure.net/"},
        {"name": "STORAGE_ACCOUNT", "value": f"st{app.replace('-', '')[:18]}"},
        {"name": "HTTP_PORT", "value": "8080"},
        {"name": "JAVA_TOOL_OPTIONS", "value": "-XX:MaxRAMPercentage=75 -XX:+UseG1GC"},
        {"name": "REDIS_HOST", "value": f"{app}-redis.redis.cache.windows.net:6380"},
    ]
    return env[:n]


def _container(rng: random.Random, name: str, image: str, app: str, env_count: int, *, port: int = 8080,
               args: list[str] | None = None, probes: bool = True) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name, "image": image, "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"},
                  {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}],
        "env": _env(rng, app, env_count),
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                          "readOnly": True}],
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": 10001, "capabilities": {"drop": ["ALL"]}},
    }
    if args:
        c["args"] = args
    if probes:
        c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                              "initialDelaySeconds": 10, "timeoutSeconds": 1, "periodSeconds": 10,
                              "successThreshold": 1, "failureThreshold": 3}
        c["readinessProbe"] = {"httpGet": {"path": "/ready", "port": "http", "scheme": "HTTP"},
                               "timeoutSeconds": 1, "periodSeconds": 5, "successThreshold": 1, "failureThreshold": 3}
    return c


@dataclass
class _App:
    kind: str  # Deployment | StatefulSet | DaemonSet | CronJob
    namespace: str
    name: str
    sa: str
    replicas: int
    template: dict[str, Any]
    selector: str | None  # aadpodidbinding value
    identity: str | None  # AzureIdentity name


def _template(rng: random.Random, ns: str, app: str, sa: str, *, selector: str | None, wi: bool,
              image: str | None = None, args: list[str] | None = None, env: list[dict[str, Any]] | None = None,
              sidecar: bool | None = None, host_network: bool = False) -> dict[str, Any]:
    labels = {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns,
              "app.kubernetes.io/version": f"1.{rng.randrange(30)}.{rng.randrange(10)}"}
    if selector:
        labels["aadpodidbinding"] = selector
    if wi:
        labels["azure.workload.identity/use"] = "true"
    image = image or f"contoso.azurecr.io/{ns}/{app}:1.{rng.randrange(40)}.{rng.randrange(20)}"
    main = _container(rng, "app", image, app, rng.randrange(2, 10), args=args)
    if env is not None:
        main["env"] = env
    containers = [main]
    if sidecar if sidecar is not None else rng.random() < 0.15:
        containers.append(_container(rng, "istio-proxy", "mcr.microsoft.com/oss/istio/proxyv2:1.22.3", app, 4,
                                     port=15090, args=["proxy", "sidecar", "--domain", f"{ns}.svc.cluster.local"],
                                     probes=False))
    spec: dict[str, Any] = {
        "volumes": [{"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}},
                    {"name": "tmp", "emptyDir": {}}],
        "containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "serviceAccountName": sa, "serviceAccount": sa,
        "securityContext": {"fsGroup": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "schedulerName": "default-scheduler", "nodeSelector": {"kubernetes.io/os": "linux"},
    }
    if rng.random() < 0.4:
        spec["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": app}},
                                                "topologyKey": "topology.kubernetes.io/zone"}}]}}
    if host_network:
        spec["hostNetwork"] = True
    return {"metadata": {"labels": labels,
                         "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                                         "kubectl.kubernetes.io/restartedAt": "2025-05-30T08:12:44Z"}},
            "spec": spec}


def _meta(ns: str | None, name: str, kind: str, rv: int, *, labels: dict[str, str] | None = None,
          annotations: dict[str, str] | None = None, owner: tuple[str, str, str] | None = None,
          generation: int | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if ns is not None:
        m["namespace"] = ns
    m.update({"uid": _uid(kind, ns, name), "resourceVersion": str(rv), "creationTimestamp": TS})
    if generation is not None:
        m["generation"] = generation
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if owner:
        api = "batch/v1" if owner[0] in ("Job", "CronJob") else "apps/v1"
        m["ownerReferences"] = [{"apiVersion": api, "kind": owner[0], "name": owner[1], "uid": owner[2],
                                 "controller": True, "blockOwnerDeletion": True}]
    return m


def _pod(rng: random.Random, app: _App, name: str, owner: tuple[str, str, str], node: str, extra: dict[str, str],
         rv: int, *, phase: str = "Running") -> dict[str, Any]:
    tmpl = app.template
    labels = {**tmpl["metadata"]["labels"], **extra}
    meta = _meta(app.namespace, name, "Pod", rv, labels=labels, annotations=tmpl["metadata"]["annotations"],
                 owner=owner)
    meta["generateName"] = name.rsplit("-", 1)[0] + "-"
    spec = _copy(tmpl["spec"])
    token = f"kube-api-access-{_hash(rng, 5)}"
    spec["volumes"] = spec["volumes"] + [{"name": token, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                       "fieldPath": "metadata.namespace"}}]}}]}}]
    for c in spec["containers"]:
        for m in c.get("volumeMounts", ()):
            if m["name"] == "kube-api-access":
                m["name"] = token
    spec.update({"nodeName": node, "priority": 0, "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
                 "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
                                  "tolerationSeconds": 300},
                                 {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
                                  "tolerationSeconds": 300}]})
    if app.kind == "CronJob":
        spec["restartPolicy"] = "OnFailure"
    ip = f"10.{rng.randrange(240, 250)}.{rng.randrange(256)}.{rng.randrange(2, 250)}"
    host_ip = f"10.224.0.{rng.randrange(4, 250)}"
    done = phase == "Succeeded"
    statuses = [{"name": c["name"], "image": c["image"],
                 "imageID": f"{c['image'].split(':')[0]}@sha256:{hashlib.sha256(c['image'].encode()).hexdigest()}",
                 "containerID": f"containerd://{hashlib.sha256((name + c['name']).encode()).hexdigest()}",
                 "ready": not done, "started": not done, "restartCount": rng.choice([0, 0, 0, 1, 3]),
                 "state": ({"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": TS, "finishedAt": TS,
                                           "containerID": "containerd://x"}} if done
                           else {"running": {"startedAt": TS}}),
                 "lastState": {}} for c in spec["containers"]]
    status = {"phase": phase,
              "conditions": [{"type": t, "status": "False" if done and t in ("Ready", "ContainersReady") else "True",
                              "lastProbeTime": None, "lastTransitionTime": TS}
                             for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                       "PodScheduled")],
              "hostIP": host_ip, "hostIPs": [{"ip": host_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
              "startTime": TS, "containerStatuses": statuses, "qosClass": "Burstable"}
    meta["managedFields"] = [
        _managed_fields("kube-controller-manager", "Update", {"f:metadata": _fields_of(
            {k: meta[k] for k in ("generateName", "labels", "annotations", "ownerReferences")}),
            "f:spec": _fields_of({k: spec[k] for k in ("containers", "dnsPolicy", "volumes")}, 1, 3)}),
        _managed_fields("kubelet", "Update", {"f:status": _fields_of(
            {k: status[k] for k in ("conditions", "containerStatuses", "hostIP", "podIP", "startTime")}, 1)},
                        "status"),
    ]
    return {"metadata": meta, "spec": spec, "status": status}


def _crd(rng: random.Random, group: str, kind: str, plural: str, size_kb: int, versions: Iterable[str] = ("v1",),
         scope: str = "Namespaced") -> dict[str, Any]:
    """A CRD whose openAPIV3Schema weighs about ``size_kb`` KB (prometheus-operator's weigh hundreds)."""
    def props(n: int, depth: int) -> dict[str, Any]:
        out = {}
        for i in range(n):
            key = f"field{i}{_hash(rng, 3)}"
            if depth < 2 and i % 4 == 0:
                out[key] = {"type": "object", "description": "Nested settings of the resource. " * 2,
                            "properties": props(6, depth + 1)}
            else:
                out[key] = {"type": rng.choice(["string", "integer", "boolean"]),
                            "description": f"{key} configures the behaviour of the {kind}; see the upstream docs."}
        return out

    fields = max(4, size_kb * 1024 // 420)
    schema = {"openAPIV3Schema": {"type": "object", "description": f"{kind} is the Schema for the {plural} API",
                                  "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                                 "metadata": {"type": "object"},
                                                 "spec": {"type": "object", "properties": props(fields, 0)},
                                                 "status": {"type": "object",
                                                            "x-kubernetes-preserve-unknown-fields": True}}}}
    name = f"{plural}.{group}"
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": _meta(None, name, "CRD", 900, generation=1,
                              labels={"app.kubernetes.io/managed-by": "Helm"},
                              annotations={"controller-gen.kubebuilder.io/version": "v0.16.1"}),
            "spec": {"group": group, "names": {"plural": plural, "singular": plural.rstrip("s"), "kind": kind,
                                               "listKind": f"{kind}List"},
                     "scope": scope,
                     "versions": [{"name": v, "served": True, "storage": i == 0, "schema": schema,
                                   "subresources": {"status": {}}} for i, v in enumerate(versions)]},
            "status": {"acceptedNames": {"plural": plural, "kind": kind}, "storedVersions": [next(iter(versions))],
                       "conditions": [{"type": "Established", "status": "True", "lastTransitionTime": TS,
                                       "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}]}}


_CRDS = [  # (group, kind, plural, KB): what an AKS cluster with Flux, KEDA, Gatekeeper, CSI and monitoring carries
    (AAD_GROUP, "AzureIdentity", "azureidentities", 4), (AAD_GROUP, "AzureIdentityBinding", "azureidentitybindings", 4),
    (AAD_GROUP, "AzureAssignedIdentity", "azureassignedidentities", 6),
    (AAD_GROUP, "AzurePodIdentityException", "azurepodidentityexceptions", 3),
    ("secrets-store.csi.x-k8s.io", "SecretProviderClass", "secretproviderclasses", 8),
    ("secrets-store.csi.x-k8s.io", "SecretProviderClassPodStatus", "secretproviderclasspodstatuses", 5),
    ("keda.sh", "ScaledObject", "scaledobjects", 40), ("keda.sh", "ScaledJob", "scaledjobs", 120),
    ("keda.sh", "TriggerAuthentication", "triggerauthentications", 20),
    ("keda.sh", "ClusterTriggerAuthentication", "clustertriggerauthentications", 20),
    ("source.toolkit.fluxcd.io", "GitRepository", "gitrepositories", 25),
    ("source.toolkit.fluxcd.io", "HelmRepository", "helmrepositories", 15),
    ("source.toolkit.fluxcd.io", "HelmChart", "helmcharts", 15),
    ("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations", 40),
    ("helm.toolkit.fluxcd.io", "HelmRelease", "helmreleases", 70),
    ("notification.toolkit.fluxcd.io", "Alert", "alerts", 12),
    ("templates.gatekeeper.sh", "ConstraintTemplate", "constrainttemplates", 20),
    ("config.gatekeeper.sh", "Config", "configs", 8), ("status.gatekeeper.sh", "ConstraintPodStatus",
                                                       "constraintpodstatuses", 5),
    ("monitoring.coreos.com", "ServiceMonitor", "servicemonitors", 60),
    ("monitoring.coreos.com", "PodMonitor", "podmonitors", 55), ("monitoring.coreos.com", "PrometheusRule",
                                                                 "prometheusrules", 15),
    ("snapshot.storage.k8s.io", "VolumeSnapshot", "volumesnapshots", 10),
    ("snapshot.storage.k8s.io", "VolumeSnapshotClass", "volumesnapshotclasses", 6),
    ("cert-manager.io", "Certificate", "certificates", 45), ("cert-manager.io", "Issuer", "issuers", 150),
    ("policy.networking.k8s.io", "AdminNetworkPolicy", "adminnetworkpolicies", 25),
    ("metrics.k8s.io", "NodeMetrics", "nodemetrics", 3),
]


@dataclass
class Profile:
    """One cluster's worth of objects (by plural, API shape) and the Azure identities they name."""

    index: int
    objects: dict[str, list[dict[str, Any]]]
    identities: list[dict[str, Any]]  # ARM user-assigned identity bodies
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"mem:bench-profile-{self.index}"


def identity_rg(profile: int) -> str:
    return f"rg-identities-p{profile}"


def build_profile(index: int, pods: int = 2000, service_accounts: int = 300, nodes: int = 40,
                  bound_fraction: float = 0.15) -> Profile:
    """A realistic cluster: ``pods`` pods exactly, owned as on a real AKS cluster."""
    rng = random.Random(1000 + index)
    rv = iter(range(100000 + index * 10_000_000, 10**12))
    objs: dict[str, list[dict[str, Any]]] = {p: [] for p in (
        "namespaces", "serviceaccounts", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs",
        "cronjobs", "pods", "customresourcedefinitions", "azureidentities", "azureidentitybindings",
        "azureassignedidentities", "azurepodidentityexceptions", "mutatingwebhookconfigurations",
        "validatingadmissionpolicies", "validatingadmissionpolicybindings", "secretproviderclasses",
        "triggerauthentications", "clustertriggerauthentications")}
    node_names = [f"aks-{pool}-{30000000 + index:08d}-vmss{i:06x}"
                  for i in range(nodes) for pool in (("system",) if i < 3 else ("user",))]
    system_ns = ["default", "kube-system", "kube-public", "kube-node-lease", "gatekeeper-system", "flux-system",
                 "monitoring", "ingress-nginx", "cert-manager", "keda"]
    teams = max(4, min(40, pods // 60))
    team_ns = [f"team-{rng.choice(['pay', 'ord', 'cat', 'srch', 'usr', 'ntf', 'ana', 'ml'])}-{i:02d}"
               for i in range(teams)]
    for ns in system_ns + team_ns:
        objs["namespaces"].append({"metadata": _meta(None, ns, "Namespace", next(rv), labels={
            "kubernetes.io/metadata.name": ns, **({"team": ns.split("-")[1], "environment": GROUPS[index % 4]}
                                                  if ns.startswith("team-") else {})},
            annotations={"scheduler.alpha.kubernetes.io/node-selector": "kubernetes.io/os=linux"}
            if ns.startswith("team-") else None),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    apps: list[_App] = []
    identities: list[dict[str, Any]] = []
    identity_of_ns: dict[str, list[str]] = {}

    def bind(ns: str) -> tuple[str | None, str | None]:
        if not ns.startswith("team-") or rng.random() >= bound_fraction:
            return None, None
        names = identity_of_ns.setdefault(ns, [])
        if not names or (len(names) < 3 and rng.random() < 0.3):
            ident = f"id-p{index}-{ns}-{len(names)}"
            names.append(ident)
            identities.append(arm_identity(ident, IDENTITY_SUB, identity_rg(index), REGIONS[index % len(REGIONS)],
                                           client_id=_uid("client", ident), principal_id=_uid("principal", ident)))
        ident = rng.choice(names)
        return ident.removeprefix(f"id-p{index}-"), ident

    # DaemonSets: one pod per node
    daemons = [("kube-system", "kube-proxy", "mcr.microsoft.com/oss/kubernetes/kube-proxy:v1.30.7", True),
               ("kube-system", "azure-cns", "mcr.microsoft.com/containernetworking/azure-cns:v1.6.13", True),
               ("kube-system", "cloud-node-manager", "mcr.microsoft.com/oss/kubernetes/azure-cloud-node-manager:v1.30.7",
                False),
               ("kube-system", "csi-azuredisk-node", "mcr.microsoft.com/oss/kubernetes-csi/azuredisk-csi:v1.30.5", True),
               ("kube-system", "csi-azurefile-node", "mcr.microsoft.com/oss/kubernetes-csi/azurefile-csi:v1.30.6", True),
               ("kube-system", "ama-logs", "mcr.microsoft.com/azuremonitor/containerinsights/ciprod:3.1.24", False),
               ("kube-system", "nmi", NMI_IMAGE, True),
               ("monitoring", "node-exporter", "quay.io/prometheus/node-exporter:v1.8.2", True)]
    for ns, name, image, host in daemons:
        args = ["--node=$(NODE_NAME)", "--http-probe-port=8085", "--operation-mode=standard"] if name == "nmi" else None
        env = [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}},
               {"name": "FORCENAMESPACED", "value": "false"}] if name == "nmi" else None
        sa = name if name != "kube-proxy" else "kube-proxy"
        apps.append(_App("DaemonSet", ns, name, sa, len(node_names),
                         _template(rng, ns, name, sa, selector=None, wi=False, image=image, args=args, env=env,
                                   sidecar=False, host_network=host), None, None))
    system_deploys = [("kube-system", "coredns", 2), ("kube-system", "metrics-server", 2),
                      ("kube-system", "konnectivity-agent", 2), ("kube-system", "coredns-autoscaler", 1),
                      ("kube-system", "mic", 2), ("kube-system", "azure-wi-webhook-controller-manager", 2),
                      ("flux-system", "source-controller", 1), ("flux-system", "kustomize-controller", 1),
                      ("flux-system", "helm-controller", 1), ("flux-system", "notification-controller", 1),
                      ("ingress-nginx", "ingress-nginx-controller", 3), ("cert-manager", "cert-manager", 1),
                      ("cert-manager", "cert-manager-webhook", 1), ("keda", "keda-operator", 2),
                      ("gatekeeper-system", "gatekeeper-controller-manager", 3),
                      ("monitoring", "kube-state-metrics", 1), ("monitoring", "prometheus-operator", 1)]
    for ns, name, replicas in system_deploys:
        image = MIC_IMAGE if name == "mic" else f"mcr.microsoft.com/oss/{name}:v1.{rng.randrange(20)}.0"
        args = ["--cloudconfig=/etc/kubernetes/azure.json", "--logtostderr"] if name == "mic" else None
        labels_flux = name.endswith("-controller") and ns == "flux-system"
        t = _template(rng, ns, name, name, selector=None, wi=False, image=image, args=args, sidecar=False)
        if labels_flux:
            t["metadata"]["labels"]["app.kubernetes.io/name"] = "flux-extension" if name == "source-controller" else name
        apps.append(_App("Deployment", ns, name, name, replicas, t, None, None))
    apps.append(_App("StatefulSet", "monitoring", "prometheus", "prometheus", 2,
                     _template(rng, "monitoring", "prometheus", "prometheus", selector=None, wi=False), None, None))
    apps.append(_App("StatefulSet", "monitoring", "alertmanager", "alertmanager", 3,
                     _template(rng, "monitoring", "alertmanager", "alertmanager", selector=None, wi=False), None, None))

    fixed = sum(a.replicas for a in apps)
    budget = pods - fixed
    cron_count = max(2, pods // 80)
    sts_count = max(2, pods // 130)
    job_pods = cron_count * 3
    sts_pods = sts_count * 3
    deploy_pods = budget - job_pods - sts_pods
    if deploy_pods < 0:
        raise ValueError(f"{pods} pods is too few for a realistic profile (the node DaemonSets alone need {fixed})")
    team_apps: list[_App] = []
    for i in range(sts_count):
        ns = team_ns[i % len(team_ns)]
        name = f"{rng.choice(['redis', 'kafka', 'pg', 'mongo', 'es'])}-{i:02d}"
        sel, ident = bind(ns)
        team_apps.append(_App("StatefulSet", ns, name, f"{name}-sa", 3,
                              _template(rng, ns, name, f"{name}-sa", selector=sel, wi=False), sel, ident))
    for i in range(cron_count):
        ns = team_ns[(i * 7) % len(team_ns)]
        name = f"{rng.choice(['export', 'cleanup', 'report', 'sync', 'backup'])}-{i:02d}"
        sel, ident = bind(ns)
        team_apps.append(_App("CronJob", ns, name, f"{name}-sa" if i % 3 else "default", 3,
                              _template(rng, ns, name, f"{name}-sa" if i % 3 else "default", selector=sel, wi=False,
                                        sidecar=False), sel, ident))
    remaining, i = deploy_pods, 0
    while remaining > 0:
        replicas = min(remaining, rng.choice([1, 2, 2, 3, 3, 3, 4, 6, 8, 12]))
        ns = team_ns[rng.randrange(len(team_ns))]
        name = f"{rng.choice(['api', 'web', 'worker', 'gateway', 'svc', 'consumer', 'frontend'])}-{i:03d}"
        sel, ident = bind(ns)
        wi = sel is None and rng.random() < 0.05
        sa = f"{name}-sa" if rng.random() < 0.8 else "default"
        team_apps.append(_App("Deployment", ns, name, sa, replicas,
                              _template(rng, ns, name, sa, selector=sel, wi=wi), sel, ident))
        remaining -= replicas
        i += 1
    apps.extend(team_apps)

    # controllers and their pods
    node_i = 0

    def next_node() -> str:
        nonlocal node_i
        node_i += 1
        return node_names[node_i % len(node_names)]

    bound_pods: list[tuple[_App, str, str]] = []
    for app in apps:
        ns, name = app.namespace, app.name
        base_labels = {"app": name, "app.kubernetes.io/name": name}
        ctrl_meta = _meta(ns, name, app.kind, next(rv), labels=base_labels, generation=rng.randrange(1, 30),
                          annotations={"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": ns})
        selector = {"matchLabels": {"app": name}}
        owner = (app.kind, name, ctrl_meta["uid"])
        if app.kind == "Deployment":
            ctrl_meta["annotations"]["deployment.kubernetes.io/revision"] = "3"
            objs["deployments"].append({"metadata": ctrl_meta, "spec": {
                "replicas": app.replicas, "selector": selector, "template": app.template,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
                "status": {"observedGeneration": ctrl_meta["generation"], "replicas": app.replicas,
                           "updatedReplicas": app.replicas, "readyReplicas": app.replicas,
                           "availableReplicas": app.replicas,
                           "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": TS,
                                           "lastTransitionTime": TS, "reason": "MinimumReplicasAvailable",
                                           "message": "Deployment has minimum availability."}]}})
            live = None
            for rev in (1, 2, 3):
                h = _hash(rng, 10)
                rs_name = f"{name}-{h}"
                rs_meta = _meta(ns, rs_name, "ReplicaSet", next(rv), labels={**base_labels, "pod-template-hash": h},
                                owner=owner, generation=1,
                                annotations={"deployment.kubernetes.io/revision": str(rev),
                                             "deployment.kubernetes.io/desired-replicas": str(app.replicas),
                                             "deployment.kubernetes.io/max-replicas": str(app.replicas + 1)})
                replicas = app.replicas if rev == 3 else 0
                tmpl = _copy(app.template)
                tmpl["metadata"]["labels"]["pod-template-hash"] = h
                objs["replicasets"].append({"metadata": rs_meta, "spec": {
                    "replicas": replicas, "selector": {"matchLabels": {"app": name, "pod-template-hash": h}},
                    "template": tmpl}, "status": {"replicas": replicas, "fullyLabeledReplicas": replicas,
                                                  "readyReplicas": replicas, "availableReplicas": replicas,
                                                  "observedGeneration": 1}})
                live = (rs_name, h, rs_meta["uid"])
            assert live is not None
            for _ in range(app.replicas):
                pname = f"{live[0]}-{_hash(rng, 5)}"
                objs["pods"].append(_pod(rng, app, pname, ("ReplicaSet", live[0], live[2]), next_node(),
                                         {"pod-template-hash": live[1]}, next(rv)))
                if app.identity:
                    bound_pods.append((app, pname, objs["pods"][-1]["spec"]["nodeName"]))
        elif app.kind == "StatefulSet":
            objs["statefulsets"].append({"metadata": ctrl_meta, "spec": {
                "replicas": app.replicas, "selector": selector, "serviceName": name, "template": app.template,
                "podManagementPolicy": "OrderedReady", "updateStrategy": {"type": "RollingUpdate"},
                "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                    "accessModes": ["ReadWriteOnce"], "storageClassName": "managed-csi-premium",
                    "resources": {"requests": {"storage": "64Gi"}}}}]},
                "status": {"observedGeneration": ctrl_meta["generation"], "replicas": app.replicas,
                           "readyReplicas": app.replicas, "currentReplicas": app.replicas,
                           "updatedReplicas": app.replicas, "currentRevision": f"{name}-6c9d7f8b9",
                           "updateRevision": f"{name}-6c9d7f8b9", "availableReplicas": app.replicas}})
            for k in range(app.replicas):
                pname = f"{name}-{k}"
                objs["pods"].append(_pod(rng, app, pname, owner, next_node(), {
                    "controller-revision-hash": f"{name}-6c9d7f8b9",
                    "statefulset.kubernetes.io/pod-name": pname}, next(rv)))
                if app.identity:
                    bound_pods.append((app, pname, objs["pods"][-1]["spec"]["nodeName"]))
        elif app.kind == "DaemonSet":
            objs["daemonsets"].append({"metadata": ctrl_meta, "spec": {
                "selector": selector, "template": app.template,
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}},
                "revisionHistoryLimit": 10},
                "status": {"currentNumberScheduled": len(node_names), "numberMisscheduled": 0,
                           "desiredNumberScheduled": len(node_names), "numberReady": len(node_names),
                           "observedGeneration": ctrl_meta["generation"], "updatedNumberScheduled": len(node_names),
                           "numberAvailable": len(node_names)}})
            h = _hash(rng, 9)
            for node in node_names:
                objs["pods"].append(_pod(rng, app, f"{name}-{_hash(rng, 5)}", owner, node, {
                    "controller-revision-hash": h, "pod-template-generation": "1"}, next(rv)))
        else:  # CronJob -> 3 Jobs -> 1 pod each
            objs["cronjobs"].append({"metadata": ctrl_meta, "spec": {
                "schedule": f"{rng.randrange(60)} {rng.randrange(24)} * * *", "concurrencyPolicy": "Forbid",
                "suspend": False, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
                "jobTemplate": {"metadata": {"creationTimestamp": None},
                                "spec": {"backoffLimit": 2, "template": app.template}}},
                "status": {"lastScheduleTime": TS, "lastSuccessfulTime": TS}})
            for k in range(3):
                jname = f"{name}-2906{k:04d}"
                jmeta = _meta(ns, jname, "Job", next(rv), labels={**base_labels, "batch.kubernetes.io/job-name": jname},
                              owner=("CronJob", name, ctrl_meta["uid"]), generation=1)
                juid = jmeta["uid"]
                objs["jobs"].append({"metadata": jmeta, "spec": {
                    "parallelism": 1, "completions": 1, "backoffLimit": 2, "completionMode": "NonIndexed",
                    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": juid}},
                    "template": app.template},
                    "status": {"succeeded": 1, "startTime": TS, "completionTime": TS, "ready": 0,
                               "conditions": [{"type": "Complete", "status": "True", "lastProbeTime": TS,
                                               "lastTransitionTime": TS}]}})
                objs["pods"].append(_pod(rng, app, f"{jname}-{_hash(rng, 5)}", ("Job", jname, juid), next_node(), {
                    "batch.kubernetes.io/controller-uid": juid, "batch.kubernetes.io/job-name": jname}, next(rv),
                    phase="Succeeded"))
    assert len(objs["pods"]) == pods, (len(objs["pods"]), pods)

    # service accounts: every namespace's default, one per app, and unused ones up to the wanted count
    sas = {(ns, "default") for ns in system_ns + team_ns} | {(a.namespace, a.sa) for a in apps}
    extra = 0
    while len(sas) < service_accounts:
        sas.add((team_ns[extra % len(team_ns)], f"svc-{extra:03d}-sa"))
        extra += 1
    for ns, sa in sorted(sas):
        ann = {"meta.helm.sh/release-name": sa, "meta.helm.sh/release-namespace": ns}
        wi_app = next((a for a in apps if a.namespace == ns and a.sa == sa
                       and "azure.workload.identity/use" in a.template["metadata"]["labels"]), None)
        if wi_app is not None:
            ann["azure.workload.identity/client-id"] = _uid("wi-client", ns, sa)
        objs["serviceaccounts"].append({"metadata": _meta(ns, sa, "ServiceAccount", next(rv),
                                                          labels={"app.kubernetes.io/managed-by": "Helm"}
                                                          if sa != "default" else None, annotations=ann
                                                          if sa != "default" else None)})

    # AAD Pod Identity objects
    for ns, names in sorted(identity_of_ns.items()):
        for ident in names:
            short = ident.removeprefix(f"id-p{index}-")
            rid = (f"/subscriptions/{IDENTITY_SUB}/resourcegroups/{identity_rg(index)}/providers/"
                   f"Microsoft.ManagedIdentity/userAssignedIdentities/{ident}")
            objs["azureidentities"].append({"apiVersion": f"{AAD_GROUP}/v1", "kind": "AzureIdentity",
                                            "metadata": _meta(ns, short, "AzureIdentity", next(rv), annotations={
                                                "meta.helm.sh/release-name": ns}),
                                            "spec": {"type": 0, "resourceID": rid,
                                                     "clientID": _uid("client", ident)},
                                            "status": {"availableReplicas": 1}})
            objs["azureidentitybindings"].append({"apiVersion": f"{AAD_GROUP}/v1", "kind": "AzureIdentityBinding",
                                                  "metadata": _meta(ns, f"{short}-binding", "AIB", next(rv)),
                                                  "spec": {"azureIdentity": short, "selector": short},
                                                  "status": {"availableReplicas": 1}})
    by_name = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objs["azureidentities"]}
    bind_by = {(o["metadata"]["namespace"], o["spec"]["azureIdentity"]): o for o in objs["azureidentitybindings"]}
    for app, pname, node in bound_pods:
        short = app.selector or ""
        ai = by_name[(app.namespace, short)]
        aib = bind_by[(app.namespace, short)]
        objs["azureassignedidentities"].append({
            "apiVersion": f"{AAD_GROUP}/v1", "kind": "AzureAssignedIdentity",
            "metadata": _meta(app.namespace, f"{pname}-{app.namespace}-{short}", "AAI", next(rv), labels={
                "nodename": node}),
            "spec": {"azureIdentityRef": {"metadata": ai["metadata"], "spec": ai["spec"]},
                     "azureBindingRef": {"metadata": aib["metadata"], "spec": aib["spec"]},
                     "pod": pname, "podNamespace": app.namespace, "nodename": node, "replicas": 1},
            "status": {"status": "Assigned", "availableReplicas": 1}})
    objs["azurepodidentityexceptions"].append({
        "apiVersion": f"{AAD_GROUP}/v1", "kind": "AzurePodIdentityException",
        "metadata": _meta("flux-system", "flux-extension-exception", "APIE", next(rv)),
        "spec": {"podLabels": {"app.kubernetes.io/name": "flux-extension"}}})

    for group, kind, plural, kb in _CRDS:
        scope = "Cluster" if plural.startswith("cluster") or kind in ("ConstraintTemplate", "NodeMetrics",
                                                                      "AdminNetworkPolicy") else "Namespaced"
        versions = ("v1alpha1",) if group == "keda.sh" else ("v1", "v1beta1") if kb > 30 else ("v1",)
        objs["customresourcedefinitions"].append(_crd(rng, group, kind, plural, kb, versions, scope))
    objs["mutatingwebhookconfigurations"] = [
        {"metadata": _meta(None, name, "MWC", next(rv), generation=1),
         "webhooks": [{"name": f"{name}.example.io", "failurePolicy": policy, "sideEffects": "None",
                       "admissionReviewVersions": ["v1"], "timeoutSeconds": 10,
                       "objectSelector": {"matchLabels": selector} if selector else {},
                       "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                                  "resources": ["pods"], "scope": "*"}],
                       "clientConfig": {"service": {"name": f"{name}-svc", "namespace": ns, "path": "/mutate",
                                                    "port": 443}, "caBundle": "LS0t" + "Q" * 1400}}]}
        for name, ns, policy, selector in (
            ("azure-wi-webhook-mutating-webhook-configuration", "kube-system", "Fail",
             {"azure.workload.identity/use": "true"}),
            ("aks-webhook-admission-controller", "kube-system", "Ignore", None),
            ("gatekeeper-mutating-webhook-configuration", "gatekeeper-system", "Ignore", None),
            ("cert-manager-webhook", "cert-manager", "Fail", None))]
    for i in range(max(4, pods // 100)):
        ns = team_ns[i % len(team_ns)]
        objs["secretproviderclasses"].append({
            "apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
            "metadata": _meta(ns, f"kv-{i:02d}", "SPC", next(rv)),
            "spec": {"provider": "azure", "parameters": {
                "usePodIdentity": "true" if i % 3 == 0 else "false", "keyvaultName": f"kv-{ns}-{i}",
                "tenantId": TENANT, "objects": "array:\n  - |\n    objectName: db-password\n    objectType: secret\n"}}})
    for i in range(3):
        ns = team_ns[i % len(team_ns)]
        objs["triggerauthentications"].append({
            "apiVersion": "keda.sh/v1alpha1", "kind": "TriggerAuthentication",
            "metadata": _meta(ns, f"sb-auth-{i}", "TA", next(rv)),
            "spec": {"podIdentity": {"provider": "azure" if i == 0 else "azure-workload"}}})
    profile = Profile(index, objs, identities)
    profile.stats = {p: len(v) for p, v in objs.items()}
    return profile


# ----------------------------------------------------------------------------- the fleet (ARM side)


@dataclass(frozen=True)
class ClusterEntry:
    name: str
    region: str
    subscription: str
    resource_group: str
    group: str
    profile: int

    @property
    def issuer(self) -> str:
        return issuer_for(self.name, self.region)


def fleet_layout(clusters: int, profiles: int = 4, clusters_per_subscription: int = 25, *, prefix: str = "aks",
                 first_subscription: int = 0) -> list[ClusterEntry]:
    """Clusters round-robin over profiles and regions, ``clusters_per_subscription`` per subscription."""
    out = []
    for i in range(clusters):
        region = REGIONS[i % len(REGIONS)]
        p = i % profiles
        out.append(ClusterEntry(name=f"{prefix}-{GROUPS[p % 4]}-{region[:6]}-{i:04d}", region=region,
                                subscription=subscription(first_subscription + i // clusters_per_subscription),
                                resource_group=f"rg-{prefix}-{i:04d}", group=GROUPS[p % 4], profile=p))
    return out


def managed_cluster_body(c: ClusterEntry) -> dict[str, Any]:
    return managed_cluster(c.name, c.subscription, c.resource_group, c.region, issuer=c.issuer, pod_identity=False)


def scale_sets(c: ClusterEntry, nodes: int = 40) -> list[dict[str, Any]]:
    node_rg = f"MC_{c.resource_group}_{c.name}_{c.region}"
    kubelet = (f"/subscriptions/{c.subscription}/resourcegroups/{node_rg}/providers/Microsoft.ManagedIdentity/"
               f"userAssignedIdentities/{c.name}-agentpool")
    return [{"id": f"/subscriptions/{c.subscription}/resourceGroups/{node_rg}/providers/Microsoft.Compute/"
                   f"virtualMachineScaleSets/aks-{pool}-{30000000 + c.profile:08d}-vmss",
             "name": f"aks-{pool}-{30000000 + c.profile:08d}-vmss", "type": "Microsoft.Compute/virtualMachineScaleSets",
             "location": c.region, "sku": {"name": "Standard_D8s_v5", "tier": "Standard", "capacity": count},
             "identity": {"type": "UserAssigned", "userAssignedIdentities": {
                 kubelet: {"principalId": _uid("kubelet-oid", c.name), "clientId": _uid("kubelet", c.name)}}},
             "properties": {"provisioningState": "Succeeded", "orchestrationMode": "Uniform"}}
            for pool, count in (("system", 3), ("user", nodes - 3))]


def fleet_yaml(entries: list[ClusterEntry]) -> str:
    import yaml

    doc = {"tenantId": TENANT,
           "clusters": [{"name": c.name, "region": c.region, "subscriptionId": c.subscription,
                         "resourceGroup": c.resource_group, "group": c.group} for c in entries],
           "azure": {"live": True}}
    return "# generated by benchmarks/synthetic.py\n" + yaml.safe_dump(doc, sort_keys=False)


def existing_fics(profile: Profile, entries: list[ClusterEntry]) -> list[tuple[str, str, str, str]]:
    """(identity id, name, issuer, subject): a few credentials already federated (a migration under way)."""
    first = next((c for c in entries if c.profile == profile.index), None)
    if first is None:
        return []
    out = []
    for ident in profile.identities[:3]:
        ns = ident["name"].removeprefix(f"id-p{profile.index}-").rsplit("-", 1)[0]
        out.append((ident["id"], f"{first.name}-{ns}", first.issuer, f"system:serviceaccount:{ns}:migrated-sa"))
    return out


# ----------------------------------------------------------------------------- plan-size catalogs


def plan_catalog(triples: int, per_cluster: int = 100, clusters_per_group: int = 10) -> Any:
    """A catalog of ``triples`` (cluster, namespace, serviceaccount) uses, built as domain objects.

    ``per_cluster`` triples per cluster (25 namespaces × 4 service accounts), each bound through an
    AzureIdentityBinding to one of 50 identities per group of ``clusters_per_group`` clusters, so every
    identity ends at 20 federated credentials, Azure's limit (under ``reuse``).
    """
    from pathlib import Path

    from migrator.decode.arm_documents import decode_managed_cluster
    from migrator.decode.documents import ClusterDocuments
    from migrator.decode.kube_pages import decode_page
    from migrator.fleet import ClusterSpec
    from migrator.inventory.build import build_cluster
    from migrator.inventory.catalog import catalog
    from migrator.inventory.model import (
        AzureInventory,
        FleetInventory,
        ManagedIdentity,
        RoleAssignment,
    )
    from migrator.kinds import KINDS

    if triples % per_cluster:
        raise ValueError("triples must be a multiple of per_cluster")
    n_clusters = triples // per_cluster
    namespaces = 25
    sas_per_ns = per_cluster // namespaces
    ids_per_group = per_cluster // 2
    sub = IDENTITY_SUB

    def rid(name: str) -> str:
        return f"/subscriptions/{sub}/resourceGroups/rg-ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"

    def page(plural: str, items: list[dict[str, Any]]) -> tuple[Any, ...]:
        info = KINDS[plural]
        body = json.dumps({"apiVersion": info.api_version, "kind": info.list_kind, "metadata": {"resourceVersion": "1"},
                           "items": items}).encode()
        return decode_page(plural, body, origin=plural).items

    clusters = []
    identity_names: set[str] = set()
    for ci in range(n_clusters):
        name = f"aks-{ci:05d}"
        group = f"g{ci // clusters_per_group:04d}"
        kinds: dict[str, list[dict[str, Any]]] = {p: [] for p in KINDS}
        for n in range(namespaces):
            ns = f"app-{n:02d}"
            kinds["namespaces"].append({"metadata": {"name": ns}})
            kinds["serviceaccounts"].append({"metadata": {"name": "default", "namespace": ns}})
            for k in range(sas_per_ns):
                j = n * sas_per_ns + k
                ident = f"id-{group}-{j // 2:02d}"
                identity_names.add(ident)
                sa = f"sa-{k}"
                sel = f"sel-{j}"
                kinds["serviceaccounts"].append({"metadata": {"name": sa, "namespace": ns}})
                kinds["azureidentities"].append({"apiVersion": f"{AAD_GROUP}/v1", "kind": "AzureIdentity",
                                                 "metadata": {"name": f"ai-{j}", "namespace": ns},
                                                 "spec": {"type": 0, "resourceID": rid(ident),
                                                          "clientID": _uid("client", ident)}})
                kinds["azureidentitybindings"].append({"apiVersion": f"{AAD_GROUP}/v1", "kind": "AzureIdentityBinding",
                                                       "metadata": {"name": f"aib-{j}", "namespace": ns},
                                                       "spec": {"azureIdentity": f"ai-{j}", "selector": sel}})
                kinds["deployments"].append({"metadata": {"name": f"app-{j}", "namespace": ns},
                                             "spec": {"replicas": 2, "template": {
                                                 "metadata": {"labels": {"app": f"app-{j}", "aadpodidbinding": sel}},
                                                 "spec": {"serviceAccountName": sa, "containers": [
                                                     {"name": "app", "image": "contoso.azurecr.io/app:1"}]}}},
                                             "status": {"replicas": 2, "readyReplicas": 2}})
        kinds["daemonsets"].append({"metadata": {"name": "nmi", "namespace": "kube-system"}, "spec": {"template": {
            "metadata": {"labels": {"app": "nmi"}}, "spec": {"hostNetwork": True, "containers": [
                {"name": "nmi", "image": NMI_IMAGE, "args": ["--operation-mode=standard"]}]}}},
            "status": {"desiredNumberScheduled": 3, "numberReady": 3}})
        kube = {p: page(p, items) for p, items in kinds.items()}
        mc = {"id": f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}",
              "name": name, "location": "westeurope",
              "properties": {"kubernetesVersion": "1.30.0", "nodeResourceGroup": f"MC_rg_{name}",
                             "oidcIssuerProfile": {"enabled": True, "issuerURL": issuer_for(name, "westeurope")},
                             "securityProfile": {"workloadIdentity": {"enabled": True}}}}
        spec = ClusterSpec(name=name, region="westeurope", subscription_id=sub, resource_group="rg", group=group,
                           snapshot=Path("x"))
        clusters.append(build_cluster(spec, ClusterDocuments(kube, decode_managed_cluster(json.dumps(mc).encode(),
                                                                                          "mc"), ())))
    names = sorted(identity_names)
    azure = AzureInventory(
        identities=tuple(ManagedIdentity(rid(n), n, sub, "rg-ids", "westeurope", _uid("client", n),
                                         _uid("principal", n), TENANT) for n in names),
        credentials=(),
        role_assignments=tuple(RoleAssignment(_uid("principal", n), "/providers/Microsoft.Authorization/roleDefinitions/r",
                                              f"/subscriptions/{sub}/resourceGroups/data-{n}", f"ra-{n}") for n in names),
    )
    return catalog(FleetInventory(TENANT, tuple(clusters), (), azure))
