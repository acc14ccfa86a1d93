"""Build the inventory from decoded documents: the one place documents become domain objects."""

from __future__ import annotations

import re
from dataclasses import replace
from sys import intern
from typing import Any

from migrator.decode import arm_documents as arm
from migrator.decode import structs as s
from migrator.decode.documents import AzureDocuments, ClusterDocuments
from migrator.decode.kept import ENV_VALUES_KEPT, kept_annotations, redact_args
from migrator.fleet import ClusterSpec
from migrator.inventory import crds
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
    IdentityType,
    Labels,
    ManagedIdentity,
    MutatingWebhook,
    Namespace,
    ObjectRef,
    Origin,
    Pod,
    PodIdentityException,
    PodTemplate,
    RoleAssignment,
    ScaleSet,
    SecretProviderClass,
    ServiceAccount,
    TriggerAuthentication,
    Workload,
    labels_of,
)
from migrator.kinds import KINDS

#: kinds whose objects carry a pod template we read directly
_TEMPLATE_KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet", "daemonsets": "DaemonSet",
                   "cronjobs": "CronJob"}
_READ_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


#: equal values (templates, containers, label sets and pairs) already built, each kept once: one table
#: for every cluster of a catalog, so a peer group's equal workloads are held once (see ``_Shared``)
SharedValues = dict[Any, Any]


def build_cluster(spec: ClusterSpec, docs: ClusterDocuments,
                  shared_values: SharedValues | None = None) -> ClusterInventory:
    kube = _fill_absent_custom_kinds(docs.kube)

    def items(plural: str) -> tuple[Any, ...] | None:
        return kube.get(plural)

    workloads, pods = _workloads_and_pods(kube, _Shared(shared_values))
    facts = _facts(docs.managed_cluster) if docs.managed_cluster is not None else None
    # AKS's label makes an object the add-on's while the add-on is on, or not known to be off
    addon_off = facts is not None and not facts.addon.enabled
    not_captured = tuple(sorted(p for p, v in kube.items() if v is None))
    if docs.managed_cluster is None:
        not_captured = tuple(sorted((*not_captured, "managedcluster")))
    if docs.scale_sets is None:
        not_captured = tuple(sorted((*not_captured, "vmss")))
    return ClusterInventory(
        name=spec.name,
        region=spec.region,
        group=spec.peer_group,
        subscription_id=spec.subscription_id,
        resource_group=spec.resource_group,
        facts=facts,
        identities=_map(items("azureidentities"), lambda d: _leftover(crds.parse_identity(d), addon_off)),
        bindings=_map(items("azureidentitybindings"), lambda d: _leftover(crds.parse_binding(d), addon_off)),
        exceptions=_map(items("azurepodidentityexceptions"), crds.parse_exception),
        assigned_identities=_map(items("azureassignedidentities"), crds.parse_assigned),
        workloads=workloads,
        pods=pods,
        service_accounts=_map(items("serviceaccounts"), lambda d: ServiceAccount(
            d.metadata.namespace, d.metadata.name, labels_of(_annotations(d.metadata.annotations)))),
        namespaces=_map(items("namespaces"), lambda d: Namespace(d.metadata.name, labels_of(d.metadata.labels))),
        crds=_map(items("customresourcedefinitions"), _crd),
        webhooks=_webhooks(items("mutatingwebhookconfigurations")),
        admission_policies=_policies(items("validatingadmissionpolicies"), items("validatingadmissionpolicybindings")),
        secret_provider_classes=_map(items("secretproviderclasses"), _secret_provider_class),
        trigger_authentications=_trigger_auths(items("triggerauthentications"), items("clustertriggerauthentications")),
        scale_sets=None if docs.scale_sets is None else tuple(sorted(
            (_scale_set(v) for v in docs.scale_sets), key=lambda x: x.name)),
        not_captured=not_captured,
    )


def _leftover(obj: Any, addon_off: bool) -> Any:
    """An object labelled the add-on's on a cluster whose add-on is off is a leftover, deleted like a manifest."""
    return replace(obj, managed_by="manifest") if addon_off and obj.managed_by == "add-on" else obj


def _map(items: tuple[Any, ...] | None, fn: Any) -> tuple[Any, ...] | None:
    if items is None:
        return None
    return tuple(sorted((fn(i) for i in items), key=_sort_key))


def _sort_key(obj: Any) -> tuple[str, ...]:
    return tuple(str(getattr(obj, a, "")) for a in ("namespace", "name", "kind"))


