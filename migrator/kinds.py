"""The Kubernetes resource kinds the catalog reads: one table, used by every source and the decoder.

A kind is identified by its plural (the snapshot file name and the URL segment). Custom resources
name the CRD that serves them, so "CRD not installed" can stand for "there can be none".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KindInfo:
    plural: str
    kind: str
    group: str  # "" for the core group
    version: str
    namespaced: bool = True
    custom: bool = False  # served by a CRD (its name is ``plural.group``)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"

    @property
    def list_path(self) -> str:
        """The cluster-wide LIST path (namespaced kinds across all namespaces)."""
        prefix = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{prefix}/{self.plural}"


AAD_POD_IDENTITY_GROUP = "aadpodidentity.k8s.io"

_ALL = (
    KindInfo("azureidentities", "AzureIdentity", AAD_POD_IDENTITY_GROUP, "v1", custom=True),
    KindInfo("azureidentitybindings", "AzureIdentityBinding", AAD_POD_IDENTITY_GROUP, "v1", custom=True),
    KindInfo("azureassignedidentities", "AzureAssignedIdentity", AAD_POD_IDENTITY_GROUP, "v1", custom=True),
    KindInfo("azurepodidentityexceptions", "AzurePodIdentityException", AAD_POD_IDENTITY_GROUP, "v1", custom=True),
    KindInfo("pods", "Pod", "", "v1"),
    KindInfo("deployments", "Deployment", "apps", "v1"),
    KindInfo("statefulsets", "StatefulSet", "apps", "v1"),
    KindInfo("daemonsets", "DaemonSet", "apps", "v1"),
    KindInfo("replicasets", "ReplicaSet", "apps", "v1"),
    KindInfo("jobs", "Job", "batch", "v1"),
    KindInfo("cronjobs", "CronJob", "batch", "v1"),
    KindInfo("serviceaccounts", "ServiceAccount", "", "v1"),
    KindInfo("namespaces", "Namespace", "", "v1", namespaced=False),
    KindInfo("customresourcedefinitions", "CustomResourceDefinition", "apiextensions.k8s.io", "v1", namespaced=False),
    KindInfo("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", "admissionregistration.k8s.io", "v1",
             namespaced=False),
    KindInfo("validatingadmissionpolicies", "ValidatingAdmissionPolicy", "admissionregistration.k8s.io", "v1",
             namespaced=False),
    KindInfo("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding",
             "admissionregistration.k8s.io", "v1", namespaced=False),
    KindInfo("secretproviderclasses", "SecretProviderClass", "secrets-store.csi.x-k8s.io", "v1", custom=True),
    KindInfo("triggerauthentications", "TriggerAuthentication", "keda.sh", "v1alpha1", custom=True),
    KindInfo("clustertriggerauthentications", "ClusterTriggerAuthentication", "keda.sh", "v1alpha1",
             namespaced=False, custom=True),
)

KINDS: dict[str, KindInfo] = {k.plural: k for k in _ALL}
