"""Integrations that use Pod Identity themselves: the Secrets Store CSI driver and KEDA."""

from __future__ import annotations

from collections.abc import Iterator

from migrator.findings.model import Finding, Severity
from migrator.findings.registry import rule
from migrator.findings.rules._common import emit, patch_json
from migrator.inventory.catalog import Catalog
from migrator.inventory.resolve import ClusterResolution

CSI_WI_DOC = ("https://azure.github.io/secrets-store-csi-driver-provider-azure/docs/configurations/"
              "identity-access-modes/workload-identity-mode/")
CSI_PI_DOC = ("https://azure.github.io/secrets-store-csi-driver-provider-azure/docs/configurations/"
              "identity-access-modes/pod-identity-mode/")
KEDA_WI_DOC = "https://keda.sh/docs/latest/authentication-providers/azure-ad-workload-identity/"
KEDA_215 = "https://github.com/kedacore/keda/releases/tag/v2.15.0"


def _client_ids(r: ClusterResolution, namespace: str | None) -> list[str]:
    return sorted({u.identity.client_id for u in r.uses
                   if u.identity.client_id and (namespace is None or u.namespace == namespace)})


@rule(
    "SECRETS_STORE_USES_POD_IDENTITY", Severity.ERROR,
    title='A SecretProviderClass with usePodIdentity: "true"',
    cause=("The Azure Key Vault provider of the Secrets Store CSI driver fetches this class's secrets with the mounting "
           "pod's AAD Pod Identity (usePodIdentity: \"true\"): it asks NMI for the pod's token."),
    risk=("When NMI goes, every pod mounting it fails to start (the volume mount fails), even pods already moved to "
          "workload identity."),
    remediation=('Switch it to workload identity mode in the same cutover as its pods: usePodIdentity: "false" and '
                 "clientID: <the identity's client ID> (the pods' service account must be federated to it)."),
    references=(CSI_WI_DOC, CSI_PI_DOC),
    needs=("secretproviderclasses",),
)
def secrets_store_uses_pod_identity(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        for spc in c.secret_provider_classes or ():
            if not spc.uses_pod_identity:
                continue
            ids = _client_ids(r, spc.namespace)
            client = ids[0] if len(ids) == 1 else "<client ID of the identity its pods use>"
            yield emit("SECRETS_STORE_USES_POD_IDENTITY", c.name, spc.namespace, f"SecretProviderClass/{spc.name}",
                       f'SecretProviderClass {spc.name} reads Key Vault with usePodIdentity: "true", which stops '
                       f"working when NMI goes.",
                       "In the same cutover as its pods: "
                       + patch_json("secretproviderclass", spc.name, spc.namespace,
                                    {"spec": {"parameters": {"usePodIdentity": "false", "clientID": client}}}))


@rule(
    "KEDA_USES_POD_IDENTITY", Severity.ERROR,
    title="A KEDA TriggerAuthentication with podIdentity.provider: azure",
    cause=("The (Cluster)TriggerAuthentication authenticates KEDA's scalers with AAD Pod Identity "
           "(podIdentity.provider: azure), a provider removed in KEDA 2.15."),
    risk=("Scaling on Azure metrics (Service Bus, Event Hubs, Storage queues, Monitor) stops when NMI goes or when KEDA "
          "is upgraded to 2.15, whichever comes first."),
    remediation=("Move it to provider azure-workload with identityId set to the identity's client ID, and federate "
                 "KEDA's operator service account to that identity."),
    references=(KEDA_WI_DOC, KEDA_215),
    needs=("triggerauthentications", "clustertriggerauthentications"),
)
def keda_uses_pod_identity(cat: Catalog) -> Iterator[Finding]:
    for r in cat.resolutions:
        c = r.cluster
        for ta in c.trigger_authentications or ():
            if (ta.provider or "").strip().lower() != "azure":
                continue
            cluster_scoped = ta.kind == "ClusterTriggerAuthentication"
            ids = _client_ids(r, None if cluster_scoped else ta.namespace)
            client = ta.identity_id or (ids[0] if len(ids) == 1 else "<client ID of the identity>")
            yield emit("KEDA_USES_POD_IDENTITY", c.name, "" if cluster_scoped else ta.namespace, f"{ta.kind}/{ta.name}",
                       f"{ta.kind} {ta.name} uses podIdentity.provider: azure, which KEDA 2.15 removed and which stops "
                       f"working when NMI goes.",
                       patch_json(ta.kind.lower(), ta.name, None if cluster_scoped else ta.namespace,
                                  {"spec": {"podIdentity": {"provider": "azure-workload", "identityId": client}}})
                       + " (and federate KEDA's operator service account to that identity).")