def _fill_absent_custom_kinds(kube: dict[str, tuple[Any, ...] | None]) -> dict[str, tuple[Any, ...] | None]:
    """A custom kind whose CRD the captured CRD list lacks cannot have objects: empty, not unknown."""
    crd_items = kube.get("customresourcedefinitions")
    out = {plural: kube.get(plural) for plural in KINDS}
    if crd_items is None:
        return out
    installed = {c.metadata.name for c in crd_items}
    for plural, info in KINDS.items():
        if info.custom and out[plural] is None and info.crd_name not in installed:
            out[plural] = ()
    return out


# ----------------------------------------------------------------------------- workloads


def _annotations(annotations: dict[str, str | None] | None) -> dict[str, str | None] | None:
    return kept_annotations(annotations)  # what snapshots keep: the catalog of both is the same


class _Shared:
    """One object for equal values: a pod's template usually equals its siblings' and its containers
    those of every replica; and across a fleet (when the catalog passes one table to every cluster's
    build) a peer group's clusters run the same workloads. Equal label pairs, label sets, containers and
    templates are built or kept once: a 2,000-pod cluster's inventory is 3.75 MB with a copy per pod,
    1.5 MB shared within the cluster, 0.7 MB when its peers were built before it (tracemalloc).

    Decoded container lists are keys of a per-cluster table only: a fleet-wide one would keep them.
    """

    def __init__(self, values: SharedValues | None = None) -> None:
        self._values: SharedValues = {} if values is None else values
        self._containers: dict[Any, tuple[Container, ...]] = {}

    def __call__(self, value: Any) -> Any:
        return self._values.setdefault(value, value)

    def labels(self, mapping: dict[str, str | None] | None) -> Labels:
        share = self._values.setdefault
        pairs = tuple(share(p, p) for p in labels_of(mapping))
        return share(pairs, pairs)

    def containers(self, decoded: tuple[s.Container, ...] | None) -> tuple[Container, ...]:
        """The containers of a decoded list, built once per equal list (decoded structs hash in C)."""
        built = self._containers.get(decoded)
        if built is None:
            built = self._containers[decoded] = self(tuple(_container(c) for c in decoded or ()))
        return built


def _container(c: s.Container) -> Container:
    return Container(
        name=intern(c.name), image=intern(c.image),
        args=tuple(redact_args((*(c.command or ()), *(c.args or ())))),  # as snapshots keep them
        env=tuple((intern(e.name), e.value if e.name.upper() in ENV_VALUES_KEPT else None) for e in (c.env or ())),
    )


def pod_template(labels: dict[str, str | None] | None, annotations: dict[str, str | None] | None,
                 spec: s.PodSpec | None, shared: _Shared) -> PodTemplate:
    spec = spec or s.PodSpec()
    selector = spec.nodeSelector or {}
    os_name = (selector.get("kubernetes.io/os") or selector.get("beta.kubernetes.io/os") or "").lower()
    return shared(PodTemplate(
        labels=shared.labels(labels),
        annotations=shared.labels(annotations),
        service_account=spec.serviceAccountName or spec.serviceAccount or "default",
        host_network=bool(spec.hostNetwork),
        windows=os_name == "windows",
        containers=shared.containers(spec.containers),
        init_containers=shared.containers(spec.initContainers),
    ))


def _template_of(kind: str, doc: s.Workload, shared: _Shared) -> PodTemplate:
    spec = doc.spec or s.WorkloadSpec()
    template = spec.template
    if kind == "CronJob":
        job = spec.jobTemplate
        template = job.spec.template if job and job.spec else None
    template = template or s.PodTemplate()
    meta = template.metadata or s.TemplateMeta()
    return pod_template(meta.labels, _annotations(meta.annotations), template.spec, shared)


def _controller(meta: s.Meta) -> tuple[str, str] | None:
    refs = meta.ownerReferences or ()
    chosen = next((r for r in refs if r.controller), refs[0] if refs else None)
    return (chosen.kind, chosen.name) if chosen else None


def _counts(kind: str, doc: s.Workload) -> tuple[int | None, int | None]:
    st = doc.status or s.WorkloadStatus()
    if kind == "DaemonSet":
        return st.desiredNumberScheduled, st.numberReady
    if kind in ("CronJob", "Job"):
        return None, st.active
    replicas = doc.spec.replicas if doc.spec and doc.spec.replicas is not None else 1
    return replicas, st.readyReplicas or 0


