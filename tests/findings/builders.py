"""Plain-data inventories for finding tests: frozen domain objects with sensible defaults.

Every builder returns the real inventory types (no mocks); a test states only what matters to it.
``cluster()`` starts from a healthy, fully captured cluster with nothing in it.
"""

from __future__ import annotations

import uuid
from dataclasses import fields, replace
from typing import Any, Iterable

from migrator.inventory.catalog import Catalog, catalog
from migrator.findings.model import Finding
from migrator.findings.registry import all_rules, run_rules
from migrator.inventory.model import (
    AddonProfile,
    AdmissionPolicy,
    AzureIdentity,
    AzureInventory,
    Binding,
    ClusterFacts,
    ClusterInventory,
    Container,
    CustomResourceDefinition,
    FederatedCredential,
    FleetInventory,
    IdentityType,
    ManagedIdentity,
    MutatingWebhook,
    ObjectRef,
    Origin,
    Pod,
    PodIdentityException,
    PodTemplate,
    ScaleSet,
    Schema,
    SecretProviderClass,
    TriggerAuthentication,
    Workload,
    labels_of,
)
from migrator.kinds import AAD_POD_IDENTITY_GROUP, KINDS
from migrator.vocabulary import TOKEN_EXCHANGE_AUDIENCE

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUB = "00000000-0000-0000-0000-000000000001"
ID_RG = "rg-identities"
AADPI = "mcr.microsoft.com/oss/azure/aad-pod-identity"
WEBHOOK_IMAGE = "mcr.microsoft.com/oss/azure/workload-identity/webhook"


def uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def rid(name: str, rg: str = ID_RG, sub: str = SUB) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"


def client_id(name: str) -> str:
    return uid("client", name)


def issuer(cluster: str, region: str = "westeurope") -> str:
    return f"https://{region}.oic.prod-aks.azure.com/{TENANT}/{uid('issuer', cluster)}/"


# ----------------------------------------------------------------------------- cluster facts


def facts(name: str = "aks-1", *, oidc: bool = True, wi: bool = True, addon: AddonProfile | None = None,
          node_rg: str | None = None, **kw: Any) -> ClusterFacts:
    base = ClusterFacts(
        resource_id=f"/subscriptions/{SUB}/resourceGroups/rg-{name}/providers/Microsoft.ContainerService/managedClusters/{name}",
        location="westeurope",
        kubernetes_version="1.32.7",
        oidc_issuer_enabled=oidc,
        oidc_issuer_url=issuer(name) if oidc else None,
        workload_identity_enabled=wi,
        node_resource_group=node_rg or f"MC_rg-{name}_{name}_westeurope",
        kubelet_identity_resource_id=rid(f"{name}-agentpool", node_rg or f"MC_rg-{name}_{name}_westeurope"),
        kubelet_identity_client_id=client_id(f"{name}-agentpool"),
        windows_pools=(),
        addon=addon or AddonProfile(enabled=False),
    )
    return replace(base, **kw)


# ----------------------------------------------------------------------------- workloads


def container(name: str = "app", image: str = "contoso.azurecr.io/app:1.0", args: Iterable[str] = (),
              env: dict[str, str] | None = None) -> Container:
    return Container(name, image, tuple(args), tuple((env or {}).items()))


def template(*, labels: dict[str, str] | None = None, sa: str = "default", host_network: bool = False,
             windows: bool = False, containers: Iterable[Container] | None = None,
             annotations: dict[str, str] | None = None) -> PodTemplate:
    return PodTemplate(labels_of(labels), labels_of(annotations), sa, host_network, windows,
                       tuple(containers) if containers is not None else (container(),))


def workload(name: str, ns: str = "apps", kind: str = "Deployment", *, selector: str | None = None,
             pod_labels: dict[str, str] | None = None, labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None, sa: str = "default", host_network: bool = False,
             windows: bool = False, containers: Iterable[Container] | None = None, desired: int | None = 1,
             ready: int | None = 1, inferred: bool = False) -> Workload:
    tl = {"app": name, **(pod_labels or {})}
    if selector is not None:
        tl["aadpodidbinding"] = selector
    return Workload(ObjectRef(kind, ns, name), labels_of(labels), labels_of(annotations),
                    template(labels=tl, sa=sa, host_network=host_network, windows=windows, containers=containers),
                    None, desired, ready, inferred)


def pod(name: str, ns: str = "apps", *, owner: ObjectRef | None = None, labels: dict[str, str] | None = None,
        sa: str = "default", phase: str = "Running") -> Pod:
    return Pod(ObjectRef("Pod", ns, name), template(labels=labels, sa=sa), owner or ObjectRef("Pod", ns, name), phase)


