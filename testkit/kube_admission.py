"""Admission the local API server applies: the ServiceAccount plugin, the Azure Workload Identity
mutating webhook (see ``shared/reference/workload-identity-webhook.md``) and the AKS Automatic
ValidatingAdmissionPolicy that protects system namespaces (``flux-and-aks-automatic.md``).
"""

from __future__ import annotations

import copy
import hashlib
import random
from dataclasses import dataclass, field
from typing import Any, Callable

from .kube_errors import KubeError

__all__ = ["WebhookConfig", "NamespaceProtection", "wi_mutate_pod", "serviceaccount_admission", "WI_USE_LABEL",
           "DEFAULT_EXEMPT_GROUPS", "AKS_PROTECT_POLICY"]

WI_USE_LABEL = "azure.workload.identity/use"
CLIENT_ID_ANN = "azure.workload.identity/client-id"
TENANT_ID_ANN = "azure.workload.identity/tenant-id"
EXPIRY_ANN = "azure.workload.identity/service-account-token-expiration"
SKIP_ANN = "azure.workload.identity/skip-containers"
PROXY_ANN = "azure.workload.identity/inject-proxy-sidecar"
PROXY_PORT_ANN = "azure.workload.identity/proxy-sidecar-port"
WEBHOOK_NAME = "mutation.azure-workload-identity.io"
AKS_PROTECT_POLICY = "aks-managed-protect-system-namespaces"
DEFAULT_EXEMPT_GROUPS = frozenset({
    "system:serviceaccounts:kube-system", "system:serviceaccounts:gatekeeper-system",
    "system:serviceaccounts:app-routing-system", "system:serviceaccounts:aks-istio-system",
    "system:masters-aks-internal",
})


@dataclass
class WebhookConfig:
    """The workload-identity webhook of one cluster.

    ``enabled=False``: not installed (the label does nothing).  ``failing=True``: installed with
    ``failurePolicy: Fail`` but unreachable, so creating a labelled pod is rejected.
    ``version``: ``"1.6"`` (reserved hashed volume name, ``/var/run/secrets/azure/wi``) or ``"1.5"``
    (``azure-identity-token`` at ``/var/run/secrets/azure/tokens``).
    """

    enabled: bool = True
    failing: bool = False
    version: str = "1.6"
    tenant_id: str | None = None
    authority_host: str = "https://login.microsoftonline.com/"
    audience: str = "api://AzureADTokenExchange"
    proxy_registry: str = "mcr.microsoft.com/oss/azure/workload-identity"
    proxy_version: str = "v1.6.0"
    native_sidecar: bool = True       # API server >= 1.32


def _volume_layout(cfg: WebhookConfig, pod_name: str) -> tuple[str, str, str, str]:
    """(volume name, mount path, projection path, AZURE_FEDERATED_TOKEN_FILE)."""
    if cfg.version.startswith("1.6"):
        prefix = "azure-workload-identity-reserved-"
        name = prefix + hashlib.sha256(pod_name.encode()).hexdigest()[: 63 - len(prefix)]
        return name, "/var/run/secrets/azure/wi", "token/azure-identity-token", \
            "/var/run/secrets/azure/wi/token/azure-identity-token"
    return "azure-identity-token", "/var/run/secrets/azure/tokens", "azure-identity-token", \
        "/var/run/secrets/azure/tokens/azure-identity-token"


def _denied(msg: str, code: int = 400) -> KubeError:
    return KubeError(code, "BadRequest" if code == 400 else "InternalError",
                     f'admission webhook "{WEBHOOK_NAME}" denied the request: {msg}')


