"""The local Azure Resource Manager (and Entra token endpoint) on 127.0.0.1 over HTTPS.

ARM (``server.url``) serves managedClusters (GET, list, ``listClusterUserCredential``, and PUT with an
ETag precondition, 409 while another operation runs and a long-running operation on the clock whose
pod-identity changes the attached Kubernetes cluster mirrors),
userAssignedIdentities and their federatedIdentityCredentials (with Azure's rules), role
assignments, virtual machine scale sets, and Resource Graph queries — from a snapshot's files or
from objects a test adds.  Every subscription has token buckets for reads / writes / deletes on the
injected clock, reported in ``x-ms-ratelimit-remaining-subscription-*`` headers, with 429 +
``Retry-After`` when empty.  A subscription can be made unreadable for the caller
(:meth:`ArmServer.deny_subscription`), subscriptions grouped into management groups
(:meth:`ArmServer.add_management_group`), and a resource's Resource Graph row reduced to the ARM
cache fields (:meth:`ArmServer.set_graph_partial`).

The Entra endpoint (``server.authority_host``, its own port) exchanges a Kubernetes service-account
JWT for an access token when a federated credential on the identity whose ``clientId`` is asked for
matches the token's issuer and subject (else ``AADSTS70021``).  Access tokens it issues are accepted
by the ARM endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import math
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import parse_qsl, quote

from ._http import DROP, HttpRequest, HttpResponse, LoopThread
from .arm_graph import KqlError, run_query
from .credentials import STATIC_TOKEN, StaticCredential
from .faults import FaultAction, FaultSet, RequestLog, RequestRecord
from .kube_server import DEFAULT_TENANT
from .pki import TestPKI
from .snapshot import list_items, load_azure, load_fleet, managed_cluster_to_rest, read_json
from .tokens import SigningKey, TokenError, decode_unverified, verify

if TYPE_CHECKING:
    from migrator.clock import Clock

    from .kube_server import KubeServer

__all__ = ["ArmServer", "TokenBucket", "FIC_LIMIT"]

FIC_LIMIT = 20
FIC_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials"
UAMI_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"
MC_TYPE = "Microsoft.ContainerService/managedClusters"
VMSS_TYPE = "Microsoft.Compute/virtualMachineScaleSets"
RA_TYPE = "Microsoft.Authorization/roleAssignments"
_FIC_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{2,119}$")
_FIC_UNSUPPORTED_REGIONS = {"malaysiasouth", "newzealandnorth"}
_READ_ACTIONS = {"listclusterusercredential", "listclusteradmincredential", "listclustermonitoringusercredential"}


def _json(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, json.dumps(obj, separators=(",", ":")).encode(), headers)


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or []

    def response(self) -> HttpResponse:
        return _json(self.status, {"error": {"code": self.code, "message": self.message}}, self.headers)


@dataclass
class _McOperation:
    """A managed cluster's long-running operation (an update, or one a test starts to block writes)."""

    id: str
    cluster_id: str
    kind: str
    start: float
    end: float
    started_at: str
    status: str = "InProgress"
    old_profile: Any = None
    new_profile: Any = None


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` per second of the injected clock."""

    capacity: float
    rate: float
    tokens: float = -1.0
    last: float = 0.0

    def take(self, now: float) -> tuple[bool, float, float]:
        """(allowed, remaining, retry_after_seconds)."""
        if self.tokens < 0:
            self.tokens, self.last = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True, self.tokens, 0.0
        return False, self.tokens, (1 - self.tokens) / self.rate if self.rate > 0 else 3600.0


@dataclass
class _Fic:
    body: dict[str, Any]
    created: float


@dataclass
class _Principal:
    name: str
    client_id: str | None = None
    object_id: str | None = None
    expires: float | None = None       # on the injected clock (wall seconds) for tokens we issued


@dataclass
class _QuotaWindow:
    start: float = -1.0
    used: int = 0


def _seg_lower(path: str) -> tuple[list[str], list[str]]:
    segs = [s for s in path.split("/") if s]
    return segs, [s.lower() for s in segs]


def _rg_of(rid: str) -> str | None:
    m = re.search(r"/resourcegroups/([^/]+)", rid, re.I)
    return m.group(1) if m else None


def _sub_of(rid: str) -> str | None:
    m = re.search(r"/subscriptions/([^/]+)", rid, re.I)
    return m.group(1) if m else None


def _read_arm_files(folder: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(managedcluster.json, vmss.json items) of a cluster folder; the kube/ files are not read."""
    import os

    mc_path, vm_path = os.path.join(folder, "managedcluster.json"), os.path.join(folder, "vmss.json")
    mc = read_json(mc_path) if os.path.exists(mc_path) else None
    return mc, (list_items(read_json(vm_path)) if os.path.exists(vm_path) else [])


class ArmServer:
    """ARM + Entra token endpoint.  Use as a context manager or call :meth:`stop`."""

    def __init__(self, clock: "Clock | None" = None, *, pki: TestPKI | None = None, host: str = "127.0.0.1",
                 tenant_id: str = DEFAULT_TENANT, accepted_tokens: Iterable[str] = (STATIC_TOKEN,),
                 throttle: bool = True, reads: tuple[float, float] = (250, 25.0),
                 writes: tuple[float, float] = (200, 10.0), deletes: tuple[float, float] = (200, 10.0),
                 graph_quota: tuple[int, float] = (15, 5.0), graph_throttle: bool = True,
                 fic_write_seconds: float = 0.02, fic_propagation_seconds: float = 0.0, page_size: int = 100,
                 record_requests: bool = True, max_records: int | None = None,
                 kube: "KubeServer | None" = None, arm_port: int = 0, aad_port: int = 0) -> None:
        if clock is None:
            from migrator.clock import SystemClock

            clock = SystemClock()
        self.clock = clock
        self.lock = threading.RLock()
        self.pki = pki or TestPKI()
        self.tenant_id = tenant_id
        self.accepted_tokens = {t: _Principal("static-test-principal") for t in accepted_tokens}
        self.throttle_enabled = throttle
        self.bucket_sizes = {"reads": reads, "writes": writes, "deletes": deletes}
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.graph_quota = graph_quota
        self.graph_throttle = graph_throttle
        self._graph_windows: dict[str, _QuotaWindow] = {}
        #: subscriptions the caller cannot read: ARM answers 403, Resource Graph trims their rows
        #: (``graph_denied="trim"``, as ARG's permission trimming does) or answers 403 when a request
        #: names one (``graph_denied="forbid"``)
        self.denied_subscriptions: set[str] = set()
        self.graph_denied = "trim"
        self.subscription_names: dict[str, str] = {}        # subscription id (lower) -> display name
        self.management_groups: dict[str, set[str]] = {}    # group name (lower) -> subscription ids (lower)
        self.graph_partial: set[str] = set()                # resource ids (lower) ARG knows without properties
        self.fic_write_seconds = fic_write_seconds
        self.fic_propagation_seconds = fic_propagation_seconds
        self.page_size = page_size
        self.faults = FaultSet()
        self.log = RequestLog(record_requests, max_records)
        # data (keys are lower-cased ARM ids)
        self.managed_clusters: dict[str, dict[str, Any]] = {}
        self.identities: dict[str, dict[str, Any]] = {}
        self.fics: dict[str, dict[str, _Fic]] = {}
        self.role_assignments: dict[str, dict[str, Any]] = {}
        self.vmss: dict[str, dict[str, Any]] = {}
        self.kube_names: dict[str, str] = {}      # managed cluster id -> KubeServer cluster name
        self.kube: KubeServer | None = None
        # managed-cluster writes: one long-running operation per cluster at a time, ETags, a hook for
        # concurrent changes (see _managed_cluster_put)
        self.mc_operation_seconds = 30.0           # how long a PUT's operation runs, on the clock
        self.mc_etags: dict[str, str] = {}         # managed cluster id -> current ETag
        self.mc_operations: dict[str, _McOperation] = {}  # operation id -> operation
        self.mc_put_hook: Any = None               # called (server, cluster id) before each PUT is judged
        self._issuers: dict[str, Any] = {}        # issuer -> callable returning an RSA public key
        self._busy: set[str] = set()               # identities with a FIC write in flight
        self.aad_key = SigningKey()
        self.issued: list[dict[str, Any]] = []     # claims of every access token issued
        self._loop = LoopThread("arm-server")
        ctx = self.pki.server_context()
        self._arm = self._loop.listen("arm", self._handle, host, arm_port, ctx, {})
        self._aad = self._loop.listen("aad", self._handle, host, aad_port, ctx, {})
        self._hang: asyncio.Event = self._loop.run(self._new_event())
        self._stopped = False
        if kube is not None:
            self.attach_kube(kube)

    async def _new_event(self) -> asyncio.Event:
        return asyncio.Event()

    # ------------------------------------------------------------------ lifecycle & addresses
    def __enter__(self) -> "ArmServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._loop.stop()

    @property
    def url(self) -> str:
        """ARM base URL (pass as ``base_url`` to the management clients)."""
        return self._arm.url

    @property
    def authority_host(self) -> str:
        """Entra authority host (``AZURE_AUTHORITY_HOST`` / ``authority=``), with trailing slash."""
        return self._aad.url + "/"

    @property
    def ca_path(self) -> str:
        return self.pki.ca_path

    @property
    def requests(self) -> list[RequestRecord]:
        return self.log.records

    def credential(self, token: str = STATIC_TOKEN) -> StaticCredential:
        return StaticCredential(token)

    def client_kwargs(self, **extra: Any) -> dict[str, Any]:
        """Keyword arguments for an azure-mgmt client: ``base_url`` and ``connection_verify``."""
        return {"base_url": self.url, "connection_verify": self.ca_path, **extra}

    def release_hangs(self) -> None:
        old = self._hang
        self._hang = self._loop.run(self._new_event())
        self._loop.loop.call_soon_threadsafe(old.set)

    # ------------------------------------------------------------------ data loading
    def load_snapshot(self, root: str, clusters: Iterable[str] | None = None, subscription_id: str | None = None,
                      resource_group: str | None = None) -> None:
        """Load ``<root>/azure/*`` and every ``<root>/<cluster>/managedcluster.json`` + ``vmss.json``."""
        import os

        az = load_azure(root)
        with self.lock:
            for i in az.identities:
                self.add_identity(i)
            for f in az.federated_credentials:
                self._add_fic_body(f)
            for r in az.role_assignments:
                self.add_role_assignment(r)
        names = list(clusters) if clusters is not None else sorted(
            d for d in os.listdir(root) if d != "azure" and os.path.isdir(os.path.join(root, d)))
        for n in names:
            mc, vm = _read_arm_files(os.path.join(root, n))
            if mc is not None:
                self.add_managed_cluster(mc, name=n, subscription_id=subscription_id,
                                         resource_group=resource_group, vmss=vm)

    def load_fleet(self, fleet_path: str, names: Iterable[str] | None = None) -> None:
        """Load every cluster of a fleet.yaml (managed cluster + VMSS; azure/ files of each root once)."""
        wanted = set(names) if names is not None else None
        roots: set[str] = set()
        for e in load_fleet(fleet_path):
            if wanted is not None and e.name not in wanted:
                continue
            if e.tenant_id and self.tenant_id == DEFAULT_TENANT:
                self.tenant_id = e.tenant_id
            if e.azure_dir and e.azure_dir not in roots:
                roots.add(e.azure_dir)
                az = load_azure("", e.azure_dir)
                with self.lock:
                    for i in az.identities:
                        self.add_identity(i)
                    for f in az.federated_credentials:
                        self._add_fic_body(f)
                    for r in az.role_assignments:
                        self.add_role_assignment(r)
            mc, vm = _read_arm_files(e.snapshot) if e.snapshot else (None, [])
            self.add_managed_cluster(mc or {"name": e.name, "location": e.region or "eastus", "properties": {}},
                                     name=e.name, subscription_id=e.subscription_id,
                                     resource_group=e.resource_group, location=e.region, vmss=vm)

    def add_managed_cluster(self, body: dict[str, Any], *, name: str | None = None,
                            subscription_id: str | None = None, resource_group: str | None = None,
                            location: str | None = None, vmss: Iterable[dict[str, Any]] = (),
                            kube_cluster: str | None = None) -> dict[str, Any]:
        """Add a managed cluster (REST or ``az aks show`` shape); ids are rewritten when
        ``name``/``subscription_id``/``resource_group`` are given (e.g. from fleet.yaml)."""
        mc = copy.deepcopy(managed_cluster_to_rest(body))
        rid = mc.get("id") or ""
        name = name or mc.get("name") or "cluster"
        sub = subscription_id or _sub_of(rid) or "00000000-0000-0000-0000-000000000000"
        rg = resource_group or _rg_of(rid) or body.get("resourceGroup") or "rg"
        mc["name"] = name
        same = (rid.rsplit("/", 1)[-1] == name and (_sub_of(rid) or "").lower() == sub.lower()
                and (_rg_of(rid) or "").lower() == rg.lower())
        mc["id"] = rid if same else f"/subscriptions/{sub}/resourcegroups/{rg}/providers/{MC_TYPE}/{name}"
        mc["type"] = MC_TYPE
        if location:
            mc["location"] = location
        mc.setdefault("location", "eastus")
        props = mc.setdefault("properties", {})
        node_rg = props.setdefault("nodeResourceGroup", f"MC_{rg}_{name}_{mc['location']}")
        with self.lock:
            self.managed_clusters[mc["id"].lower()] = mc
            self.kube_names[mc["id"].lower()] = kube_cluster or name
            for v in vmss:
                self.add_vmss(v, subscription_id=sub, resource_group=node_rg)
        return mc

    def add_identity(self, body: dict[str, Any] | None = None, *, subscription_id: str | None = None,
                     resource_group: str | None = None, name: str | None = None, location: str = "eastus",
                     client_id: str | None = None, principal_id: str | None = None,
                     tenant_id: str | None = None) -> dict[str, Any]:
        """Add a user-assigned identity (an ARM body, or built from keyword arguments)."""
        if body is None:
            sub = subscription_id or "00000000-0000-0000-0000-000000000000"
            rg = resource_group or "rg"
            body = {"id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/{UAMI_TYPE}/{name}", "name": name,
                    "type": UAMI_TYPE, "location": location, "tags": {},
                    "properties": {"tenantId": tenant_id or self.tenant_id,
                                   "principalId": principal_id or str(uuid.uuid4()),
                                   "clientId": client_id or str(uuid.uuid4()), "isolationScope": "None"}}
        body = copy.deepcopy(body)
        body.setdefault("type", UAMI_TYPE)
        body.setdefault("name", body["id"].rsplit("/", 1)[-1])
        props = body.setdefault("properties", {})
        props.setdefault("tenantId", self.tenant_id)
        props.setdefault("clientId", str(uuid.uuid4()))
        props.setdefault("principalId", str(uuid.uuid4()))
        with self.lock:
            self.identities[body["id"].lower()] = body
            self.fics.setdefault(body["id"].lower(), {})
        return body

    def add_fic(self, identity_id: str, name: str, issuer: str, subject: str,
                audiences: list[str] | None = None) -> dict[str, Any]:
        """Add a federated credential directly (no rules, no propagation delay)."""
        body = {"id": f"{identity_id}/federatedIdentityCredentials/{name}", "name": name, "type": FIC_TYPE,
                "properties": {"issuer": issuer, "subject": subject,
                               "audiences": audiences or ["api://AzureADTokenExchange"]}}
        with self.lock:
            self._add_fic_body(body, created=-math.inf)
        return body

    def _add_fic_body(self, body: dict[str, Any], created: float = -math.inf) -> None:
        body = copy.deepcopy(body)
        parent, _, name = body["id"].rpartition("/federatedIdentityCredentials/")
        if not _:
            parent, _, name = re.split(r"(/federatedidentitycredentials/)", body["id"], flags=re.I)
        body.setdefault("name", name)
        body.setdefault("type", FIC_TYPE)
        self.fics.setdefault(parent.lower(), {})[name.lower()] = _Fic(body, created)

    def add_role_assignment(self, body: dict[str, Any] | None = None, *, scope: str | None = None,
                            principal_id: str | None = None, role_definition_id: str | None = None,
                            principal_type: str = "ServicePrincipal", name: str | None = None) -> dict[str, Any]:
        if body is None:
            name = name or str(uuid.uuid4())
            body = {"id": f"{scope}/providers/{RA_TYPE}/{name}", "name": name, "type": RA_TYPE,
                    "properties": {"roleDefinitionId": role_definition_id, "principalId": principal_id,
                                   "principalType": principal_type, "scope": scope}}
        body = copy.deepcopy(body)
        body.setdefault("type", RA_TYPE)
        body.setdefault("name", body["id"].rsplit("/", 1)[-1])
        props = body.setdefault("properties", {})
        if not props.get("scope"):
            props["scope"] = re.split(r"/providers/Microsoft\.Authorization/roleAssignments/", body["id"],
                                      flags=re.I)[0]
        with self.lock:
            self.role_assignments[body["id"].lower()] = body
        return body

    def add_vmss(self, body: dict[str, Any], *, subscription_id: str | None = None,
                 resource_group: str | None = None) -> dict[str, Any]:
        body = copy.deepcopy(body)
        name = body.get("name") or body.get("id", "vmss").rsplit("/", 1)[-1]
        rid = body.get("id")
        if subscription_id or resource_group or not rid:
            sub = subscription_id or _sub_of(rid or "") or "00000000-0000-0000-0000-000000000000"
            rg = resource_group or _rg_of(rid or "") or "rg"
            rid = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{VMSS_TYPE}/{name}"
        body["id"], body["name"] = rid, name
        body.setdefault("type", VMSS_TYPE)
        with self.lock:
            self.vmss[rid.lower()] = body
        return body

    def attach_kube(self, kube: "KubeServer") -> None:
        """Link a KubeServer: ``listClusterUserCredential`` returns kubeconfigs for it, the token
        endpoint trusts its clusters' issuers (verifying signatures with their keys), and the
        webhook of its clusters injects ``AZURE_AUTHORITY_HOST`` = :attr:`authority_host`."""
        self.kube = kube
        with kube.lock:
            kube.authority_host = self.authority_host
            for c in kube.clusters.values():
                c.webhook.authority_host = self.authority_host

    def trust_issuer(self, issuer: str, public_key: Any) -> None:
        """Trust an extra issuer: ``public_key`` is an RSA public key or a callable returning one."""
        self._issuers[issuer] = public_key if callable(public_key) else (lambda: public_key)

    def fic_list(self, identity_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(f.body) for f in self.fics.get(identity_id.lower(), {}).values()]

    def identity_by_client_id(self, client_id: str) -> dict[str, Any] | None:
        for i in self.identities.values():
            if (i.get("properties") or {}).get("clientId", "").lower() == client_id.lower():
                return i
        return None

    def set_throttle(self, subscription_id: str | None = None, **sizes: tuple[float, float]) -> None:
        """Change bucket sizes (``reads=(capacity, per_second)`` …) for one or all subscriptions;
        resets the affected buckets."""
        with self.lock:
            if subscription_id is None:
                self.bucket_sizes.update(sizes)
                self.buckets.clear()
            else:
                for kind, (cap, rate) in sizes.items():
                    self.buckets[(subscription_id.lower(), kind)] = TokenBucket(cap, rate)

    def add_subscription(self, subscription_id: str, display_name: str | None = None) -> None:
        """Name a subscription (``ResourceContainers`` rows); one without resources becomes visible too."""
        with self.lock:
            self.subscription_names[subscription_id.lower()] = display_name or subscription_id

    def deny_subscription(self, subscription_id: str) -> None:
        """The caller cannot read this subscription: every ARM request under it answers 403
        ``AuthorizationFailed``; Resource Graph leaves its rows out (or answers 403, see ``graph_denied``)."""
        with self.lock:
            self.denied_subscriptions.add(subscription_id.lower())

    def add_management_group(self, name: str, subscriptions: Iterable[str]) -> None:
        """A management group holding these subscriptions (Resource Graph ``managementGroups`` scope)."""
        with self.lock:
            self.management_groups[name.lower()] = {s.lower() for s in subscriptions}

    def set_graph_partial(self, resource_id: str, partial: bool = True) -> None:
        """Resource Graph holds only the ARM cache fields of this resource (``properties`` empty), as for
        a resource whose provider snapshot has not reached Resource Graph; ARM still serves it whole."""
        with self.lock:
            (self.graph_partial.add if partial else self.graph_partial.discard)(resource_id.lower())

    # ------------------------------------------------------------------ HTTP plumbing
    def _describe(self, req: HttpRequest) -> RequestRecord:
        service = req.listener.service
        rec = RequestRecord(service=service, method=req.method, path=req.path, query=req.query, raw_path=req.target,
                            clock_time=self.clock.monotonic(), content_type=req.header("content-type"))
        segs, low = _seg_lower(req.path)
        if service == "aad":
            rec.operation = "token" if low[-1:] == ["token"] else "metadata"
            rec.verb = "action" if req.method == "POST" else "read"
            return rec
        rec.subscription = segs[1] if len(low) > 1 and low[0] == "subscriptions" else None
        rec.resource_group = segs[3] if len(low) > 3 and low[2] == "resourcegroups" else None
        if "providers" in low:
            i = len(low) - 1 - low[::-1].index("providers")
            rest, rlow = segs[i + 2:], low[i + 2:]
            if rlow and rlow[-1] in _READ_ACTIONS:
                rec.operation = rlow[-1]
                rest, rlow = rest[:-1], rlow[:-1]
            if rest:
                if len(rest) % 2 == 0:
                    rec.resource, rec.name = rest[-2], rest[-1]
                else:
                    rec.resource = rest[-1]
        if low[:3] == ["providers", "microsoft.resourcegraph", "resources"]:
            rec.operation = "resourcegraph"
        if rec.resource and rec.resource.lower() == "federatedidentitycredentials":
            rec.operation = {"PUT": "fic.put", "DELETE": "fic.delete",
                             "GET": "fic.get" if rec.name else "fic.list"}.get(req.method)
        rec.verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(
            req.method, "action")
        rec.mutating = req.method in ("PUT", "PATCH", "DELETE") or (
            req.method == "POST" and rec.operation not in ("resourcegraph",) and
            (rec.operation or "") not in _READ_ACTIONS)
        if req.method in ("PUT", "PATCH", "POST", "DELETE") and req.body:
            rec.body = req.body
        return rec

    async def _handle(self, req: HttpRequest) -> Any:
        rec = self._describe(req)
        self.log.append(rec)
        t0 = time.monotonic()
        try:
            action = self.faults.evaluate(rec)
            if action.fault is not None:
                rec.fault = action.fault.describe()
            if action.advance_clock > 0:
                self.clock.advance(action.advance_clock)  # type: ignore[attr-defined]  # a ManualClock
            if action.latency > 0:
                await asyncio.sleep(action.latency)
            if action.drop:
                rec.status = 0
                return DROP
            if action.hang:
                ev = self._hang
                try:
                    if action.hang is True:
                        await ev.wait()
                    else:
                        await asyncio.wait_for(ev.wait(), float(action.hang))
                except asyncio.TimeoutError:
                    pass
                rec.status = 0
                return DROP
            if action.status:
                resp = self._fault_response(action, rec)
            else:
                try:
                    if req.listener.service == "aad":
                        with self.lock:
                            resp = self._aad_serve(req, rec)
                    else:
                        resp = await self._arm_serve(req, rec)
                except ArmError as exc:
                    resp = exc.response()
            rec.status = resp.status
            resp.headers.append(("x-ms-request-id", str(uuid.uuid4())))
            return resp
        finally:
            rec.duration = time.monotonic() - t0

    def _fault_response(self, action: FaultAction, rec: RequestRecord) -> HttpResponse:
        code = int(action.status or 500)
        headers = list(action.headers.items())
        if action.retry_after is not None:
            headers.append(("Retry-After", str(int(math.ceil(action.retry_after)))))
        if isinstance(action.body, (bytes, bytearray)):
            return HttpResponse(code, bytes(action.body), headers)
        if isinstance(action.body, dict):
            return _json(code, action.body, headers)
        if rec.service == "aad":
            return _json(code, {"error": action.reason or "temporarily_unavailable",
                                "error_description": action.message or f"AADSTS90033: injected fault {code}",
                                "error_codes": [90033]}, headers)
        defaults = {429: ("TooManyRequests", "Too many requests. Please retry."),
                    500: ("InternalServerError", "Encountered internal server error. Injected fault."),
                    503: ("ServiceUnavailable", "The service is unavailable."),
                    403: ("AuthorizationFailed", "The client does not have authorization to perform action."),
                    409: ("Conflict", "Conflict.")}
        code_s, msg = defaults.get(code, (f"Status{code}", f"Injected fault {code}"))
        if rec.operation == "fic.put" and code == 409 and action.reason is None:
            code_s = "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
            msg = "Too many Federated Identity Credentials are written concurrently for the managed identity."
        return _json(code, {"error": {"code": action.reason or code_s, "message": action.message or msg}}, headers)

    # ------------------------------------------------------------------ auth & throttling
    def _principal(self, req: HttpRequest) -> _Principal:
        auth = req.header("authorization") or ""
        if not auth.lower().startswith("bearer "):
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           [("WWW-Authenticate", 'Bearer authorization_uri="https://login.microsoftonline.com/'
                                                 f'{self.tenant_id}", error="invalid_token", error_description='
                                                 '"The authentication failed because of missing \'Authorization\' '
                                                 'header."')])
        token = auth[7:].strip()
        p = self.accepted_tokens.get(token)
        if p is not None:
            return p
        try:
            claims = verify(token, self.aad_key.public_key)
        except TokenError:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.",
                           [("WWW-Authenticate", 'Bearer error="invalid_token", error_description="The access '
                                                 'token is invalid."')]) from None
        if claims.get("exp", 0) < self.clock.now().timestamp():
            raise ArmError(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than "
                                                              "current UTC time.",
                           [("WWW-Authenticate", 'Bearer error="invalid_token", error_description="The access '
                                                 'token expiry UTC time is earlier than current UTC time."')])
        return _Principal(claims.get("oid", "unknown"), claims.get("appid"), claims.get("oid"))

    def _throttle(self, rec: RequestRecord, method: str) -> list[tuple[str, str]]:
        if not rec.subscription:
            return []
        kind = "reads" if method in ("GET", "HEAD") else "deletes" if method == "DELETE" else "writes"
        key = (rec.subscription.lower(), kind)
        b = self.buckets.get(key)
        if b is None:
            cap, rate = self.bucket_sizes[kind]
            b = self.buckets[key] = TokenBucket(cap, rate)
        if not self.throttle_enabled:
            return []
        ok, remaining, retry = b.take(self.clock.monotonic())
        header = (f"x-ms-ratelimit-remaining-subscription-{kind}", str(int(remaining)))
        if not ok:
            secs = max(1, int(math.ceil(retry)))
            raise ArmError(429, "SubscriptionRequestsThrottled",
                           f"Number of '{kind[:-1]}' requests for subscription '{rec.subscription}' actor "
                           f"'static-test-principal' exceeded. Please try again after '{secs}' seconds after "
                           "additional tokens are available. Refer to https://aka.ms/arm-throttling for additional "
                           "information.", [header, ("Retry-After", str(secs))])
        return [header]

    # ------------------------------------------------------------------ ARM routing
    async def _arm_serve(self, req: HttpRequest, rec: RequestRecord) -> HttpResponse:
        with self.lock:
            principal = self._principal(req)
            rec.user = principal.name
            segs, low = _seg_lower(req.path)
            if low[:3] == ["providers", "microsoft.resourcegraph", "resources"]:
                return self._graph(req, principal)
            if "api-version" not in req.query:
                raise ArmError(400, "MissingApiVersionParameter",
                               "The api-version query parameter (?api-version=) is required for all requests.")
            if rec.subscription and rec.subscription.lower() in self.denied_subscriptions:
                raise self._authorization_failed(rec, principal, req.path)
            headers = self._throttle(rec, req.method)
            result = self._route(req, rec, segs, low)
        if asyncio.iscoroutine(result):
            result = await result
        assert isinstance(result, HttpResponse)
        result.headers.extend(headers)
        return result

    def _authorization_failed(self, rec: RequestRecord, principal: _Principal, path: str) -> ArmError:
        segs, low = _seg_lower(path)
        action = "Microsoft.Resources/subscriptions/read"
        if "providers" in low:
            i = len(low) - 1 - low[::-1].index("providers")
            rest = segs[i + 1:]
            typ = [rest[0]] + rest[1::2] if rest else []
            verb = {"read": "read", "write": "write", "delete": "delete"}.get(rec.verb or "", "action")
            action = "/".join(typ + [rec.operation if rec.operation and verb == "action" else verb])
        scope = "/" + "/".join(segs)
        oid = principal.object_id or principal.name
        return ArmError(403, "AuthorizationFailed",
                        f"The client '{principal.name}' with object id '{oid}' does not have authorization to "
                        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
                        "recently granted, please refresh your credentials.")

    def _route(self, req: HttpRequest, rec: RequestRecord, segs: list[str], low: list[str]) -> Any:
        if "microsoft.authorization" in low:
            i = low.index("microsoft.authorization")
            if low[i - 1] == "providers" and low[i + 1:i + 2] == ["roleassignments"]:
                scope = "/" + "/".join(segs[:i - 1])
                name = segs[i + 2] if len(segs) > i + 2 else None
                return self._role_assignments(req, scope if scope != "/" else "", name)
        if len(low) < 2 or low[0] != "subscriptions":
            raise ArmError(404, "NotFound", f"The requested path '{req.path}' is not served by the local ARM.")
        sub = segs[1]
        rg = segs[3] if len(low) > 3 and low[2] == "resourcegroups" else None
        rest = segs[4:] if rg else segs[2:]
        rlow = [s.lower() for s in rest]
        if len(rlow) >= 3 and rlow[0] == "providers":
            provider, rtype = rlow[1], rlow[2]
            name = rest[3] if len(rest) > 3 else None
            tail = rest[4:]
            tlow = rlow[4:]
            if provider == "microsoft.containerservice" and rtype == "managedclusters":
                return self._managed_clusters(req, sub, rg, name, tlow)
            if provider == "microsoft.containerservice" and rtype == "locations" and tlow[:1] == ["operations"] \
                    and len(tail) == 2 and req.method == "GET":
                return self._mc_operation(req, tail[1])
            if provider == "microsoft.managedidentity" and rtype == "userassignedidentities":
                return self._identities(req, sub, rg, name, tail, tlow)
            if provider == "microsoft.compute" and rtype == "virtualmachinescalesets":
                return self._vmss_route(req, sub, rg, name, tlow)
        if req.method == "GET":
            rid = req.path.lower().rstrip("/")
            for store in (self.managed_clusters, self.identities, self.vmss, self.role_assignments):
                if rid in store:
                    return _json(200, store[rid])
        raise ArmError(404, "ResourceNotFound", f"The Resource '{req.path}' was not found. For more details please "
                                                "go to https://aka.ms/ARMResourceNotFoundFix")

    def _page(self, req: HttpRequest, items: list[dict[str, Any]], top_param: str | None = None) -> HttpResponse:
        q = {k.lower(): v for k, v in req.query.items()}
        size = self.page_size
        if top_param and q.get(top_param):
            try:
                size = max(1, min(size, int(q[top_param])))
            except ValueError:
                pass
        start = 0
        if q.get("$skiptoken"):
            try:
                start = int(base64.urlsafe_b64decode(q["$skiptoken"] + "==").decode())
            except ValueError:
                raise ArmError(400, "InvalidSkipToken", "The skip token is invalid.") from None
        page = items[start:start + size]
        body: dict[str, Any] = {"value": page}
        if start + size < len(items):
            token = base64.urlsafe_b64encode(str(start + size).encode()).decode().rstrip("=")
            params = [(k, v) for k, v in req.query_list if k.lower() != "$skiptoken"]
            params.append(("$skiptoken", token))
            body["nextLink"] = self.url + quote(req.path) + "?" + "&".join(
                f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params)
        return _json(200, body)

    def _not_found(self, kind: str, name: str, rg: str | None) -> ArmError:
        where = f" under resource group '{rg}'" if rg else ""
        return ArmError(404, "ResourceNotFound", f"The Resource '{kind}/{name}'{where} was not found. For more "
                                                 "details please go to https://aka.ms/ARMResourceNotFoundFix")

    # managed clusters ---------------------------------------------------------------------
    def _managed_clusters(self, req: HttpRequest, sub: str, rg: str | None, name: str | None,
                          tail: list[str]) -> HttpResponse:
        def scope_ok(mid: str) -> bool:
            return _sub_of(mid).lower() == sub.lower() and (rg is None or (_rg_of(mid) or "").lower() == rg.lower())  # type: ignore[union-attr]
        if name is None:
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
            items = [mc for mid, mc in sorted(self.managed_clusters.items()) if scope_ok(mid)]
            return self._page(req, items)
        rid = f"/subscriptions/{sub}/resourcegroups/{rg}/providers/{MC_TYPE}/{name}".lower()
        mc = self.managed_clusters.get(rid)
        if mc is None:
            raise self._not_found(MC_TYPE, name, rg)
        if not tail:
            self._settle_mc_operations()
            mc = self.managed_clusters[rid]
            if req.method == "GET":
                return self._mc_response(200, rid, mc)
            if req.method == "PUT":
                return self._managed_cluster_put(req, rid, mc)
            raise ArmError(405, "MethodNotAllowed", "The local ARM serves GET and PUT on managed clusters (PATCH "
                                                    "updates only tags on AKS; it is not served).")
        if tail[0] in ("listclusterusercredential", "listclusteradmincredential") and req.method == "POST":
            return _json(200, {"kubeconfigs": [{"name": "clusterUser" if "user" in tail[0] else "clusterAdmin",
                                                "value": base64.b64encode(self._kubeconfig(mc).encode()).decode()}]})
        raise ArmError(404, "NotFound", "Unknown managed cluster operation.")

    # managed-cluster writes ---------------------------------------------------------------------
    def etag_of(self, cluster_id: str) -> str:
        rid = cluster_id.lower()
        if rid not in self.mc_etags:
            self.mc_etags[rid] = f'"{uuid.uuid5(uuid.NAMESPACE_URL, rid + "/0")}"'
        return self.mc_etags[rid]

    def _new_etag(self, rid: str) -> None:
        self.mc_etags[rid] = f'"{uuid.uuid4()}"'

    def _mc_response(self, status: int, rid: str, mc: dict[str, Any],
                     headers: list[tuple[str, str]] | None = None) -> HttpResponse:
        etag = self.etag_of(rid)
        return _json(status, {**mc, "eTag": etag.strip('"')}, [("ETag", etag), *(headers or [])])

    def managed_cluster_id(self, name: str) -> str:
        for rid, mc in self.managed_clusters.items():
            if mc.get("name") == name or rid == name.lower():
                return rid
        raise KeyError(name)

    def start_mc_operation(self, cluster: str, seconds: float, kind: str = "upgrade") -> str:
        """Start another long-running operation on a cluster (an upgrade, say): PUTs get 409 until it ends."""
        with self.lock:
            rid = self.managed_cluster_id(cluster)
            return self._start_op(rid, kind, seconds).id

    def _start_op(self, rid: str, kind: str, seconds: float) -> _McOperation:
        now = self.clock.monotonic()
        op = _McOperation(str(uuid.uuid4()), rid, kind, now, now + seconds,
                          self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"))
        self.mc_operations[op.id] = op
        mc = self.managed_clusters[rid]
        mc.setdefault("properties", {})["provisioningState"] = "Upgrading" if kind == "upgrade" else "Updating"
        self._new_etag(rid)
        return op

    def _running_op(self, rid: str) -> _McOperation | None:
        return next((o for o in self.mc_operations.values() if o.cluster_id == rid and o.status == "InProgress"),
                    None)

    def _settle_mc_operations(self) -> None:
        now = self.clock.monotonic()
        for op in list(self.mc_operations.values()):
            if op.status != "InProgress" or op.end > now:
                continue
            op.status = "Succeeded"
            mc = self.managed_clusters.get(op.cluster_id)
            if mc is None:
                continue
            mc.setdefault("properties", {})["provisioningState"] = "Succeeded"
            self._new_etag(op.cluster_id)
            if op.kind == "update":
                self._mirror_pod_identities(op.cluster_id, op.old_profile, op.new_profile)

    def _managed_cluster_put(self, req: HttpRequest, rid: str, mc: dict[str, Any]) -> HttpResponse:
        """PUT: If-Match against the ETag (412), 409 while an operation runs, else an update operation
        that completes ``mc_operation_seconds`` later on the clock (Azure-AsyncOperation to poll)."""
        if self.mc_put_hook is not None:
            self.mc_put_hook(self, rid)
            mc = self.managed_clusters[rid]
        running = self._running_op(rid)
        if running is not None:
            raise ArmError(409, "OperationNotAllowed",
                           f"Operation is not allowed because there's an in progress {running.kind} managed cluster "
                           f"operation on the managed cluster started at {running.started_at}. Please wait for it "
                           "to finish before starting a new operation.")
        if_match = req.header("if-match")
        if if_match and if_match.strip() != "*" and if_match.strip().strip('"') != self.etag_of(rid).strip('"'):
            raise ArmError(412, "PreconditionFailed",
                           f"Operation failed as the resource's eTag ({self.etag_of(rid)}) does not match the "
                           f"If-Match header ({if_match}): it was changed since it was read.")
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                         "deserialized.") from None
        if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
            raise ArmError(400, "InvalidRequestContent", "The request content has no properties.")
        old = copy.deepcopy(mc)
        props = {**(old.get("properties") or {}), **copy.deepcopy(body["properties"])}
        for key in ("fqdn", "azurePortalFQDN", "currentKubernetesVersion", "powerState", "nodeResourceGroup"):
            if key in (old.get("properties") or {}):
                props[key] = old["properties"][key]
        issuer = ((old.get("properties") or {}).get("oidcIssuerProfile") or {}).get("issuerURL")
        if issuer and isinstance(props.get("oidcIssuerProfile"), dict):
            props["oidcIssuerProfile"] = {**props["oidcIssuerProfile"], "issuerURL": issuer}
        new = {**old, "tags": body.get("tags", old.get("tags")), "properties": props}
        self.managed_clusters[rid] = new
        op = self._start_op(rid, "update", self.mc_operation_seconds)
        op.old_profile = (old.get("properties") or {}).get("podIdentityProfile")
        op.new_profile = props.get("podIdentityProfile")
        location = new.get("location", "eastus")
        sub = _sub_of(rid) or ""
        poll = (f"{self.url}/subscriptions/{sub}/providers/Microsoft.ContainerService/locations/{location}/"
                f"operations/{op.id}?api-version={req.query.get('api-version', '')}")
        self._settle_mc_operations()  # a zero-second operation completes at once
        return self._mc_response(200, rid, self.managed_clusters[rid],
                                 [("Azure-AsyncOperation", poll), ("Retry-After", "10")])

    def _mc_operation(self, req: HttpRequest, op_id: str) -> HttpResponse:
        self._settle_mc_operations()
        op = self.mc_operations.get(op_id.lower()) or next(
            (o for o in self.mc_operations.values() if o.id.lower() == op_id.lower()), None)
        if op is None:
            raise ArmError(404, "NotFound", f"Operation {op_id} not found.")
        out: dict[str, Any] = {"name": op.id, "status": op.status, "startTime": op.started_at}
        if op.status != "InProgress":
            out["endTime"] = self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        return _json(200, out, [("Retry-After", "10")] if op.status == "InProgress" else [])

    def _mirror_pod_identities(self, rid: str, old: Any, new: Any) -> None:
        """The add-on materializes its pod identities as AzureIdentity/AzureIdentityBinding objects (and its
        exceptions as AzurePodIdentityExceptions): reflect a profile change in the attached cluster."""
        if self.kube is None:
            return
        kname = self.kube_names.get(rid)
        if kname not in self.kube.clusters:
            return
        c = self.kube.clusters[kname]
        old, new = old or {}, new or {}
        if not new.get("enabled"):
            new = {**new, "userAssignedIdentities": [], "userAssignedIdentityExceptions": []}

        def keyed(profile: dict[str, Any], field: str) -> dict[tuple[str, str], dict[str, Any]]:
            return {(e.get("namespace", ""), e.get("name", "")): e for e in profile.get(field) or []}

        before, after = keyed(old, "userAssignedIdentities"), keyed(new, "userAssignedIdentities")
        group = "aadpodidentity.k8s.io/v1"
        for (ns, name) in before.keys() - after.keys():
            for kind, obj in (("azureidentitybindings", f"{name}-binding"), ("azureidentities", name)):
                if c.get(kind, ns, obj) is not None:
                    c.remove(kind, ns, obj)
        for (ns, name) in after.keys() - before.keys():
            e = after[(ns, name)]
            ident = e.get("identity") or {}
            c.add({"apiVersion": group, "kind": "AzureIdentity", "metadata": {"name": name, "namespace": ns},
                   "spec": {"type": 0, "resourceID": ident.get("resourceId"), "clientID": ident.get("clientId")}})
            c.add({"apiVersion": group, "kind": "AzureIdentityBinding",
                   "metadata": {"name": f"{name}-binding", "namespace": ns},
                   "spec": {"azureIdentity": name, "selector": e.get("bindingSelector") or name}})
        ebefore, eafter = keyed(old, "userAssignedIdentityExceptions"), keyed(new, "userAssignedIdentityExceptions")
        for (ns, name) in ebefore.keys() - eafter.keys():
            if c.get("azurepodidentityexceptions", ns, name) is not None:
                c.remove("azurepodidentityexceptions", ns, name)
        for (ns, name) in eafter.keys() - ebefore.keys():
            c.add({"apiVersion": group, "kind": "AzurePodIdentityException",
                   "metadata": {"name": name, "namespace": ns},
                   "spec": {"podLabels": dict(eafter[(ns, name)].get("podLabels") or {})}})

    def _kubeconfig(self, mc: dict[str, Any]) -> str:
        import yaml

        kname = self.kube_names.get(mc["id"].lower(), mc["name"])
        if self.kube is not None and kname in self.kube.clusters:
            return self.kube.kubeconfig_yaml([kname])
        fqdn = (mc.get("properties") or {}).get("fqdn") or f"{mc['name']}.hcp.{mc.get('location')}.azmk8s.io"
        return yaml.safe_dump({"apiVersion": "v1", "kind": "Config",
                               "clusters": [{"name": mc["name"], "cluster": {"server": f"https://{fqdn}:443"}}],
                               "users": [{"name": f"clusterUser_{mc['name']}", "user": {"token": "unused"}}],
                               "contexts": [{"name": mc["name"], "context": {"cluster": mc["name"],
                                                                            "user": f"clusterUser_{mc['name']}"}}],
                               "current-context": mc["name"]}, sort_keys=False)

    # VMSS -------------------------------------------------------------------------------------
    def _vmss_route(self, req: HttpRequest, sub: str, rg: str | None, name: str | None,
                    tail: list[str]) -> HttpResponse:
        if req.method != "GET" or tail:
            raise ArmError(405, "MethodNotAllowed", "The local ARM serves scale sets read-only.")
        if name is None:
            items = [v for vid, v in sorted(self.vmss.items()) if (_sub_of(vid) or "").lower() == sub.lower()
                     and (rg is None or (_rg_of(vid) or "").lower() == rg.lower())]
            return self._page(req, items)
        rid = f"/subscriptions/{sub}/resourcegroups/{rg}/providers/{VMSS_TYPE}/{name}".lower()
        if rid not in self.vmss:
            raise self._not_found(VMSS_TYPE, name, rg)
        return _json(200, self.vmss[rid])

    # identities and federated credentials -----------------------------------------------------------
    def _identities(self, req: HttpRequest, sub: str, rg: str | None, name: str | None, tail: list[str],
                    tlow: list[str]) -> Any:
        if name is None:
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
            items = [i for iid, i in sorted(self.identities.items()) if (_sub_of(iid) or "").lower() == sub.lower()
                     and (rg is None or (_rg_of(iid) or "").lower() == rg.lower())]
            return self._page(req, items)
        rid = f"/subscriptions/{sub}/resourcegroups/{rg}/providers/{UAMI_TYPE}/{name}".lower()
        ident = self.identities.get(rid)
        if not tlow:
            if req.method == "GET":
                if ident is None:
                    raise self._not_found(UAMI_TYPE, name, rg)
                return _json(200, ident)
            if req.method == "PUT":
                body = self._body(req)
                created = ident is None
                new = {"id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/{UAMI_TYPE}/{name}", "name": name,
                       "type": UAMI_TYPE, "location": body.get("location") or (ident or {}).get("location", "eastus"),
                       "tags": body.get("tags") or {}, "properties": {
                           **((ident or {}).get("properties") or {"tenantId": self.tenant_id,
                                                                  "principalId": str(uuid.uuid4()),
                                                                  "clientId": str(uuid.uuid4()),
                                                                  "isolationScope": "None"})}}
                self.identities[rid] = new
                self.fics.setdefault(rid, {})
                return _json(201 if created else 200, new)
            if req.method == "DELETE":
                if ident is None:
                    return HttpResponse(204, b"")
                del self.identities[rid]
                self.fics.pop(rid, None)
                return HttpResponse(200, b"")
            raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
        if tlow[0] != "federatedidentitycredentials":
            raise ArmError(404, "NotFound", "Unknown identity sub-resource.")
        if ident is None:
            raise ArmError(404, "ParentResourceNotFound", "The parent user-assigned identity doesn't exist.")
        fics = self.fics.setdefault(rid, {})
        fic_name = tail[1] if len(tail) > 1 else None
        if fic_name is None:
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
            return self._page(req, [f.body for _k, f in sorted(fics.items())], top_param="$top")
        if req.method == "GET":
            f = fics.get(fic_name.lower())
            if f is None:
                raise self._not_found(FIC_TYPE, f"{name}/{fic_name}", rg)
            return _json(200, f.body)
        if req.method == "PUT":
            return self._fic_put(req, rid, ident, fic_name)
        if req.method == "DELETE":
            return self._fic_delete(rid, fic_name)
        raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")

    def _body(self, req: HttpRequest) -> dict[str, Any]:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                                                         "deserialized.") from None
        if not isinstance(body, dict):
            raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
        return body

    def _concurrent(self, rid: str) -> ArmError:
        return ArmError(409, "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
                        "Too many Federated Identity Credentials are written concurrently for the managed identity "
                        f"{self.identities.get(rid, {}).get('id', rid)}.")

    def _fic_put(self, req: HttpRequest, rid: str, ident: dict[str, Any], fic_name: str) -> Any:
        if (ident.get("location") or "").lower().replace(" ", "") in _FIC_UNSUPPORTED_REGIONS:
            raise ArmError(405, "MethodNotAllowed", "Support for federated identity credentials not enabled for "
                                                    f"region '{ident.get('location')}'.")
        if not _FIC_NAME.match(fic_name):
            raise ArmError(400, "BadRequest", f"Federated Identity Credential name '{fic_name}' is invalid.")
        body = self._body(req)
        props = body.get("properties")
        if not isinstance(props, dict) or not props:
            raise ArmError(400, "BadRequest", "Federated Identity Credential from HTTP body has empty properties.")
        issuer, subject, auds = props.get("issuer"), props.get("subject"), props.get("audiences")
        if not issuer or not isinstance(issuer, str):
            raise ArmError(400, "BadRequest", "Federated Identity Credential issuer is required.")
        if not subject or not isinstance(subject, str):
            raise ArmError(400, "BadRequest", "Federated Identity Credential subject is required.")
        if not isinstance(auds, list) or len(auds) != 1 or not isinstance(auds[0], str) or not auds[0]:
            raise ArmError(400, "BadRequest", "Federated Identity Credential must have exactly one audience.")
        for label, v in (("issuer", issuer), ("subject", subject), ("audience", auds[0])):
            if len(v) > 600:
                raise ArmError(400, "BadRequest", f"Federated Identity Credential {label} exceeds 600 characters.")
        if "*" in issuer or "*" in subject:
            raise ArmError(400, "BadRequest", "Wildcard characters are not supported in Federated Identity "
                                              "Credential properties.")
        if rid in self._busy:
            raise self._concurrent(rid)
        fics = self.fics.setdefault(rid, {})
        existing = fics.get(fic_name.lower())
        for k, f in fics.items():
            p = f.body.get("properties") or {}
            if k != fic_name.lower() and p.get("issuer") == issuer and p.get("subject") == subject:
                raise ArmError(400, "BadRequest", "Issuer and subject combination already exists for this Managed "
                                                  "Identity.")
        if existing is None and len(fics) >= FIC_LIMIT:
            raise ArmError(400, "BadRequest", f"Too many Federated Identity Credentials are written to Managed "
                                              f"Identity '{ident.get('id')}'. The maximum number of Federated "
                                              f"Identity Credentials per Managed Identity is {FIC_LIMIT}.")
        new = {"id": f"{ident['id']}/federatedIdentityCredentials/{existing.body['name'] if existing else fic_name}",
               "name": existing.body["name"] if existing else fic_name, "type": FIC_TYPE,
               "properties": {"issuer": issuer, "subject": subject, "audiences": list(auds)}}
        self._busy.add(rid)

        async def _finish() -> HttpResponse:
            try:
                if self.fic_write_seconds > 0:
                    await asyncio.sleep(self.fic_write_seconds)
                with self.lock:
                    created = self.clock.monotonic()
                    keep = fics.get(fic_name.lower())
                    same = keep is not None and (keep.body.get("properties") or {}) == new["properties"]
                    fics[fic_name.lower()] = _Fic(new, keep.created if same and keep else created)
            finally:
                with self.lock:
                    self._busy.discard(rid)
            return _json(200 if existing is not None else 201, new)

        return _finish()

    def _fic_delete(self, rid: str, fic_name: str) -> Any:
        if rid in self._busy:
            raise self._concurrent(rid)
        fics = self.fics.setdefault(rid, {})
        if fic_name.lower() not in fics:
            return HttpResponse(204, b"")
        self._busy.add(rid)

        async def _finish() -> HttpResponse:
            try:
                if self.fic_write_seconds > 0:
                    await asyncio.sleep(self.fic_write_seconds)
                with self.lock:
                    fics.pop(fic_name.lower(), None)
            finally:
                with self.lock:
                    self._busy.discard(rid)
            return HttpResponse(200, b"")

        return _finish()

    # role assignments ---------------------------------------------------------------------------
    def _role_assignments(self, req: HttpRequest, scope: str, name: str | None) -> HttpResponse:
        if name is None:
            if req.method != "GET":
                raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
            flt = req.query.get("$filter", "")
            at_scope = "atscope()" in flt.lower()
            m = re.search(r"principalId\s+eq\s+'([^']+)'", flt, re.I)
            pid = m.group(1).lower() if m else None
            m2 = re.search(r"assignedTo\('([^']+)'\)", flt, re.I)
            if m2:
                pid = m2.group(1).lower()
            s = scope.lower().rstrip("/")
            out = []
            for ra in sorted(self.role_assignments.values(), key=lambda r: r["id"].lower()):
                p = ra.get("properties") or {}
                rs = (p.get("scope") or "").lower().rstrip("/")
                above = s == rs or s.startswith(rs + "/") or rs == ""
                below = rs.startswith(s + "/")
                if not (above or (below and not at_scope)):
                    continue
                if pid and (p.get("principalId") or "").lower() != pid:
                    continue
                out.append(ra)
            return self._page(req, out)
        rid = f"{scope}/providers/{RA_TYPE}/{name}".lower()
        if req.method == "GET":
            if rid not in self.role_assignments:
                raise ArmError(404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found.")
            return _json(200, self.role_assignments[rid])
        if req.method == "PUT":
            props = self._body(req).get("properties") or {}
            for ra in self.role_assignments.values():
                p = ra.get("properties") or {}
                if (p.get("scope", "").lower() == scope.lower() and p.get("principalId") == props.get("principalId")
                        and (p.get("roleDefinitionId") or "").lower() == (props.get("roleDefinitionId") or "").lower()
                        and ra["id"].lower() != rid):
                    raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
            body = {"id": f"{scope}/providers/{RA_TYPE}/{name}", "name": name, "type": RA_TYPE,
                    "properties": {"roleDefinitionId": props.get("roleDefinitionId"),
                                   "principalId": props.get("principalId"),
                                   "principalType": props.get("principalType", "ServicePrincipal"), "scope": scope}}
            created = rid not in self.role_assignments
            self.role_assignments[rid] = body
            return _json(201 if created else 200, body)
        if req.method == "DELETE":
            ra = self.role_assignments.pop(rid, None)
            return _json(200, ra) if ra else HttpResponse(204, b"")
        raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")

    # Resource Graph ---------------------------------------------------------------------------------
    def _graph_rows(self, subs: set[str] | None) -> dict[str, list[dict[str, Any]]]:
        def row(r: dict[str, Any]) -> dict[str, Any]:
            rid = r["id"]
            return {"id": rid, "name": r.get("name"), "type": (r.get("type") or "").lower(),
                    "tenantId": self.tenant_id, "kind": r.get("kind", ""), "location": r.get("location", ""),
                    "resourceGroup": (_rg_of(rid) or "").lower(), "subscriptionId": _sub_of(rid) or "",
                    "managedBy": r.get("managedBy", ""), "sku": r.get("sku"), "plan": r.get("plan"),
                    "properties": r.get("properties") or {}, "tags": r.get("tags") or {},
                    "identity": r.get("identity"), "zones": r.get("zones"),
                    "extendedLocation": r.get("extendedLocation")}
        res = [row(r) for store in (self.managed_clusters, self.identities, self.vmss) for r in store.values()]
        for r in res:
            if r["id"].lower() in self.graph_partial:
                r["properties"] = {}
        auth = [row(r) for r in self.role_assignments.values() if _sub_of(r["id"])]
        known = {r["subscriptionId"].lower(): r["subscriptionId"] for r in res}
        known.update({s: s for s in self.subscription_names if s not in known})
        containers = [{"id": f"/subscriptions/{sid}", "name": self.subscription_names.get(low, sid),
                       "type": "microsoft.resources/subscriptions", "tenantId": self.tenant_id, "kind": "",
                       "location": "", "resourceGroup": "", "subscriptionId": sid, "managedBy": "", "sku": None,
                       "plan": None, "properties": {"state": "Enabled"}, "tags": {}, "identity": None,
                       "zones": None, "extendedLocation": None} for low, sid in known.items()]
        if subs is not None:
            res = [r for r in res if r["subscriptionId"].lower() in subs]
            auth = [r for r in auth if r["subscriptionId"].lower() in subs]
            containers = [r for r in containers if r["subscriptionId"].lower() in subs]
        if self.denied_subscriptions:
            res, auth, containers = ([r for r in rows if r["subscriptionId"].lower() not in self.denied_subscriptions]
                                     for rows in (res, auth, containers))
        res.sort(key=lambda r: r["id"].lower())
        auth.sort(key=lambda r: r["id"].lower())
        containers.sort(key=lambda r: r["id"].lower())
        return {"resources": res, "authorizationresources": auth, "resourcecontainers": containers}

    def _graph(self, req: HttpRequest, principal: _Principal) -> HttpResponse:
        if req.method != "POST":
            raise ArmError(405, "MethodNotAllowed", "Resource Graph queries are POSTed.")
        quota, window = self.graph_quota
        now = self.clock.monotonic()
        w = self._graph_windows.setdefault(principal.name, _QuotaWindow())
        if w.start < 0 or now - w.start >= window:
            w.start, w.used = now, 0
        resets = max(0.0, window - (now - w.start))
        resets_s = time.strftime("%H:%M:%S", time.gmtime(math.ceil(resets)))
        if self.graph_throttle and w.used >= quota:
            return _json(429, {"error": {"code": "RateLimiting", "message": "Please provide below info when asking "
                                         "for support: timestamp = " + self.clock.now().isoformat() +
                                         ", correlationId = " + str(uuid.uuid4()) + ".",
                                         "details": [{"code": "RateLimiting", "message": "Client application has "
                                                      "been throttled and should not attempt to repeat the request "
                                                      "until an amount of time has elapsed. Please see "
                                                      "https://aka.ms/resourcegraph-throttling for help."}]}},
                         [("x-ms-user-quota-remaining", "0"), ("x-ms-user-quota-resets-after", resets_s)])
        w.used += 1
        headers = [("x-ms-user-quota-remaining", str(max(0, quota - w.used))),
                   ("x-ms-user-quota-resets-after", resets_s)]
        body = self._body(req)
        subs = body.get("subscriptions")
        sub_set = {s.lower() for s in subs} if isinstance(subs, list) and subs else None
        groups = body.get("managementGroups")
        if isinstance(groups, list) and groups:
            sub_set = set(sub_set or set()) if sub_set is not None else set()
            for g in groups:
                if str(g).lower() not in self.management_groups:
                    raise ArmError(403, "AuthorizationFailed",
                                   f"The client '{principal.name}' does not have authorization to perform action "
                                   "'Microsoft.Management/managementGroups/read' over scope '/providers/"
                                   f"Microsoft.Management/managementGroups/{g}' or the scope is invalid.", headers)
                sub_set |= self.management_groups[str(g).lower()]
        if self.graph_denied == "forbid" and sub_set and sub_set & self.denied_subscriptions:
            raise ArmError(403, "AccessDenied", "Please provide below info when asking for support: timestamp = "
                                                f"{self.clock.now().isoformat()}. Access is denied to the requested "
                                                "resource. The user might not have enough permission.", headers)
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            raise ArmError(400, "BadRequest", "Please provide a query.", headers)
        try:
            rows = run_query(query, self._graph_rows(sub_set))
        except KqlError as exc:
            raise ArmError(400, "BadRequest", f"Please provide below info when asking for support: ... "
                                              f"InvalidQuery: {exc}", headers) from None
        opts = body.get("options") or {}
        top = int(opts.get("$top") or 100)
        top = max(1, min(top, 1000))
        skip = int(opts.get("$skip") or 0)
        if opts.get("$skipToken"):
            try:
                skip = int(base64.urlsafe_b64decode(opts["$skipToken"] + "==").decode())
            except ValueError:
                raise ArmError(400, "BadRequest", "Invalid $skipToken.", headers) from None
        page = rows[skip:skip + top]
        fmt = opts.get("resultFormat", "objectArray")
        data: Any = page
        if fmt == "table":
            cols = sorted({k for r in page for k in r})
            data = {"columns": [{"name": c, "type": "object"} for c in cols],
                    "rows": [[r.get(c) for c in cols] for r in page]}
        out: dict[str, Any] = {"totalRecords": len(rows), "count": len(page), "data": data, "facets": [],
                               "resultTruncated": "false"}
        if skip + top < len(rows):
            out["$skipToken"] = base64.urlsafe_b64encode(str(skip + top).encode()).decode().rstrip("=")
        return _json(200, out, headers)

    # ------------------------------------------------------------------ Entra (AAD)
    def _aad_serve(self, req: HttpRequest, rec: RequestRecord) -> HttpResponse:
        segs, low = _seg_lower(req.path)
        base = self._aad.url
        if len(low) >= 3 and low[-2:] == ["openid-configuration"] or low[-3:] == ["v2.0", ".well-known",
                                                                                  "openid-configuration"]:
            tenant = segs[0]
            return _json(200, {
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/{tenant}/v2.0", "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "id_token_signing_alg_values_supported": ["RS256"], "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com"})
        if low[-2:] == ["discovery", "instance"]:
            return _json(200, {"tenant_discovery_endpoint": f"{base}/common/v2.0/.well-known/openid-configuration",
                               "api-version": "1.1", "metadata": [{"preferred_network": req.listener.host,
                                                                   "preferred_cache": req.listener.host,
                                                                   "aliases": [req.listener.host]}]})
        if low[-3:] == ["discovery", "v2.0", "keys"]:
            return _json(200, self.aad_key.jwks())
        if low[-3:] == ["oauth2", "v2.0", "token"] and req.method == "POST":
            return self._token(req, segs[0])
        return _json(404, {"error": "not_found", "error_description": "AADSTS90002: unknown endpoint"})

    def _aad_error(self, status: int, error: str, code: int, description: str) -> HttpResponse:
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        ts = self.clock.now().strftime("%Y-%m-%d %H:%M:%SZ")
        return _json(status, {"error": error, "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
                                                                    f"Correlation ID: {corr} Timestamp: {ts}",
                              "error_codes": [code], "timestamp": ts, "trace_id": trace, "correlation_id": corr,
                              "error_uri": f"{self._aad.url}/error?code={code}"})

    def _issuer_key(self, issuer: str) -> Any:
        if issuer in self._issuers:
            return self._issuers[issuer]()
        if self.kube is not None:
            for c in self.kube.clusters.values():
                if c.issuer == issuer:
                    return c.key.public_key
        return None

    def _token(self, req: HttpRequest, tenant: str) -> HttpResponse:
        form = dict(parse_qsl(req.body.decode(), keep_blank_values=True))
        grant = form.get("grant_type")
        if grant != "client_credentials":
            return self._aad_error(400, "unsupported_grant_type", 70003,
                                   f"The app requested an unsupported grant type '{grant}'.")
        client_id = form.get("client_id", "")
        ident = self.identity_by_client_id(client_id) if client_id else None
        tenant_ok = tenant.lower() in ("organizations", "common") or ident is None or \
            (ident.get("properties") or {}).get("tenantId", self.tenant_id).lower() == tenant.lower()
        if ident is None or not tenant_ok:
            return self._aad_error(400, "unauthorized_client", 700016,
                                   f"Application with identifier '{client_id}' was not found in the directory "
                                   f"'{tenant}'. This can happen if the application has not been installed by the "
                                   "administrator of the tenant or consented to by any user in the tenant.")
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" or \
                not assertion:
            return self._aad_error(401, "invalid_client", 7000218,
                                   "The request body must contain the following parameter: 'client_assertion' or "
                                   "'client_secret'.")
        try:
            _h, claims = decode_unverified(assertion)
        except TokenError:
            return self._aad_error(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
        iss, sub = claims.get("iss", ""), claims.get("sub", "")
        aud = claims.get("aud") or []
        aud = [aud] if isinstance(aud, str) else list(aud)
        now = self.clock.now().timestamp()
        fics = [f for f in self.fics.get(ident["id"].lower(), {}).values()
                if self.clock.monotonic() - f.created >= self.fic_propagation_seconds]
        matching = [f for f in fics if (f.body.get("properties") or {}).get("issuer") == iss
                    and (f.body.get("properties") or {}).get("subject") == sub]
        if not matching:
            return self._aad_error(400, "invalid_request", 70021,
                                   "No matching federated identity record found for presented assertion. "
                                   f"Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: "
                                   f"'{','.join(aud)}'. https://docs.microsoft.com/azure/active-directory/develop/"
                                   "workload-identity-federation")
        fic_auds = {a for f in matching for a in (f.body.get("properties") or {}).get("audiences") or []}
        if not fic_auds & set(aud):
            return self._aad_error(400, "invalid_request", 700212,
                                   f"No matching federated identity record found for presented assertion audience "
                                   f"'{','.join(aud)}'.")
        key = self._issuer_key(iss)
        if key is None:
            return self._aad_error(401, "invalid_client", 50166,
                                   f"Request to External OIDC endpoint failed. Issuer '{iss}' is not reachable "
                                   "from the local token endpoint (attach the KubeServer or call trust_issuer).")
        try:
            verify(assertion, key)
        except TokenError:
            return self._aad_error(401, "invalid_client", 700027, "Client assertion failed signature validation.")
        if claims.get("exp", 0) < now or claims.get("nbf", 0) > now + 300:
            return self._aad_error(401, "invalid_client", 700024, "Client assertion is not within its valid time "
                                                                  "range.")
        scope = form.get("scope", "https://management.azure.com/.default")
        resource = scope.split()[0]
        if resource.endswith("/.default"):
            resource = resource[: -len("/.default")]
        iat = int(now)
        props = ident.get("properties") or {}
        at_claims = {"aud": resource, "iss": f"https://sts.windows.net/{tenant}/", "iat": iat, "nbf": iat,
                     "exp": iat + 86399, "appid": client_id, "appidacr": "2", "idtyp": "app",
                     "oid": props.get("principalId"), "sub": props.get("principalId"), "tid": tenant,
                     "xms_mirid": ident["id"], "uti": str(uuid.uuid4()), "ver": "1.0",
                     "xms_fic": {"iss": iss, "sub": sub}}
        self.issued.append(at_claims)
        token = self.aad_key.sign(at_claims, typ="JWT")
        return _json(200, {"token_type": "Bearer", "expires_in": 86399, "ext_expires_in": 86399,
                           "access_token": token})