def nmi(mode: str | None = "standard", *, version: str = "v1.8.17", ns: str = "kube-system", name: str = "nmi",
        ready: int | None = 3, desired: int | None = 3, helm: bool = False, extra_args: Iterable[str] = ()) -> Workload:
    args = ["--node=$(NODE_NAME)", *extra_args]
    if mode is not None:
        args.append(f"--operation-mode={mode}")
    if mode == "managed":
        args.append("--forceNamespaced")
    labels = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "aad-pod-identity",
              "helm.sh/chart": "aad-pod-identity-4.1.18"} if helm else {"component": "nmi"}
    return workload(name, ns, "DaemonSet", labels=labels, containers=[container("nmi", f"{AADPI}/nmi:{version}", args)],
                    desired=desired, ready=ready, host_network=True)


def mic(*, version: str = "v1.8.17", ns: str = "kube-system", name: str = "mic", ready: int | None = 2,
        desired: int | None = 2, helm: bool = False) -> Workload:
    labels = {"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "aad-pod-identity"} if helm \
        else {"component": "mic"}
    return workload(name, ns, "Deployment", labels=labels, containers=[container("mic", f"{AADPI}/mic:{version}")],
                    desired=desired, ready=ready)


def webhook_deployment(version: str = "v1.6.0", ns: str = "azure-workload-identity-system") -> Workload:
    return workload("azure-wi-webhook-controller-manager", ns,
                    containers=[container("manager", f"{WEBHOOK_IMAGE}:{version}")], desired=2, ready=2)


def webhook_config(*, pod_label: bool = True, ns: str = "azure-workload-identity-system",
                   configuration: str = "azure-wi-webhook-mutating-webhook-configuration") -> MutatingWebhook:
    selector = labels_of({"azure.workload.identity/use": "true"}) if pod_label else ()
    return MutatingWebhook(configuration, "mutation.azure-workload-identity.io", "Fail" if pod_label else "Ignore",
                           selector, (ns, "azure-wi-webhook-webhook-service"))


# ----------------------------------------------------------------------------- pod identity objects


def identity(name: str, ns: str = "apps", *, type: int = 0, uami: str | None = None, resource_id: str | None = "",
             client: str | None = "", secret: tuple[str, str] | None = None, schema: Schema = Schema.CAMEL,
             legacy_keys: Iterable[str] = (), namespaced: bool = False, origin: Origin = Origin.CRD,
             managed_by: str = "manifest") -> AzureIdentity:
    """An AzureIdentity; by default a user-assigned identity named ``id-<name>`` in ``rg-identities``."""
    uami = uami or f"id-{name}"
    is_sp = type in (1, 2)
    return AzureIdentity(
        namespace=ns, name=name, type=IdentityType(type),
        resource_id=(None if is_sp else rid(uami)) if resource_id == "" else resource_id,
        client_id=client_id(uami) if client == "" else client,
        tenant_id=TENANT if is_sp else None, secret_ref=secret, namespaced=namespaced, schema=schema,
        origin=origin, legacy_keys=tuple(legacy_keys), managed_by=managed_by,
    )


def binding(name: str, identity_name: str | None, selector: str | None, ns: str = "apps", *,
            schema: Schema = Schema.CAMEL, legacy_keys: Iterable[str] = (), origin: Origin = Origin.CRD,
            managed_by: str = "manifest", weight: int | None = None) -> Binding:
    return Binding(ns, name, identity_name, selector, weight, schema, origin, tuple(legacy_keys), managed_by)


def exception(name: str, ns: str, pod_labels: dict[str, str], *, schema: Schema = Schema.CAMEL,
              origin: Origin = Origin.CRD) -> PodIdentityException:
    return PodIdentityException(ns, name, labels_of(pod_labels), schema, origin)


def crd(plural: str = "azureidentities") -> CustomResourceDefinition:
    info = KINDS[plural]
    return CustomResourceDefinition(info.crd_name, AAD_POD_IDENTITY_GROUP, plural, info.kind, ("v1",), True)


def bound(name: str = "api", ns: str = "apps", *, sa: str | None = None, uami: str | None = None,
          **workload_kw: Any) -> tuple[AzureIdentity, Binding, Workload]:
    """An identity, its binding and one workload using it: the smallest working pod-identity use."""
    ident = identity(f"{name}-id", ns, uami=uami or f"id-{name}")
    return (ident, binding(f"{name}-binding", ident.name, name, ns),
            workload(name, ns, selector=name, sa=sa if sa is not None else name, **workload_kw))


def spc(name: str = "kv", ns: str = "apps", *, pod_identity: bool = True) -> SecretProviderClass:
    return SecretProviderClass(ns, name, pod_identity, None if pod_identity else client_id("id-api"))


def trigger_auth(name: str = "sb-auth", ns: str = "apps", *, provider: str = "azure",
                 kind: str = "TriggerAuthentication") -> TriggerAuthentication:
    return TriggerAuthentication(kind, "" if kind.startswith("Cluster") else ns, name, provider, None)


def scale_set(name: str = "aks-user-12345678-vmss", *identity_ids: str, pool: str = "user") -> ScaleSet:
    return ScaleSet(name, pool, tuple(identity_ids))


def protect_policy(*namespaces: str, name: str = "aks-managed-protect-system-namespaces") -> AdmissionPolicy:
    return AdmissionPolicy(name, (f"{name}-binding",), tuple(namespaces),
                           "Modification of resources in managed system namespaces is not allowed")


# ----------------------------------------------------------------------------- clusters and the fleet

_KIND_FIELDS = ("identities", "bindings", "exceptions", "assigned_identities", "workloads", "pods",
                "service_accounts", "namespaces", "crds", "webhooks", "admission_policies",
                "secret_provider_classes", "trigger_authentications", "scale_sets")
_PLURALS = {
    "identities": ("azureidentities",), "bindings": ("azureidentitybindings",),
    "exceptions": ("azurepodidentityexceptions",), "assigned_identities": ("azureassignedidentities",),
    "workloads": ("deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs"),
    "pods": ("pods",), "service_accounts": ("serviceaccounts",), "namespaces": ("namespaces",),
    "crds": ("customresourcedefinitions",), "webhooks": ("mutatingwebhookconfigurations",),
    "admission_policies": ("validatingadmissionpolicies", "validatingadmissionpolicybindings"),
    "secret_provider_classes": ("secretproviderclasses",),
    "trigger_authentications": ("triggerauthentications", "clustertriggerauthentications"),
    "scale_sets": ("vmss",),
}
_UNSET: Any = object()


def cluster(name: str = "aks-1", *, group: str | None = None, region: str = "westeurope",
            facts_: ClusterFacts | None = _UNSET, not_captured: Iterable[str] = (), **kinds: Any) -> ClusterInventory:
    """A fully captured cluster; pass a kind as a list to fill it, or as None for "not captured"."""
    unknown = set(kinds) - set(_KIND_FIELDS)
    if unknown:
        raise TypeError(f"unknown kinds: {sorted(unknown)}")
    values = {f: (None if kinds[f] is None else tuple(kinds[f])) if f in kinds else () for f in _KIND_FIELDS}
    missing = set(not_captured)
    for f, v in values.items():
        if v is None:
            missing.update(_PLURALS[f])
    the_facts = facts(name) if facts_ is _UNSET else facts_
    if the_facts is None:
        missing.add("managedcluster")
    return ClusterInventory(name=name, region=region, group=group or name, subscription_id=SUB,
                            resource_group=f"rg-{name}", facts=the_facts, not_captured=tuple(sorted(missing)),
                            **values)


def empty_cluster(name: str = "empty") -> ClusterInventory:
    """Every kind captured and empty; the managedCluster with every profile off."""
    return cluster(name, facts_=facts(name, oidc=False, wi=False))


def missing_cluster(name: str = "missing") -> ClusterInventory:
    """Every kind missing (None), the managedCluster and scale sets too."""
    return cluster(name, facts_=None, **{f: None for f in _KIND_FIELDS})


def managed_identity(name: str, *, rg: str = ID_RG, location: str = "westeurope") -> ManagedIdentity:
    return ManagedIdentity(rid(name, rg), name, SUB, rg, location, client_id(name), uid("principal", name), TENANT)


def fic(identity_name: str, issuer_url: str, subject: str, *, name: str | None = None, rg: str = ID_RG,
        audiences: tuple[str, ...] = (TOKEN_EXCHANGE_AUDIENCE,)) -> FederatedCredential:
    return FederatedCredential(rid(identity_name, rg), name or f"fic-{uid(issuer_url, subject)[:8]}", issuer_url,
                               subject, audiences)


def azure(identities: Iterable[ManagedIdentity] = (), credentials: Iterable[FederatedCredential] | None = ()
          ) -> AzureInventory:
    return AzureInventory(tuple(identities), None if credentials is None else tuple(credentials), ())


def fleet(*clusters: ClusterInventory, azure_: AzureInventory | None = None) -> FleetInventory:
    return FleetInventory(TENANT, tuple(clusters), (), azure_, None if azure_ is not None else "not captured")


def catalog_of(*clusters: ClusterInventory, azure_: AzureInventory | None = None) -> Catalog:
    return catalog(fleet(*clusters, azure_=azure_))


def findings(code: str, *clusters: ClusterInventory, azure_: AzureInventory | None = None) -> list[Finding]:
    """What one rule finds over a fleet of ``clusters``."""
    return list(all_rules()[code].check(catalog_of(*clusters, azure_=azure_)))


def all_findings(*clusters: ClusterInventory, azure_: AzureInventory | None = None) -> tuple[Finding, ...]:
    return run_rules(catalog_of(*clusters, azure_=azure_))


def kind_fields() -> tuple[str, ...]:
    assert set(_KIND_FIELDS) == {f.name for f in fields(ClusterInventory)} - {
        "name", "region", "group", "subscription_id", "resource_group", "facts", "not_captured"}
    return _KIND_FIELDS