def _workloads_and_pods(kube: dict[str, tuple[Any, ...] | None], shared: _Shared
                        ) -> tuple[tuple[Workload, ...] | None, tuple[Pod, ...] | None]:
    """Controllers with their templates, and pods rolled up to the top of their owner chain."""
    controller_kinds = ("deployments", "statefulsets", "daemonsets", "cronjobs", "replicasets", "jobs")
    if all(kube.get(p) is None for p in (*controller_kinds, "pods")):
        return None, None
    found: dict[ObjectRef, Workload] = {}
    # (kind, namespace, name) of each read object -> its controller (kind, name)
    owners: dict[tuple[str, str, str], tuple[str, str] | None] = {}

    for plural in controller_kinds:
        kind = KINDS[plural].kind
        for doc in kube.get(plural) or ():
            owners[(kind, doc.metadata.namespace, doc.metadata.name)] = _controller(doc.metadata)

    def top(kind: str, ns: str, name: str) -> tuple[str, str]:
        seen = set()
        while (kind, ns, name) in owners and owners[(kind, ns, name)] is not None and (kind, name) not in seen:
            seen.add((kind, name))
            kind, name = owners[(kind, ns, name)]  # type: ignore[misc]
        return kind, name

    for plural in controller_kinds:
        kind = KINDS[plural].kind
        for doc in sorted(kube.get(plural) or (), key=lambda d: (d.metadata.namespace, d.metadata.name)):
            ns, name = shared(doc.metadata.namespace), doc.metadata.name
            top_kind, top_name = top(kind, ns, name)
            # a ReplicaSet of a Deployment (a Job of a CronJob) is its owner's: nothing of it is kept
            if (top_kind, top_name) == (kind, name):
                desired, ready = _counts(kind, doc)
                ref = ObjectRef(kind, ns, name)
                found[ref] = Workload(ref, labels_of(doc.metadata.labels), labels_of(_annotations(doc.metadata.annotations)),
                                      _template_of(kind, doc, shared), None, desired, ready)
            elif top_kind not in _READ_KINDS:
                # ReplicaSet of an Argo Rollout, Job of an operator's resource: keep its template under
                # the owner's name; the live revision (most desired replicas) speaks for it
                desired, ready = _counts(kind, doc)
                ref = ObjectRef(top_kind, ns, top_name)
                prior = found.get(ref)
                if prior is None or (desired or 0) > (prior.desired or 0):
                    found[ref] = Workload(ref, (), (), _template_of(kind, doc, shared), None, desired, ready,
                                          inferred=True)

    # equal pods (same owner, template and phase) -> the first of them and how many there are
    pods: dict[tuple[ObjectRef, PodTemplate, str | None], tuple[ObjectRef, int]] = {}
    for doc in sorted(kube.get("pods") or (), key=lambda d: (d.metadata.namespace, d.metadata.name)):
        ns, name = shared(doc.metadata.namespace), doc.metadata.name
        template = pod_template(doc.metadata.labels, _annotations(doc.metadata.annotations), doc.spec, shared)
        controller = _controller(doc.metadata)
        if controller is None:
            owner = ObjectRef("Pod", ns, name)
        else:
            top_kind, top_name = top(controller[0], ns, controller[1])
            owner = shared(ObjectRef(top_kind, ns, top_name))
        if owner not in found:
            # a bare pod, or one whose owner chain ends in a kind we don't read (or didn't capture)
            found[owner] = Workload(owner, labels_of(doc.metadata.labels) if owner.kind == "Pod" else (),
                                    labels_of(_annotations(doc.metadata.annotations)) if owner.kind == "Pod" else (),
                                    template, None, None, None, inferred=owner.kind != "Pod")
        phase = shared(doc.status.phase) if doc.status else None
        first, count = pods.get((owner, template, phase), (None, 0))
        pods[(owner, template, phase)] = (first or ObjectRef("Pod", ns, name), count + 1)

    workloads = tuple(sorted(found.values(), key=lambda w: (w.ref.namespace, w.ref.kind, w.ref.name)))
    if kube.get("pods") is None:
        return workloads, None
    folded = (Pod(ref, template, owner, phase, count) for (owner, template, phase), (ref, count) in pods.items())
    return workloads, tuple(sorted(folded, key=lambda p: (p.ref.namespace, p.ref.name)))