def wi_mutate_pod(pod: dict[str, Any], namespace: str, get_sa: Callable[[str, str], dict[str, Any] | None],
                  cfg: WebhookConfig, cluster_tenant: str | None) -> dict[str, Any]:
    """Return the pod as the webhook would leave it (a new dict), or raise KubeError."""
    meta = pod.get("metadata") or {}
    if (meta.get("labels") or {}).get(WI_USE_LABEL) != "true" or not cfg.enabled:
        return pod
    if cfg.failing:
        raise KubeError(500, "InternalError",
                        f'Internal error occurred: failed calling webhook "{WEBHOOK_NAME}": failed to call webhook: '
                        'Post "https://azure-wi-webhook-webhook-service.kube-system.svc:443/mutate-v1-pod'
                        '?timeout=10s": '
                        "dial tcp 10.0.112.7:443: connect: connection refused")
    pod = copy.deepcopy(pod)
    meta = pod.setdefault("metadata", {})
    spec = pod.setdefault("spec", {})
    ann = meta.get("annotations") or {}
    pod_name = meta.get("name") or f"{meta.get('generateName', '')} (prefix)"
    sa_name = spec.get("serviceAccountName") or "default"
    sa = get_sa(namespace, sa_name)
    if sa is None:
        raise _denied(f'ServiceAccount "{sa_name}" not found')
    sa_ann = (sa.get("metadata") or {}).get("annotations") or {}

    if PROXY_ANN in ann:
        if spec.get("hostNetwork"):
            raise _denied("hostNetwork is set to true, cannot inject proxy sidecar")
        try:
            port = int(ann.get(PROXY_PORT_ANN, "8000"))
        except ValueError:
            raise _denied(f'failed to parse proxy sidecar port: strconv.ParseInt: parsing "{ann[PROXY_PORT_ANN]}": '
                          "invalid syntax") from None
        inits = spec.setdefault("initContainers", [])
        if not any(c.get("name") == "azwi-proxy-init" for c in inits):
            inits.append({"name": "azwi-proxy-init", "image": f"{cfg.proxy_registry}/proxy-init:{cfg.proxy_version}",
                          "imagePullPolicy": "IfNotPresent",
                          "securityContext": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                                              "privileged": True, "runAsNonRoot": False, "runAsUser": 0},
                          "env": [{"name": "PROXY_PORT", "value": str(port)}]})
        sidecar = {"name": "azwi-proxy", "image": f"{cfg.proxy_registry}/proxy:{cfg.proxy_version}",
                   "imagePullPolicy": "IfNotPresent", "args": [f"--proxy-port={port}", "--log-level=info"],
                   "ports": [{"containerPort": port}]}
        if cfg.native_sidecar:
            if not any(c.get("name") == "azwi-proxy" for c in inits):
                inits.insert(0, {**sidecar, "restartPolicy": "Always"})
        else:
            cs = spec.setdefault("containers", [])
            if not any(c.get("name") == "azwi-proxy" for c in cs):
                cs.insert(0, sidecar)

    raw_exp = ann.get(EXPIRY_ANN) or sa_ann.get(EXPIRY_ANN) or "3600"
    try:
        expiration = int(raw_exp)
    except ValueError:
        raise _denied(f'strconv.ParseInt: parsing "{raw_exp}": invalid syntax') from None
    if not 3600 <= expiration <= 86400:
        raise _denied(f"token expiration {expiration} not valid. Expected value to be between 3600 and 86400")
    client_id = sa_ann.get(CLIENT_ID_ANN, "")
    tenant_id = sa_ann[TENANT_ID_ANN] if TENANT_ID_ANN in sa_ann else (cfg.tenant_id or cluster_tenant or "")
    skip = {s.strip() for s in (ann.get(SKIP_ANN) or "").split(";")} if ann.get(SKIP_ANN) else set()
    vol_name, mount_path, proj_path, token_file = _volume_layout(cfg, pod_name)
    desired = [("AZURE_CLIENT_ID", client_id), ("AZURE_TENANT_ID", tenant_id),
               ("AZURE_FEDERATED_TOKEN_FILE", token_file), ("AZURE_AUTHORITY_HOST", cfg.authority_host)]
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            if c.get("name") in skip:
                continue
            env = c.setdefault("env", [])
            present = {e.get("name") for e in env}
            for n, v in desired:
                if n not in present and v:
                    env.append({"name": n, "value": v})
            mounts = c.setdefault("volumeMounts", [])
            vm = {"name": vol_name, "mountPath": mount_path, "readOnly": True}
            for i, m in enumerate(mounts):
                if m.get("name") == vol_name:
                    mounts[i] = vm
                    break
            else:
                mounts.append(vm)
    volume = {"name": vol_name, "projected": {"sources": [{"serviceAccountToken": {
        "path": proj_path, "expirationSeconds": expiration, "audience": cfg.audience}}]}}
    vols = spec.setdefault("volumes", [])
    for i, v in enumerate(vols):
        if v.get("name") == vol_name:
            vols[i] = volume
            break
    else:
        vols.append(volume)
    return pod


