"""Live access: builds the ARM reader and the live fleet reader a fleet needs.

The credential is ``DefaultAzureCredential`` (``az login``, managed identity, environment, workload
identity) unless one is injected (tests, private clouds); the ARM endpoint and CA bundle can be
overridden for private clouds and the local test servers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.clock import Clock
from migrator.fleet import Fleet
from migrator.sources import AzureSource
from migrator.sources.kube import KubeReadOptions
from migrator.sources.live import LiveAzureSource, LiveFleetReader, LiveOptions


@dataclass
class LiveSettings:
    kubeconfig: Path | None = None
    concurrency: int = 16
    cluster_deadline: float = 300.0
    request_timeout: float = 30.0
    page_limit: int = 500
    arm_endpoint: str | None = None
    ca_bundle: str | None = None
    credential: Any = None  # a TokenCredential; DefaultAzureCredential when None
    clock: Clock | None = None
    #: the live reader's class: the commands pass one that shows per-cluster progress on a terminal
    reader_class: type[LiveFleetReader] = LiveFleetReader


def needs_arm(fleet: Fleet) -> bool:
    return any(c.source_kind == "arm" or "arm" in (c.managed_cluster, c.scale_sets) for c in fleet.clusters) \
        or bool(fleet.azure and fleet.azure.live)


def live_access(fleet: Fleet, settings: LiveSettings, **hooks: Any
                ) -> tuple[LiveFleetReader | None, Callable[[list[str]], AzureSource] | None]:
    """The live cluster reader (None when every cluster has a snapshot) and the live Azure source factory."""
    arm = None
    if needs_arm(fleet):
        from migrator.sources.arm import ArmReader

        credential = settings.credential
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        arm = ArmReader(credential, cloud=fleet.azure.cloud if fleet.azure else "AzureCloud",
                        base_url=settings.arm_endpoint, connection_verify=settings.ca_bundle, clock=settings.clock)
    reader = None
    if any(c.snapshot is None for c in fleet.clusters):
        options = LiveOptions(concurrency=settings.concurrency, cluster_deadline=settings.cluster_deadline,
                              kube=KubeReadOptions(request_timeout=settings.request_timeout, page_limit=settings.page_limit),
                              kubeconfig=settings.kubeconfig, fleet_dir=fleet.base_dir)
        reader = settings.reader_class(arm=arm, options=options, clock=settings.clock,
                              on_page=hooks.get("on_page"), on_managed_cluster=hooks.get("on_managed_cluster"),
                              on_scale_sets=hooks.get("on_scale_sets"))
    azure_factory = None
    if arm is not None and fleet.azure is not None and fleet.azure.live:
        on_document = hooks.get("on_azure_document")
        azure_factory = lambda subs: LiveAzureSource(arm, subs, on_document=on_document)  # noqa: E731
    return reader, azure_factory