# ----------------------------------------------------------------------------- cluster-level kinds


def _crd(doc: s.Crd) -> CustomResourceDefinition:
    versions = tuple(v.name for v in doc.spec.versions or ()) or ((doc.spec.version,) if doc.spec.version else ())
    structural = any(v.schema for v in doc.spec.versions or ()) or bool(doc.spec.validation)
    return CustomResourceDefinition(doc.metadata.name, doc.spec.group, doc.spec.names.plural,
                                    doc.spec.names.kind, versions, structural)


def _webhooks(items: tuple[Any, ...] | None) -> tuple[MutatingWebhook, ...] | None:
    if items is None:
        return None
    out = []
    for cfg in items:
        for hook in cfg.webhooks or ():
            service = hook.clientConfig.service if hook.clientConfig else None
            out.append(MutatingWebhook(
                configuration=cfg.metadata.name, name=hook.name, failure_policy=hook.failurePolicy,
                object_selector=labels_of(hook.objectSelector.matchLabels if hook.objectSelector else None),
                service=(service.namespace, service.name) if service else None,
            ))
    return tuple(sorted(out, key=lambda w: (w.configuration, w.name)))


def _selector_namespaces(selector: s.LabelSelector | None) -> set[str]:
    """Namespace names a selector picks by ``kubernetes.io/metadata.name`` (the readable case)."""
    names: set[str] = set()
    if selector is None:
        return names
    value = (selector.matchLabels or {}).get("kubernetes.io/metadata.name")
    if value:
        names.add(value)
    for expr in selector.matchExpressions or ():
        if expr.get("key") == "kubernetes.io/metadata.name" and expr.get("operator") == "In":
            names.update(str(v) for v in expr.get("values") or ())
    return names


def _policies(policies: tuple[Any, ...] | None, bindings: tuple[Any, ...] | None
              ) -> tuple[AdmissionPolicy, ...] | None:
    if policies is None:
        return None
    out = []
    for policy in policies:
        name = policy.metadata.name
        spec = policy.spec or s.PolicySpec()
        own = [b for b in bindings or () if b.spec and b.spec.policyName == name]
        namespaces = _selector_namespaces(spec.matchConstraints.namespaceSelector if spec.matchConstraints else None)
        for b in own:
            namespaces |= _selector_namespaces(b.spec.matchResources.namespaceSelector
                                               if b.spec and b.spec.matchResources else None)
        message = next((str(v["message"]) for v in spec.validations or () if isinstance(v, dict) and v.get("message")),
                       None)
        out.append(AdmissionPolicy(name, tuple(sorted(b.metadata.name for b in own)), tuple(sorted(namespaces)),
                                   message))
    return tuple(sorted(out, key=lambda p: p.name))


def _secret_provider_class(doc: s.Custom) -> SecretProviderClass:
    params = (doc.spec or {}).get("parameters") or {}
    flag = str(params.get("usePodIdentity", "")).strip().lower() == "true" if isinstance(params, dict) else False
    client_id = params.get("clientID") if isinstance(params, dict) else None
    return SecretProviderClass(doc.metadata.namespace, doc.metadata.name, flag, str(client_id) if client_id else None)


def _trigger_auths(namespaced: tuple[Any, ...] | None, cluster: tuple[Any, ...] | None
                   ) -> tuple[TriggerAuthentication, ...] | None:
    if namespaced is None and cluster is None:
        return None
    out = []
    for kind, items in (("TriggerAuthentication", namespaced), ("ClusterTriggerAuthentication", cluster)):
        for doc in items or ():
            pod_identity = (doc.spec or {}).get("podIdentity") or {}
            if not isinstance(pod_identity, dict):
                pod_identity = {}
            out.append(TriggerAuthentication(kind, doc.metadata.namespace, doc.metadata.name,
                                             pod_identity.get("provider"), pod_identity.get("identityId")))
    return tuple(sorted(out, key=lambda t: (t.kind, t.namespace, t.name)))


def _scale_set(doc: arm.ScaleSet) -> ScaleSet:
    ids = tuple(sorted((doc.identity.userAssignedIdentities or {}).keys())) if doc.identity else ()
    return ScaleSet(doc.name, (doc.tags or {}).get("aks-managed-poolName"), ids)


# ----------------------------------------------------------------------------- managed cluster


