"""The words Kubernetes objects carry for workload identity and pod identity, defined once.

Catalog, plan, render and cutover all read and write these; a leaf module (imports nothing).

Sources: the workload identity webhook's labels and annotations
(azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html),
the token exchange audience (learn.microsoft.com/entra/workload-id/workload-identity-federation), and
AAD Pod Identity's pod label (azure.github.io/aad-pod-identity/docs/concepts/azureidentitybinding/).
"""

from __future__ import annotations

#: The pod label the webhook mutates on (pods, since webhook v1.0).
WI_USE_LABEL = "azure.workload.identity/use"
#: Service-account annotations the webhook injects into the pods' environment.
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"
#: Pod annotations: containers the webhook leaves alone; the IMDS proxy sidecar for SDKs without WI.
SKIP_CONTAINERS_ANNOTATION = "azure.workload.identity/skip-containers"
PROXY_SIDECAR_ANNOTATION = "azure.workload.identity/inject-proxy-sidecar"

#: AAD Pod Identity: the pod label an AzureIdentityBinding's selector matches.
BINDING_LABEL = "aadpodidbinding"

#: The only audience a federated credential for AKS service-account tokens may carry (and the audience
#: of the projected token the webhook mounts).
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