def _suffix(n: int = 5) -> str:
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))


def serviceaccount_admission(pod: dict[str, Any], namespace: str, qualified_name: str,
                             get_sa: Callable[[str, str], dict[str, Any] | None]) -> dict[str, Any]:
    """The built-in ServiceAccount admission plugin: default the SA, require it to exist, mount the
    API token volume (``kube-api-access-xxxxx``) unless automount is off."""
    pod = copy.deepcopy(pod)
    spec = pod.setdefault("spec", {})
    sa_name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = sa_name
    spec["serviceAccount"] = sa_name
    sa = get_sa(namespace, sa_name)
    if sa is None:
        raise KubeError(403, "Forbidden", f'{qualified_name} is forbidden: error looking up service account '
                                          f'{namespace}/{sa_name}: serviceaccount "{sa_name}" not found')
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = sa.get("automountServiceAccountToken", True)
    vols = spec.setdefault("volumes", [])
    if automount and not any(str(v.get("name", "")).startswith("kube-api-access-") for v in vols):
        name = f"kube-api-access-{_suffix()}"
        vols.append({"name": name, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                          "fieldPath": "metadata.namespace"}}]}}]}})
        for key in ("initContainers", "containers"):
            for c in spec.get(key) or []:
                c.setdefault("volumeMounts", []).append(
                    {"name": name, "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
    return pod


@dataclass
class NamespaceProtection:
    """AKS Automatic's ``aks-managed-protect-system-namespaces`` policy: users outside the exempt
    service-account groups may not create/update/patch/delete anything in these namespaces."""

    namespaces: set[str]
    exempt_groups: frozenset[str] = DEFAULT_EXEMPT_GROUPS
    policy: str = AKS_PROTECT_POLICY
    binding: str = AKS_PROTECT_POLICY + "-binding"
    message: str = "Modification of resources in managed system namespaces is not allowed"
    code: int = 403

    def check(self, groups: list[str], qualified: str, namespace: str | None, name: str | None) -> None:
        if not namespace or namespace not in self.namespaces:
            return
        if set(groups) & set(self.exempt_groups):
            return
        raise KubeError(self.code, "Forbidden" if self.code == 403 else "Invalid",
                        f'{qualified} "{name or ""}" is forbidden: ValidatingAdmissionPolicy \'{self.policy}\' with '
                        f"binding '{self.binding}' denied request: {self.message}")

    def objects(self) -> list[dict[str, Any]]:
        """The VAP and binding as they would appear on an AKS Automatic cluster (shape only)."""
        ns = sorted(self.namespaces)
        exempt = " || ".join(f"'{g}' in request.userInfo.groups" for g in sorted(self.exempt_groups))
        return [
            {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
             "metadata": {"name": self.policy, "labels": {"kubernetes.azure.com/managedby": "aks"}},
             "spec": {"failurePolicy": "Fail",
                      "matchConstraints": {
                          "namespaceSelector": {"matchExpressions": [
                              {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ns}]},
                          "resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"],
                                             "operations": ["CREATE", "UPDATE", "DELETE"]}]},
                      "matchConditions": [{"name": "exclude-exempt", "expression": f"!({exempt})"}],
                      "validations": [{"expression": "false", "message": self.message}]}},
            {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
             "metadata": {"name": self.binding, "labels": {"kubernetes.azure.com/managedby": "aks"}},
             "spec": {"policyName": self.policy, "validationActions": ["Deny"]}},
        ]


@dataclass
class UserInfo:
    name: str
    groups: list[str] = field(default_factory=lambda: ["system:authenticated"])


ADMIN = UserInfo("masterclient", ["system:masters", "system:authenticated"])


def sa_user(namespace: str, name: str) -> UserInfo:
    return UserInfo(f"system:serviceaccount:{namespace}:{name}",
                    ["system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"])


CONTROLLER = sa_user("kube-system", "replicaset-controller")
