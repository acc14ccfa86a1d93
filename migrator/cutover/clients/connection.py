"""Reaching a cluster and Azure for the cutover commands: the one place credentials turn into clients.

A cluster is reached as the live sources reach it: through ARM (``listClusterUserCredential`` for the
endpoint and CA, an Entra token for the AKS server application, refreshed before it expires), or
through a kubeconfig context (``--kubeconfig``/``--context``; the context defaults to the cluster's
name, as ``az aks get-credentials`` names it). Writes and step reads go through the sync
``kubernetes.client`` with its urllib3 retries off (``KubeApi`` retries on the injected clock);
whole-cluster reads for preflight, unbind and finalize reuse the live fleet reader
(``sources.live.LiveFleetReader``), so they see the cluster exactly as ``migrate catalog`` does.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.clock import Clock, SystemClock
from migrator.cutover.clients.kube_api import KubeApi
from migrator.cutover.errors import AzureLoginFailed, ClusterUnreachable
from migrator.errors import InputError, SourceError
from migrator.fleet import ClusterSpec
from migrator.inventory.model import ClusterInventory
from migrator.plan.model import ClusterPlan
from migrator.sources.retry import RetryPolicy

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from migrator.sources.arm import ArmReader

#: Entra authority host per cloud (the token exchange of step 2)
AUTHORITY_HOSTS = {
    "AzureCloud": "https://login.microsoftonline.com/",
    "AzureUSGovernment": "https://login.microsoftonline.us/",
    "AzureChinaCloud": "https://login.chinacloudapi.cn/",
}


@dataclass
class Access:
    """How to reach clusters and Azure. Built by the CLI; tests inject the credential and clock."""

    credential: TokenCredential | None = None  # DefaultAzureCredential when None
    cloud: str = "AzureCloud"
    arm_endpoint: str | None = None
    ca_bundle: str | None = None  # CA bundle for ARM and the Entra endpoint
    kubeconfig: Path | None = None
    context: str | None = None
    use_kubeconfig: bool = False  # reach clusters through the kubeconfig instead of ARM
    authority_host: str | None = None
    request_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=SystemClock)
    operator: str | None = None  # who is running this (lease holder, journal); user@host by default

    @property
    def authority(self) -> str:
        host = self.authority_host or AUTHORITY_HOSTS.get(self.cloud, AUTHORITY_HOSTS["AzureCloud"])
        return host if host.endswith("/") else host + "/"

    @property
    def via_kubeconfig(self) -> bool:
        return self.use_kubeconfig or self.kubeconfig is not None or self.context is not None

    def who(self) -> str:
        if self.operator:
            return self.operator
        try:
            user = getpass.getuser()
        except (ImportError, KeyError, OSError):  # no pwd module, an unknown uid (3.11, 3.12), or OSError (3.13)
            user = os.environ.get("USER", "unknown")
        return f"{user}@{socket.gethostname()}"


#: what a token is for, by scope (the error says what could not be reached)
_SCOPES = {"6dae42f8-4368-4678-94ff-3960e28e3630": "the AKS API server (through Entra)",
           "management": "Azure Resource Manager"}

LOGIN_HINT = ("az login (az login --tenant TENANT for the plan's tenant); or reach the clusters through a kubeconfig: "
              "--kubeconfig FILE --context NAME; or a service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID, "
              "AZURE_CLIENT_SECRET (ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET as Terraform names them)")


def login_problem(text: str) -> str:
    """Why a credential gave no token, from its message (DefaultAzureCredential lists every credential it tried)."""
    low = text.lower()
    if any(code in text for code in ("AADSTS700082", "AADSTS70043", "AADSTS50173", "AADSTS50078", "AADSTS50076",
                                     "AADSTS50133")) or "expired" in low or "interactive authentication" in low:
        return "the Azure login has expired"
    if any(code in text for code in ("AADSTS90002", "AADSTS50020", "AADSTS700016", "AADSTS50034", "AADSTS500011")) \
            or ("tenant" in low and any(w in low for w in ("not found", "does not exist", "mismatch", "another"))):
        return "the Azure login is for another tenant (or a user that tenant does not know)"
    return "no Azure credential found: not logged in (az login), no AZURE_* variables, no managed identity"


class CheckedCredential:
    """A credential whose failure becomes one line and exit 3 (``AzureLoginFailed``), instead of the SDK's
    multi-line ``DefaultAzureCredential failed ...`` (retried by every client that called it)."""

    def __init__(self, inner: TokenCredential) -> None:
        self.inner = inner

    def _failed(self, exc: Exception, scopes: tuple[str, ...]) -> AzureLoginFailed:
        what = next((name for key, name in _SCOPES.items() for s in scopes if key in s), "Azure")
        return AzureLoginFailed(f"could not get a token for {what}: {login_problem(str(exc))}", hint=LOGIN_HINT)

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.exceptions import ClientAuthenticationError

        try:
            return self.inner.get_token(*scopes, **kwargs)
        except ClientAuthenticationError as exc:
            raise self._failed(exc, scopes) from None

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo
        from azure.core.exceptions import ClientAuthenticationError

        try:
            info = getattr(self.inner, "get_token_info", None)
            if info is not None:
                return info(*scopes, options=options)
            token = self.inner.get_token(*scopes)
            return AccessTokenInfo(token.token, token.expires_on)
        except ClientAuthenticationError as exc:
            raise self._failed(exc, scopes) from None

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()


class Connections:
    """Clients for the clusters of one command run; closed together."""

    def __init__(self, access: Access) -> None:
        self.access = access
        self._arm: ArmReader | None = None
        self._credential: TokenCredential | None = None
        self._kube: dict[str, KubeApi] = {}
        self._warned: set[str] = set()

    def warn_once(self, text: str) -> None:
        """A warning on stderr, once per run (the same context is loaded for steps and for whole-cluster reads)."""
        from migrator.sources.live import warn

        if text not in self._warned:
            self._warned.add(text)
            warn(text)

    # ------------------------------------------------------------------ Azure
    @property
    def credential(self) -> TokenCredential:
        if self._credential is None:
            if self.access.credential is None:
                from azure.identity import DefaultAzureCredential

                self.access.credential = DefaultAzureCredential()
            self._credential = CheckedCredential(self.access.credential)
        assert self._credential is not None
        return self._credential

    @property
    def arm(self) -> ArmReader:
        if self._arm is None:
            from migrator.sources.arm import ArmReader

            self._arm = ArmReader(self.credential, cloud=self.access.cloud, base_url=self.access.arm_endpoint,
                                  connection_verify=self.access.ca_bundle, clock=self.access.clock,
                                  retry=self.access.retry)
        return self._arm

    # ------------------------------------------------------------------ Kubernetes
    def kube(self, cluster: ClusterPlan) -> KubeApi:
        if cluster.name not in self._kube:
            self._kube[cluster.name] = KubeApi(self._api_client(cluster), cluster.name, clock=self.access.clock,
                                               retry=self.access.retry, request_timeout=self.access.request_timeout)
        return self._kube[cluster.name]

    def _api_client(self, cluster: ClusterPlan) -> Any:
        from kubernetes import client, config

        cfg = client.Configuration()
        if self.access.via_kubeconfig:
            context = self.access.context or cluster.name
            from migrator.sources.live import insecure_tls_warning, kubeconfig_problem

            try:
                config.load_kube_config(config_file=str(self.access.kubeconfig) if self.access.kubeconfig else None,
                                        context=context, client_configuration=cfg, persist_config=False)
            except (config.ConfigException, OSError, TypeError, ValueError, KeyError, AttributeError,
                    IndexError) as exc:  # the loader fails on an empty or malformed file with TypeError & co
                raise InputError(kubeconfig_problem(context, exc),
                                 hint="check --kubeconfig / KUBECONFIG and --context (default: the cluster's "
                                      "name)") from None
            warning = insecure_tls_warning(context, cfg.verify_ssl)
            if warning:
                self.warn_once(f"cluster {cluster.name}: {warning}")
        else:
            from migrator.sources.arm import AKS_SERVER_SCOPE

            try:
                server, ca = self.arm.cluster_endpoint(cluster.subscription_id, cluster.resource_group, cluster.name)
            except AzureLoginFailed as exc:
                raise AzureLoginFailed(f"cluster {cluster.name} could not be reached: {exc.message}",
                                       hint=exc.hint) from None
            except SourceError as exc:
                raise ClusterUnreachable(f"cluster {cluster.name}: {exc.message}", hint=exc.hint) from None
            cfg.host = server
            if ca:
                cfg.ca_cert_data = ca
            credential = self.credential
            state: dict[str, Any] = {}

            def refresh(conf: Any) -> None:
                now = self.access.clock.now().timestamp()
                if not state or state["expires_on"] - now < 300:
                    token = credential.get_token(AKS_SERVER_SCOPE)
                    state.update(token=token.token, expires_on=token.expires_on)
                    conf.api_key = {"BearerToken": token.token}
                    conf.api_key_prefix = {"BearerToken": "Bearer"}

            try:
                refresh(cfg)
            except AzureLoginFailed as exc:
                raise AzureLoginFailed(f"cluster {cluster.name} could not be reached: {exc.message}",
                                       hint=exc.hint) from None
            cfg.refresh_api_key_hook = refresh  # type: ignore[assignment]  # declared None; called per request
        cfg.retries = False  # our RetryPolicy retries, on the injected clock
        cfg.client_go_retries = False
        return client.ApiClient(cfg)

    def inventory(self, cluster: ClusterPlan) -> ClusterInventory:
        """The whole cluster as the catalog reads it (every kind, the managedCluster, its scale sets)."""
        from migrator.inventory.build import build_cluster
        from migrator.sources.kube import KubeReadOptions
        from migrator.sources.live import LiveFleetReader, LiveOptions

        spec = ClusterSpec(name=cluster.name, region=cluster.region, subscription_id=cluster.subscription_id,
                           resource_group=cluster.resource_group, group=cluster.group,
                           context=(self.access.context or cluster.name) if self.access.via_kubeconfig else None)
        reader = LiveFleetReader(arm=self.arm, clock=self.access.clock, on_warning=self.warn_once,
                                 options=LiveOptions(kubeconfig=self.access.kubeconfig, kube=KubeReadOptions(
                                     request_timeout=self.access.request_timeout, retry=self.access.retry)))
        result = asyncio.run(reader.read_cluster(spec))
        if result.error is not None or result.documents is None:
            error = result.error or SourceError("not read")
            if isinstance(error, AzureLoginFailed):
                raise AzureLoginFailed(f"cluster {cluster.name} could not be read: {error.message}", hint=error.hint)
            raise ClusterUnreachable(f"cluster {cluster.name}: {error.message}", hint=error.hint)
        return build_cluster(spec, result.documents)

    def close(self) -> None:
        for api in self._kube.values():
            api.close()
        self._kube.clear()

