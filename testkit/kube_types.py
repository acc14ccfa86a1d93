"""The resource types the local Kubernetes server knows, and the discovery documents built from them.

Built-in types are always served.  Custom resources are served when the cluster has a matching
CustomResourceDefinition (loaded from the snapshot, synthesised when a snapshot carries objects of
a known custom kind without the CRD list, or POSTed by a test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ResourceType", "BUILTIN_TYPES", "KNOWN_CRD_TYPES", "by_plural", "crd_object", "types_from_crd",
           "api_resource_list", "api_group", "CRUD"]

CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    builtin: bool = True
    verbs: tuple[str, ...] = CRUD
    list_kind_override: str | None = None
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.list_kind_override or f"{self.kind}List"

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: one table per (group, plural), shared by all served versions."""
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """``deployments.apps`` / ``pods`` — how API errors name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def base_path(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"

    def discovery(self) -> list[dict[str, Any]]:
        entry: dict[str, Any] = {
            "name": self.plural, "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced, "kind": self.kind, "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        out = [entry]
        for sub in self.subresources:
            if sub == "token":
                out.append({"name": f"{self.plural}/token", "singularName": "", "namespaced": self.namespaced,
                            "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
                            "verbs": ["create"]})
            elif sub == "scale":
                out.append({"name": f"{self.plural}/scale", "singularName": "", "namespaced": self.namespaced,
                            "group": "autoscaling", "version": "v1", "kind": "Scale",
                            "verbs": ["get", "patch", "update"]})
            else:
                out.append({"name": f"{self.plural}/{sub}", "singularName": "", "namespaced": self.namespaced,
                            "kind": self.kind, "verbs": ["get", "patch", "update"]})
        return out


def _t(group: str, version: str, plural: str, kind: str, namespaced: bool = True, short: tuple[str, ...] = (),
       sub: tuple[str, ...] = (), verbs: tuple[str, ...] = CRUD, cats: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, kind.lower(), short, sub, True, verbs,
                        None, cats)


BUILTIN_TYPES: list[ResourceType] = [
    _t("", "v1", "pods", "Pod", short=("po",), sub=("status", "log"), cats=("all",)),
    _t("", "v1", "serviceaccounts", "ServiceAccount", short=("sa",), sub=("token",)),
    _t("", "v1", "namespaces", "Namespace", False, short=("ns",), sub=("status", "finalize"),
       verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    _t("", "v1", "configmaps", "ConfigMap", short=("cm",)),
    _t("", "v1", "secrets", "Secret"),
    _t("", "v1", "services", "Service", short=("svc",), sub=("status",), cats=("all",)),
    _t("", "v1", "nodes", "Node", False, short=("no",), sub=("status",)),
    _t("", "v1", "events", "Event", short=("ev",)),
    _t("apps", "v1", "deployments", "Deployment", short=("deploy",), sub=("status", "scale"), cats=("all",)),
    _t("apps", "v1", "statefulsets", "StatefulSet", short=("sts",), sub=("status", "scale"), cats=("all",)),
    _t("apps", "v1", "daemonsets", "DaemonSet", short=("ds",), sub=("status",), cats=("all",)),
    _t("apps", "v1", "replicasets", "ReplicaSet", short=("rs",), sub=("status", "scale"), cats=("all",)),
    _t("apps", "v1", "controllerrevisions", "ControllerRevision"),
    _t("batch", "v1", "jobs", "Job", sub=("status",), cats=("all",)),
    _t("batch", "v1", "cronjobs", "CronJob", short=("cj",), sub=("status",), cats=("all",)),
    _t("coordination.k8s.io", "v1", "leases", "Lease"),
    _t("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", short=("pdb",), sub=("status",)),
    _t("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
       short=("crd", "crds"), sub=("status",)),
    _t("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
    _t("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
       False),
    _t("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", False,
       sub=("status",)),
    _t("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
       "ValidatingAdmissionPolicyBinding", False),
    _t("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _t("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _t("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _t("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    _t("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
       verbs=("create",)),
]


def _crd(group: str, version: str, plural: str, kind: str, namespaced: bool = True,
         short: tuple[str, ...] = ()) -> ResourceType:
    return ResourceType(group, version, plural, kind, namespaced, kind.lower(), short, (), False, CRUD, None, ())


#: Custom kinds the tool reads; a snapshot ``kube/<plural>.json`` of these implies the CRD exists.
KNOWN_CRD_TYPES: list[ResourceType] = [
    _crd("aadpodidentity.k8s.io", "v1", "azureidentities", "AzureIdentity"),
    _crd("aadpodidentity.k8s.io", "v1", "azureidentitybindings", "AzureIdentityBinding"),
    _crd("aadpodidentity.k8s.io", "v1", "azureassignedidentities", "AzureAssignedIdentity"),
    _crd("aadpodidentity.k8s.io", "v1", "azurepodidentityexceptions", "AzurePodIdentityException"),
    _crd("secrets-store.csi.x-k8s.io", "v1", "secretproviderclasses", "SecretProviderClass"),
    _crd("keda.sh", "v1alpha1", "triggerauthentications", "TriggerAuthentication", short=("ta", "triggerauth")),
    _crd("keda.sh", "v1alpha1", "clustertriggerauthentications", "ClusterTriggerAuthentication", False,
         short=("cta", "clustertriggerauth")),
]

_BY_PLURAL = {t.plural: t for t in BUILTIN_TYPES + KNOWN_CRD_TYPES}


def by_plural(plural: str) -> ResourceType | None:
    """Look a type up by plural (``pods``), ``plural.group`` (``deployments.apps``) or kind."""
    p = plural.lower()
    if p in _BY_PLURAL:
        return _BY_PLURAL[p]
    if "." in p:
        head, _, grp = p.partition(".")
        t = _BY_PLURAL.get(head)
        if t is not None and t.group == grp:
            return t
    for t in _BY_PLURAL.values():
        if t.kind.lower() == p:
            return t
    return None


def crd_object(t: ResourceType, creation: str = "2025-01-01T00:00:00Z") -> dict[str, Any]:
    """A minimal CustomResourceDefinition for a custom type."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{t.plural}.{t.group}", "creationTimestamp": creation},
        "spec": {
            "group": t.group,
            "names": {"plural": t.plural, "singular": t.singular, "kind": t.kind, "listKind": t.list_kind,
                      **({"shortNames": list(t.short_names)} if t.short_names else {})},
            "scope": "Namespaced" if t.namespaced else "Cluster",
            "versions": [{"name": t.version, "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {"type": "object",
                                                         "x-kubernetes-preserve-unknown-fields": True}}}],
        },
        "status": {"acceptedNames": {"plural": t.plural, "kind": t.kind}, "storedVersions": [t.version],
                   "conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}]},
    }


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group")
    plural = names.get("plural")
    kind = names.get("kind")
    if not (group and plural and kind):
        return []
    versions = [v["name"] for v in spec.get("versions") or [] if v.get("served", True) and v.get("name")]
    if not versions and spec.get("version"):  # apiextensions v1beta1 shape
        versions = [spec["version"]]
    subs = []
    for v in spec.get("versions") or []:
        if (v.get("subresources") or {}).get("status") is not None:
            subs = ["status"]
    return [ResourceType(group, v, plural, kind, spec.get("scope", "Namespaced") != "Cluster",
                         names.get("singular") or kind.lower(), tuple(names.get("shortNames") or ()),
                         tuple(subs), False, CRUD, names.get("listKind"), tuple(names.get("categories") or ()))
            for v in versions]