def _facts(mc: arm.ManagedCluster) -> ClusterFacts:
    p = mc.properties
    oidc = p.oidcIssuerProfile
    kubelet = (p.identityProfile or {}).get("kubeletidentity")
    profile = p.podIdentityProfile
    return ClusterFacts(
        resource_id=mc.id,
        location=mc.location,
        kubernetes_version=p.currentKubernetesVersion or p.kubernetesVersion,
        oidc_issuer_enabled=bool(oidc and oidc.enabled),
        oidc_issuer_url=(oidc.issuerURL or None) if oidc and oidc.enabled else None,
        workload_identity_enabled=bool(p.securityProfile and p.securityProfile.workloadIdentity
                                       and p.securityProfile.workloadIdentity.enabled),
        node_resource_group=p.nodeResourceGroup,
        kubelet_identity_resource_id=kubelet.resourceId if kubelet else None,
        kubelet_identity_client_id=kubelet.clientId if kubelet else None,
        windows_pools=tuple(sorted(a.name for a in p.agentPoolProfiles or () if (a.osType or "").lower() == "windows")),
        addon=_addon(profile),
    )


def _addon(profile: arm.PodIdentityProfile | None) -> AddonProfile:
    if profile is None or not profile.enabled:
        return AddonProfile(enabled=False)
    identities, bindings = [], []
    for pi in profile.userAssignedIdentities or ():
        identities.append(AzureIdentity(
            namespace=pi.namespace, name=pi.name, type=IdentityType.USER_ASSIGNED_MSI,
            resource_id=pi.identity.resourceId, client_id=pi.identity.clientId, origin=Origin.ADDON,
            managed_by="add-on",
        ))
        bindings.append(Binding(namespace=pi.namespace, name=pi.name, identity_name=pi.name,
                                selector=pi.bindingSelector or pi.name, origin=Origin.ADDON, managed_by="add-on"))
    exceptions = [PodIdentityException(e.namespace, e.name, labels_of(e.podLabels), origin=Origin.ADDON)
                  for e in profile.userAssignedIdentityExceptions or ()]
    key = _sort_key
    return AddonProfile(True, tuple(sorted(identities, key=key)), tuple(sorted(bindings, key=key)),
                        tuple(sorted(exceptions, key=key)))


# ----------------------------------------------------------------------------- Azure

_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/"
                 r"microsoft\.managedidentity/userassignedidentities/(?P<name>[^/]+)", re.IGNORECASE)


def parse_identity_id(resource_id: str) -> tuple[str, str, str] | None:
    """(subscription, resource group, name) of a user-assigned identity ID, any casing."""
    m = _ID.match(resource_id.strip())
    return (m["sub"], m["rg"], m["name"]) if m else None


def build_azure(docs: AzureDocuments) -> AzureInventory:
    identities = []
    for doc in docs.identities:
        parts = parse_identity_id(doc.id) or ("", "", doc.name)
        identities.append(ManagedIdentity(
            resource_id=doc.id, name=doc.name or parts[2], subscription_id=parts[0], resource_group=parts[1],
            location=doc.location, client_id=doc.properties.clientId, principal_id=doc.properties.principalId,
            tenant_id=doc.properties.tenantId,
        ))
    credentials = []
    for cred in docs.credentials or ():
        parent = cred.id.rsplit("/federatedIdentityCredentials/", 1)[0] if "/federatedIdentityCredentials/" in cred.id \
            else _parent_any_case(cred.id)
        credentials.append(FederatedCredential(
            identity_resource_id=parent, name=cred.name or cred.id.rsplit("/", 1)[-1],
            issuer=cred.properties.issuer, subject=cred.properties.subject,
            audiences=tuple(cred.properties.audiences or ()),
        ))
    roles = None if docs.role_assignments is None else tuple(sorted(
        (RoleAssignment(r.properties.principalId, r.properties.roleDefinitionId, r.properties.scope, r.name)
         for r in docs.role_assignments), key=lambda r: (r.principal_id, r.scope, r.role_definition_id)))
    return AzureInventory(
        identities=tuple(sorted(identities, key=lambda i: i.key)),
        credentials=None if docs.credentials is None else tuple(
            sorted(credentials, key=lambda c: (c.identity_resource_id.lower(), c.name))),
        role_assignments=roles,
    )


def _parent_any_case(resource_id: str) -> str:
    index = resource_id.lower().find("/federatedidentitycredentials/")
    return resource_id[:index] if index >= 0 else resource_id
