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
from migrator.cutover.errors import ClusterUnreachable
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


class Connections:
    """Clients for the clusters of one command run; closed together."""

    def __init__(self, access: Access) -> None:
        self.access = access
        self._arm: ArmReader | None = None
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
        if self.access.credential is None:
            from azure.identity import DefaultAzureCredential

            self.access.credential = DefaultAzureCredential()
        return self.access.credential

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

            refresh(cfg)
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
            raise ClusterUnreachable(f"cluster {cluster.name}: {error.message}", hint=error.hint)
        return build_cluster(spec, result.documents)

    def close(self) -> None:
        for api in self._kube.values():
            api.close()
        self._kube.clear()