def api_resource_list(group_version: str, types: list[ResourceType]) -> dict[str, Any]:
    resources: list[dict[str, Any]] = []
    for t in sorted(types, key=lambda t: t.plural):
        resources.extend(t.discovery())
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def api_group(group: str, versions: list[str]) -> dict[str, Any]:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


@dataclass
class TypeRegistry:
    """The types one cluster serves: builtins plus its CRDs."""

    types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    @classmethod
    def builtin(cls) -> "TypeRegistry":
        r = cls()
        for t in BUILTIN_TYPES:
            r.add(t)
        return r

    def copy(self) -> "TypeRegistry":
        return TypeRegistry(dict(self.types))

    def add(self, t: ResourceType) -> None:
        self.types[(t.group, t.version, t.plural)] = t

    def remove_group_plural(self, group: str, plural: str) -> None:
        for k in [k for k in self.types if k[0] == group and k[2] == plural and not self.types[k].builtin]:
            del self.types[k]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.types.get((group, version, plural))

    def find(self, name: str) -> ResourceType | None:
        """By plural, ``plural.group`` or kind (preferring the first served version)."""
        n = name.lower()
        grp = None
        if "." in n:
            n, _, grp = n.partition(".")
        for t in self.types.values():
            if (t.plural == n or t.kind.lower() == n or n in t.short_names) and (grp is None or t.group == grp):
                return t
        return None

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for (g, v, _p) in self.types:
            if g and v not in out.setdefault(g, []):
                out[g].append(v)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [t for (g, v, _p), t in self.types.items() if g == group and v == version]
