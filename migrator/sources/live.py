"""Live fleet reading: clusters concurrently (bounded), each through ARM credentials or a kubeconfig
context, each with a deadline, so one unreachable private cluster cannot stall the fleet.

A cluster is reached through ARM by default (``listClusterUserCredential`` for its endpoint and CA, an
Entra token for the AKS server application, as kubelogin does: no kubeconfig with 300 contexts), or
through ``context:`` in the fleet file (any cluster a kubeconfig reaches, exec plugins included).

A ``context:`` cluster's managed cluster and scale sets come from ARM when the fleet has an ARM
credential (or ``managedCluster: arm`` / ``scaleSets: arm`` asks for one), or from the files those keys
name; otherwise they are not captured. The deadline runs on the injected clock from the start of the
cluster's read (ARM reads included): ``clock.timeout`` cancels a read still running at it, and it is
checked before every Kubernetes request and backoff, so no attempt or wait is started that would end
past it.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.clock import Clock, SystemClock
from migrator.decode import arm_documents as arm_decode
from migrator.decode.documents import AzureDocuments, ClusterDocuments
from migrator.errors import SnapshotError, SourceError, visible
from migrator.fleet import ClusterSpec
from migrator.kinds import KINDS
from migrator.sources.arm import AKS_SERVER_SCOPE, ArmReader
from migrator.sources.kube import DeadlinePassed, KubeLister, KubeReadOptions, ReadStats

PageHook = Callable[[str, str, bytes, bool], None]  # (cluster, plural, page bytes, first page)


def insecure_tls_warning(context: str, verify_ssl: object) -> str | None:
    """The warning for a kubeconfig context with ``insecure-skip-tls-verify: true`` (the client then checks no
    certificate: anyone on the path can answer for the API server and read the token)."""
    if verify_ssl is False:
        return (f"kubeconfig context {context!r} sets insecure-skip-tls-verify: the API server's certificate is "
                "not checked, so anyone on the network path can impersonate it and read the credentials sent")
    return None


def warn(text: str) -> None:
    """A warning on stderr, escaped for the terminal."""
    sys.stderr.write(f"warning: {visible(text)}\n")


def kubeconfig_problem(context: str, exc: Exception) -> str:
    """What the kubernetes client's loader said about a kubeconfig it could not use, as one line (it raises
    TypeError, KeyError, ... on an empty or malformed file, not only ConfigException)."""
    detail = str(exc) or type(exc).__name__
    if not isinstance(exc, OSError) and type(exc).__name__ != "ConfigException":
        detail = f"the kubeconfig is empty or malformed ({type(exc).__name__}: {detail})"
    return f"kubeconfig context {context!r}: {detail}"


@dataclass(frozen=True)
class LiveOptions:
    concurrency: int = 16
    cluster_deadline: float = 300.0
    kube: KubeReadOptions = field(default_factory=KubeReadOptions)
    kubeconfig: Path | None = None
    #: the fleet file's folder: ``managedCluster:`` / ``scaleSets:`` files are relative to it
    fleet_dir: Path | None = None


@dataclass(repr=False)
class ClusterRead:
    spec: ClusterSpec
    documents: ClusterDocuments | None = None
    error: SourceError | None = None
    stats: ReadStats = field(default_factory=ReadStats)

    def __repr__(self) -> str:
        # never the documents: a generated repr (a log line, a debugger, asyncio.run() showing a task's
        # result) walked every decoded object of the cluster
        state = "not read" if self.documents is None and self.error is None else \
            f"error={self.error!r}" if self.error is not None else "documents=..."
        return f"ClusterRead({self.spec.name!r}, {state}, stats={self.stats!r})"


class LiveFleetReader:
    def __init__(self, *, arm: ArmReader | None, options: LiveOptions = LiveOptions(), clock: Clock | None = None,
                 rng: random.Random | None = None, on_page: PageHook | None = None,
                 on_managed_cluster: Callable[[str, bytes], None] | None = None,
                 on_scale_sets: Callable[[str, bytes], None] | None = None,
                 on_warning: Callable[[str], None] = warn) -> None:
        self.arm = arm
        self.on_warning = on_warning
        self.options = options
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random(0)
        self.on_page = on_page
        self.on_managed_cluster = on_managed_cluster
        self.on_scale_sets = on_scale_sets

    async def _api_client(self, spec: ClusterSpec) -> Any:
        from kubernetes.aio.client import ApiClient, Configuration
        from kubernetes.aio.config import ConfigException, new_client_from_config

        if spec.context is not None:
            try:
                api = await new_client_from_config(
                    config_file=str(self.options.kubeconfig) if self.options.kubeconfig else None,
                    context=spec.context, persist_config=False)
            except (ConfigException, OSError, TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
                raise SourceError(kubeconfig_problem(spec.context, exc),
                                  hint="check --kubeconfig / KUBECONFIG and the context name") from None
            warning = insecure_tls_warning(spec.context, getattr(api.configuration, "verify_ssl", True))
            if warning:
                self.on_warning(f"cluster {spec.name}: {warning}")
            return api
        if self.arm is None:
            raise SourceError("no Azure credential to reach the cluster through ARM",
                              hint="add 'context:' to the cluster, or 'azure: {live: true}' to the fleet file")
        server, ca = await asyncio.to_thread(self.arm.cluster_endpoint, spec.subscription_id, spec.resource_group,
                                             spec.name)
        token = await asyncio.to_thread(self.arm.credential.get_token, AKS_SERVER_SCOPE)
        config = Configuration(host=server, ca_cert_data=ca)
        config.api_key = {"BearerToken": token.token}
        config.api_key_prefix = {"BearerToken": "Bearer"}
        return ApiClient(configuration=config)

    async def read_cluster(self, spec: ClusterSpec) -> ClusterRead:
        result = ClusterRead(spec)
        deadline = self.clock.monotonic() + self.options.cluster_deadline
        try:
            async with self.clock.timeout(self.options.cluster_deadline):
                result.documents = await self._read(spec, result, deadline)
        except (TimeoutError, DeadlinePassed) as exc:
            detail = f" ({exc})" if isinstance(exc, DeadlinePassed) else ""
            result.error = SourceError(f"not read within the {self.options.cluster_deadline:g} s deadline{detail}",
                                       hint="unreachable or very slow API server; raise --cluster-deadline")
        except SourceError as exc:
            result.error = exc
        except SnapshotError as exc:  # a document no API server would serve (malformed, nested too deep)
            result.error = SourceError(exc.message, location=exc.location, hint=exc.hint)
        return result

    def _file(self, spec: ClusterSpec, key: str, path: Path) -> bytes:
        full = path if path.is_absolute() or self.options.fleet_dir is None else self.options.fleet_dir / path
        try:
            return full.read_bytes()
        except OSError as exc:
            raise SourceError(f"{key} file of cluster '{spec.name}': cannot read {full}: {exc.strerror}",
                              hint="the path is relative to the fleet file") from None

    def _from_arm(self, spec: ClusterSpec, value: Path | str | None) -> bool:
        """ARM for a cluster read through ARM; for a context cluster, when asked or an ARM credential is at hand."""
        return self.arm is not None and (spec.context is None or value == "arm" or value is None)

    async def _azure_side(self, spec: ClusterSpec) -> tuple[Any, Any]:
        """The managed cluster and its scale sets (decoded), each None when not captured."""
        mc_doc = None
        scale_sets = None
        mc_bytes: bytes | None = None
        if isinstance(spec.managed_cluster, Path):
            mc_bytes = self._file(spec, "managedCluster", spec.managed_cluster)
        elif self._from_arm(spec, spec.managed_cluster):
            assert self.arm is not None
            mc_bytes = await asyncio.to_thread(self.arm.managed_cluster, spec.subscription_id, spec.resource_group,
                                               spec.name)
        if mc_bytes is not None:
            if self.on_managed_cluster:
                self.on_managed_cluster(spec.name, mc_bytes)
            mc_doc = arm_decode.decode_managed_cluster(mc_bytes, f"{spec.name}:managedCluster")
        vmss: bytes | None = None
        if isinstance(spec.scale_sets, Path):
            vmss = self._file(spec, "scaleSets", spec.scale_sets)
        elif self._from_arm(spec, spec.scale_sets) and mc_doc is not None and mc_doc.properties.nodeResourceGroup:
            assert self.arm is not None
            vmss = await asyncio.to_thread(self.arm.scale_sets, spec.subscription_id,
                                           mc_doc.properties.nodeResourceGroup)
        if vmss is not None:
            if self.on_scale_sets:
                self.on_scale_sets(spec.name, vmss)
            scale_sets = arm_decode.decode_arm_list(vmss, f"{spec.name}:virtualMachineScaleSets",
                                                    arm_decode.ScaleSet, "virtual machine scale sets")
        return mc_doc, scale_sets

    async def _read(self, spec: ClusterSpec, result: ClusterRead, deadline: float) -> ClusterDocuments:
        mc_doc, scale_sets = await self._azure_side(spec)
        if self.clock.monotonic() >= deadline:
            raise DeadlinePassed("the deadline passed while ARM was read")
        api = await self._api_client(spec)
        # gzip pages are inflated off the event loop (sources.kube._inflate), not by the session
        session = getattr(api.configuration, "client_session_kwargs", None) or {}
        api.configuration.client_session_kwargs = {**session, "auto_decompress": False}
        try:
            on_page = self.on_page
            hook = (lambda plural, data, first: on_page(spec.name, plural, data, first)) if on_page else None
            lister = KubeLister(api, spec.name, options=self.options.kube, clock=self.clock,
                                rng=random.Random(self.rng.random()), on_page=hook, deadline=deadline)
            result.stats = lister.stats
            kube = await lister.read_kinds(list(KINDS))
        finally:
            await api.close()
        return ClusterDocuments(kube=kube, managed_cluster=mc_doc, scale_sets=scale_sets)

    async def stream_clusters(self, specs: list[ClusterSpec]) -> AsyncIterator[ClusterRead]:
        """Each cluster's read as soon as it completes (``--concurrency`` at a time), in completion order.

        A consumer that builds each read and drops its documents holds only the clusters in flight:
        the fleet's decoded documents are never all in memory at once.
        """
        gate = asyncio.Semaphore(max(1, self.options.concurrency))

        async def one(spec: ClusterSpec) -> ClusterRead:
            async with gate:
                return await self.read_cluster(spec)

        pending = {asyncio.ensure_future(one(s)) for s in specs}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
                del done
        finally:
            for task in pending:
                task.cancel()


class LiveAzureSource:
    """Identities of the given subscriptions, their federated credentials and role assignments."""

    def __init__(self, arm: ArmReader, subscriptions: list[str],
                 on_document: Callable[[str, bytes], None] | None = None) -> None:
        self.arm = arm
        self.subscriptions = subscriptions
        self.on_document = on_document

    def read(self) -> AzureDocuments:
        import json

        identities = self.arm.identities(self.subscriptions)
        fics = self.arm.federated_credentials(identities)
        roles = self.arm.role_assignments(identities)
        docs = {
            "identities.json": json.dumps({"value": identities}).encode(),
            "federatedIdentityCredentials.json": json.dumps({"value": fics}).encode(),
            "roleAssignments.json": json.dumps({"value": roles}).encode(),
        }
        if self.on_document:
            for name, data in docs.items():
                self.on_document(name, data)
        return AzureDocuments(
            identities=arm_decode.decode_arm_list(docs["identities.json"], "azure:identities", arm_decode.Identity,
                                                  "user-assigned identities"),
            credentials=arm_decode.decode_arm_list(docs["federatedIdentityCredentials.json"], "azure:fics",
                                                   arm_decode.FederatedIdentityCredential,
                                                   "federated identity credentials"),
            role_assignments=arm_decode.decode_arm_list(docs["roleAssignments.json"], "azure:roleAssignments",
                                                        arm_decode.RoleAssignment, "role assignments"),
        )
