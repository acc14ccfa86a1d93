"""The local Kubernetes API server: many clusters on 127.0.0.1, reached through a generated
kubeconfig exactly the way the official ``kubernetes`` client reaches AKS.

Clusters are addressed either by path prefix on the main port (``https://127.0.0.1:P/clusters/<name>``,
the default) or by a port of their own (``port_per_cluster=True`` / ``add_cluster(..., own_port=True)``);
a generated kubeconfig hides the difference.  See ``docs/testing.md``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import os
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Iterable

from ._http import DROP, HttpRequest, HttpResponse, LoopThread
from .faults import FaultAction, FaultSet, RequestLog, RequestRecord
from .kube_admission import UserInfo
from .kube_errors import KubeError, status_body
from .kube_store import ClusterState, Table
from .kube_types import ResourceType, TypeRegistry, api_group, api_resource_list, by_plural, crd_object
from .pki import TestPKI
from .snapshot import ClusterSnapshot, load_cluster, load_fleet

if TYPE_CHECKING:
    from migrator.clock import Clock

__all__ = ["KubeServer", "DEFAULT_TENANT"]

DEFAULT_TENANT = "b6c948ef-f6b5-4384-8354-da3a15eca969"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_ANON_PATHS = {"/version", "/healthz", "/livez", "/readyz", "/.well-known/openid-configuration", "/openid/v1/jwks"}
_JSON = "application/json"


def _json(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, json.dumps(obj, separators=(",", ":")).encode(), headers)


def _err(e: KubeError) -> HttpResponse:
    return _json(e.code, e.body(), list(e.headers.items()))


def _tenant_from_issuer(issuer: str | None) -> str | None:
    if not issuer:
        return None
    for part in issuer.split("/"):
        if _GUID.match(part):
            return part
    return None


def _max_rv(objs: Iterable[dict[str, Any]]) -> int:
    m = 0
    for o in objs:
        try:
            m = max(m, int((o.get("metadata") or {}).get("resourceVersion") or 0))
        except (TypeError, ValueError):
            pass
    return m


class _Route:
    __slots__ = ("group", "version", "namespace", "plural", "name", "sub")

    def __init__(self, group: str, version: str, namespace: str | None, plural: str, name: str | None,
                 sub: str | None) -> None:
        self.group, self.version, self.namespace, self.plural, self.name, self.sub = \
            group, version, namespace, plural, name, sub


def parse_resource_path(path: str) -> _Route | None:
    segs = [s for s in path.split("/") if s]
    if len(segs) >= 3 and segs[0] == "api" and segs[1] == "v1":
        group, version, rest = "", "v1", segs[2:]
    elif len(segs) >= 4 and segs[0] == "apis":
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    ns = None
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and rest[2] in ("status", "finalize")):
        ns, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return _Route(group, version, ns, rest[0], rest[1] if len(rest) > 1 else None, rest[2] if len(rest) > 2 else None)


def _verb(method: str, route: _Route, query: dict[str, str]) -> str:
    if method in ("GET", "HEAD"):
        if route.name is None:
            return "watch" if query.get("watch") in ("true", "1") else "list"
        return "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete" if route.name is not None else "deletecollection"}.get(method, method.lower())


class KubeServer:
    """Serve one or many clusters.  Use as a context manager or call :meth:`stop`."""

    def __init__(self, clock: "Clock | None" = None, *, tls: bool = True, pki: TestPKI | None = None,
                 port_per_cluster: bool = False, host: str = "127.0.0.1", continue_ttl: float = 300.0,
                 record_requests: bool = True, max_records: int | None = None,
                 kubernetes_version: str = "1.33.2") -> None:
        if clock is None:
            from migrator.clock import SystemClock

            clock = SystemClock()
        self.clock = clock
        self.lock = threading.RLock()
        self.tls = tls
        self.pki = pki or (TestPKI() if tls else None)
        self.host = host
        self.port_per_cluster = port_per_cluster
        self.continue_ttl = continue_ttl
        self.kubernetes_version = kubernetes_version
        #: AZURE_AUTHORITY_HOST the webhook injects into pods of clusters added from now on
        #: (``ArmServer.attach_kube`` points it at the local Entra endpoint).
        self.authority_host = "https://login.microsoftonline.com/"
        self.faults = FaultSet()
        self.log = RequestLog(record_requests, max_records)
        self.clusters: dict[str, ClusterState] = {}
        self._profiles: dict[str, tuple[dict[tuple[str, str], Table], TypeRegistry, int]] = {}
        self._loop = LoopThread("kube-server")
        self._ssl = self.pki.server_context() if (tls and self.pki) else None
        self._main = self._loop.listen("kube", self._handle, host, 0, self._ssl, {})
        self._hang: asyncio.Event = self._loop.run(self._new_event())
        self._stopped = False

    async def _new_event(self) -> asyncio.Event:
        return asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> "KubeServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._loop.stop()

    @property
    def url(self) -> str:
        """Base URL of the main port (clusters live under ``/clusters/<name>``)."""
        return self._main.url

    @property
    def ca_path(self) -> str | None:
        return self.pki.ca_path if self.pki else None

    @property
    def requests(self) -> list[RequestRecord]:
        return self.log.records

    # ------------------------------------------------------------------ clusters
    def add_cluster(self, name: str, snapshot: str | ClusterSnapshot | None = None, *,
                    objects: Iterable[dict[str, Any]] | None = None, issuer: str | None = None,
                    tenant_id: str | None = None, managed_cluster: dict[str, Any] | None = None,
                    token: str | None = None, own_port: bool | None = None, kubernetes_version: str | None = None,
                    node_count: int = 3, share: bool = True) -> ClusterState:
        """Add a cluster from a snapshot folder (``<root>/<cluster>``) and/or a list of objects.

        Clusters loaded from the same folder share their tables copy-on-write (``share=False``
        gives each its own copy).  ``issuer`` defaults to the snapshot's
        ``oidcIssuerProfile.issuerURL``, else a synthetic AKS-style URL.
        """
        snap = load_cluster(snapshot, name) if isinstance(snapshot, str) else snapshot
        mc = managed_cluster or (snap.managed_cluster if snap else None)
        if issuer is None:
            from .snapshot import issuer_of

            issuer = issuer_of(mc)
            if issuer is None and mc is not None:
                issuer = "https://kubernetes.default.svc.cluster.local"  # OIDC issuer off: the in-cluster issuer
            elif issuer is None:
                issuer = (f"https://eastus.oic.prod-aks.azure.com/{tenant_id or DEFAULT_TENANT}/"
                          f"{uuid.uuid5(uuid.NAMESPACE_DNS, name)}/")
        tenant_id = tenant_id or _tenant_from_issuer(issuer) or DEFAULT_TENANT
        version = kubernetes_version or self.kubernetes_version
        if mc:
            props = mc.get("properties") or mc
            v = props.get("currentKubernetesVersion") or props.get("kubernetesVersion")
            if kubernetes_version is None and isinstance(v, str) and v.count(".") >= 1:
                version = v
        with self.lock:
            if name in self.clusters:
                raise ValueError(f"cluster {name!r} already exists")
            tables, types, rv = self._tables_for(snap, share)
            c = ClusterState(name, self.clock, self.lock, issuer=issuer, tenant_id=tenant_id,
                             kubernetes_version=version, types=types, tables=tables, rv=rv,
                             managed_cluster=mc, token=token, continue_ttl=self.continue_ttl, node_count=node_count)
            if objects:
                objs = list(objects)
                for o in objs:  # CRDs first so custom objects find their type
                    if o.get("kind") == "CustomResourceDefinition":
                        c._add(o)
                for o in objs:
                    t = by_plural(o.get("kind", "")) if o.get("kind") else None
                    if t is not None and not t.builtin and c.types.get(t.group, t.version, t.plural) is None:
                        c._add(crd_object(t))
                    if o.get("kind") != "CustomResourceDefinition":
                        c._add(o)
            for ns in ("default", "kube-system"):
                c.ensure_namespace(ns)
            c.webhook.authority_host = self.authority_host
            self.clusters[name] = c
            if own_port or (own_port is None and self.port_per_cluster):
                c.listener = self._loop.listen("kube", self._handle, self.host, 0, self._ssl, {"cluster": name})
                c.url = c.listener.url
            else:
                c.url = f"{self.url}/clusters/{name}"
            return c

    def _tables_for(self, snap: ClusterSnapshot | None, share: bool
                    ) -> tuple[dict[tuple[str, str], Table], TypeRegistry, int]:
        if snap is None:
            return {}, TypeRegistry.builtin(), 1000
        prof = self._profiles.get(snap.path) if share else None
        if prof is None:
            prof = self._build_profile(snap)
            if share:
                self._profiles[snap.path] = prof
        tables, types, rv = prof
        if share:
            return {k: tb for k, tb in tables.items()}, types.copy(), rv
        return {k: tb.clone() for k, tb in tables.items()}, types.copy(), rv

    def _build_profile(self, snap: ClusterSnapshot) -> tuple[dict[tuple[str, str], Table], TypeRegistry, int]:
        """Load a snapshot into fresh tables (through a throwaway ClusterState)."""
        scratch = ClusterState("_profile", self.clock, self.lock, issuer="https://unused/", tenant_id=None)
        all_objs = [o for objs in snap.kube.values() for o in objs]
        scratch.rv = max(1000, _max_rv(all_objs))
        for o in snap.kube.get("customresourcedefinitions", []):
            scratch._add(o)
        for plural in sorted(snap.kube):
            t = by_plural(plural)
            if t is not None and not t.builtin and scratch.types.find(f"{t.plural}.{t.group}") is None:
                crd = crd_object(t)
                seen = sorted({o["apiVersion"].split("/", 1)[1] for o in snap.kube[plural]
                               if str(o.get("apiVersion", "")).startswith(t.group + "/")} - {t.version})
                crd["spec"]["versions"] += [{"name": v, "served": True, "storage": False} for v in seen]
                scratch._add(crd)
        namespaces = {(o.get("metadata") or {}).get("namespace") for o in all_objs} - {None, ""}
        for o in snap.kube.get("namespaces", []):
            scratch._add(o)
        for ns in sorted(namespaces | {"default", "kube-system"}):
            scratch.ensure_namespace(ns)
        for plural, objs in snap.kube.items():
            if plural in ("customresourcedefinitions", "namespaces"):
                continue
            for o in objs:
                if o.get("kind") == "CustomResourceDefinition":
                    continue
                meta = o.get("metadata") or {}
                t = scratch.types.find(o.get("kind", plural)) or scratch.types.find(plural)
                if t is None:
                    continue
                obj = copy.deepcopy(o)
                rv_keep = meta.get("resourceVersion")
                scratch._fill_defaults(t, obj)
                if t.namespaced and not obj["metadata"].get("namespace"):
                    obj["metadata"]["namespace"] = "default"
                ns = obj["metadata"]["namespace"] if t.namespaced else ""
                tb = scratch._table(t, write=True)
                if rv_keep:
                    obj["metadata"]["resourceVersion"] = str(rv_keep)
                else:
                    scratch.rv += 1
                    obj["metadata"]["resourceVersion"] = str(scratch.rv)
                tb.objects[(ns, obj["metadata"]["name"])] = obj
                tb.version = max(tb.version, scratch.rv)
        for tb in scratch.tables.values():
            tb.shared = True
            tb.version = max(tb.version, 1)
        return scratch.tables, scratch.types, scratch.rv + 1

    def add_fleet(self, fleet_path: str, names: Iterable[str] | None = None, **kw: Any) -> list[ClusterState]:
        """Add every cluster of a fleet.yaml (or only ``names``) from its snapshot folder."""
        wanted = set(names) if names is not None else None
        out = []
        for e in load_fleet(fleet_path):
            if wanted is not None and e.name not in wanted:
                continue
            opts = dict(kw)
            if e.tenant_id:
                opts.setdefault("tenant_id", e.tenant_id)
            out.append(self.add_cluster(e.name, e.snapshot if e.snapshot and os.path.isdir(e.snapshot) else None,
                                        **opts))
        return out

    def cluster(self, name: str) -> ClusterState:
        return self.clusters[name]

    def __getitem__(self, name: str) -> ClusterState:
        return self.clusters[name]

    def remove_cluster(self, name: str) -> None:
        with self.lock:
            c = self.clusters.pop(name)
        if c.listener is not None:
            self._loop.close_listener(c.listener)

    def set_down(self, name: str, down: bool = True) -> None:
        """Take a cluster down: its own port (if any) refuses connections; on the shared port every
        request to it gets its connection dropped without an answer."""
        c = self.clusters[name]
        if c.down == down:
            return
        c.down = down
        if c.listener is not None:
            if down:
                self._loop.close_listener(c.listener)
            else:
                self._loop.reopen_listener(c.listener)

    def release_hangs(self) -> None:
        """Let hanging requests finish (their connections are dropped)."""
        old = self._hang
        self._hang = self._loop.run(self._new_event())
        self._loop.loop.call_soon_threadsafe(old.set)

    # ------------------------------------------------------------------ kubeconfig
    def kubeconfig(self, clusters: Iterable[str] | None = None, current: str | None = None,
                   user_token: dict[str, str] | None = None) -> dict[str, Any]:
        """A kubeconfig dict with one context per cluster (context name = cluster name)."""
        names = list(clusters) if clusters is not None else list(self.clusters)
        kc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {},
                              "clusters": [], "users": [], "contexts": []}
        for n in names:
            c = self.clusters[n]
            cl: dict[str, Any] = {"server": c.url}
            if self.pki and self.tls:
                cl["certificate-authority-data"] = self.pki.ca_data_b64
            kc["clusters"].append({"name": n, "cluster": cl})
            user = f"clusterUser_{n}"
            kc["users"].append({"name": user, "user": {"token": (user_token or {}).get(n, c.token)}})
            kc["contexts"].append({"name": n, "context": {"cluster": n, "user": user}})
        if names:
            kc["current-context"] = current or names[0]
        return kc

    def kubeconfig_yaml(self, clusters: Iterable[str] | None = None, **kw: Any) -> str:
        import yaml

        return yaml.safe_dump(self.kubeconfig(clusters, **kw), sort_keys=False)

    def write_kubeconfig(self, path: str | os.PathLike[str], clusters: Iterable[str] | None = None,
                         **kw: Any) -> str:
        p = os.fspath(path)
        with open(p, "w") as fh:
            fh.write(self.kubeconfig_yaml(clusters, **kw))
        return p

    def api_client(self, name: str, retries: Any = None) -> Any:
        """A ``kubernetes.client.ApiClient`` for one cluster (built from the generated kubeconfig)."""
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config_from_dict(self.kubeconfig([name]), context=name, client_configuration=cfg)
        if retries is not None:
            cfg.retries = retries
        return client.ApiClient(cfg)

    # ------------------------------------------------------------------ HTTP
    def _record(self, req: HttpRequest) -> tuple[RequestRecord, str | None, str]:
        cluster = req.listener.context.get("cluster")
        path = req.path
        if cluster is None and path.startswith("/clusters/"):
            rest = path[len("/clusters/"):]
            cluster, _, tail = rest.partition("/")
            path = "/" + tail
        rec = RequestRecord(service="kube", method=req.method, path=path, query=req.query, raw_path=req.target,
                            cluster=cluster, clock_time=self.clock.monotonic())
        rec.content_type = req.header("content-type")
        route = parse_resource_path(path)
        if route is not None:
            rec.verb = _verb(req.method, route, req.query)
            rec.group, rec.version, rec.resource = route.group, route.version, route.plural
            rec.namespace, rec.name, rec.subresource = route.namespace, route.name, route.sub
            rec.mutating = rec.verb in ("create", "update", "patch", "delete", "deletecollection") and not (
                route.sub == "token" or route.plural in ("selfsubjectaccessreviews", "selfsubjectreviews",
                                                         "tokenreviews", "subjectaccessreviews"))
        rec.dry_run = bool(req.query.get("dryRun"))
        if req.method in ("POST", "PUT", "PATCH", "DELETE") and req.body:
            rec.body = req.body
        return rec, cluster, path

    async def _handle(self, req: HttpRequest) -> Any:
        rec, cluster_name, path = self._record(req)
        self.log.append(rec)
        t0 = time.monotonic()
        try:
            c = self.clusters.get(cluster_name) if cluster_name else None
            if c is not None and c.down:
                rec.status = 0
                return DROP
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
                resp = self._fault_response(action, rec, c, req)
            else:
                with self.lock:
                    resp = self._serve(req, rec, c, cluster_name, path)
            rec.status = resp.status
            return resp
        finally:
            rec.duration = time.monotonic() - t0

    def _fault_response(self, action: FaultAction, rec: RequestRecord, c: ClusterState | None,
                        req: HttpRequest) -> HttpResponse:
        code = int(action.status or 500)
        headers = list(action.headers.items())
        if action.retry_after is not None:
            headers.append(("Retry-After", str(int(math.ceil(action.retry_after)))))
        if isinstance(action.body, (bytes, bytearray)):
            return HttpResponse(code, bytes(action.body), headers)
        if isinstance(action.body, dict):
            return _json(code, action.body, headers)
        message = action.message
        details: dict[str, Any] | None = None
        if message is None:
            if code == 403 and c is not None and rec.resource:
                with self.lock:
                    user = c.authenticate(req.header("authorization")) or UserInfo("system:anonymous")
                    t = c.types.find(f"{rec.resource}.{rec.group}" if rec.group else rec.resource) or \
                        ResourceType(rec.group or "", rec.version or "v1", rec.resource, rec.resource, True)
                    err = c.rbac_error(user, rec.verb or "get", t, rec.namespace, rec.name)
                message, details = err.message, err.details
            elif code == 429:
                message = "Too many requests, please try again later."
                details = {"retryAfterSeconds": int(math.ceil(action.retry_after or 1))}
            elif code == 500:
                message = "Internal error occurred: injected fault"
            elif code == 503:
                message = "the server is currently unable to handle the request"
            elif code == 504:
                message = "Timeout: request did not complete within requested timeout - context deadline exceeded"
            else:
                message = f"injected fault {code}"
        return _json(code, status_body(code, action.reason, message, details), headers)

    def _serve(self, req: HttpRequest, rec: RequestRecord, c: ClusterState | None, cluster_name: str | None,
               path: str) -> HttpResponse:
        if c is None:
            return _json(404, status_body(404, "NotFound", f'cluster "{cluster_name}" is not served here'
                                          if cluster_name else "the server could not find the requested resource",
                                          {}))
        c.reconcile()
        path = path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return HttpResponse(200, b"ok", content_type="text/plain; charset=utf-8")
        if path == "/.well-known/openid-configuration":
            return _json(200, c.openid_configuration())
        if path == "/openid/v1/jwks":
            return _json(200, c.jwks())
        user = c.authenticate(req.header("authorization"))
        if user is None and path not in _ANON_PATHS:
            return _json(401, status_body(401, "Unauthorized", "Unauthorized"))
        rec.user = user.name if user else "system:anonymous"
        if path == "/version":
            major, minor, *_ = (c.kubernetes_version + ".0.0").split(".")
            return _json(200, {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
                               "gitVersion": f"v{c.kubernetes_version}", "gitCommit": "0" * 40,
                               "gitTreeState": "clean", "buildDate": "2025-06-01T00:00:00Z", "goVersion": "go1.24.4",
                               "compiler": "gc", "platform": "linux/amd64"})
        if path in ("/api", "/api/"):
            return _json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.host}:443"}]})
        if path in ("/apis", "/apis/"):
            groups = [api_group(g, vs) for g, vs in sorted(c.types.groups().items())]
            return _json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if path in ("/api/v1", "/api/v1/"):
            return _json(200, api_resource_list("v1", c.types.in_group_version("", "v1")))
        segs = [s for s in path.split("/") if s]
        if len(segs) == 2 and segs[0] == "apis":
            vs = c.types.groups().get(segs[1])
            if not vs:
                return _json(404, status_body(404, "NotFound", "the server could not find the requested resource", {}))
            return _json(200, {"kind": "APIGroup", "apiVersion": "v1", **api_group(segs[1], vs)})
        if len(segs) == 3 and segs[0] == "apis":
            ts = c.types.in_group_version(segs[1], segs[2])
            if not ts:
                return _json(404, status_body(404, "NotFound", "the server could not find the requested resource", {}))
            return _json(200, api_resource_list(f"{segs[1]}/{segs[2]}", ts))
        route = parse_resource_path(path)
        if route is None:
            return _json(404, status_body(404, "NotFound", "the server could not find the requested resource", {}))
        try:
            return self._resource(req, rec, c, route, user)  # type: ignore[arg-type]
        except KubeError as exc:
            return _err(exc)

    def _resource(self, req: HttpRequest, rec: RequestRecord, c: ClusterState, route: _Route,
                  user: UserInfo) -> HttpResponse:
        t = c.types.get(route.group, route.version, route.plural)
        not_found = KubeError(404, "NotFound", "the server could not find the requested resource", {})
        if t is None:
            raise not_found
        if route.namespace is not None and not t.namespaced:
            raise not_found
        if route.sub is not None and route.sub not in t.subresources:
            raise not_found
        verb = rec.verb or "get"
        q = req.query
        ns = route.namespace
        c.authorize(user, verb, t, ns, route.name)
        dry = c._check_dry_run(q) if req.method in ("POST", "PUT", "PATCH", "DELETE") else False
        if verb in ("list", "watch"):
            if req.method == "HEAD":
                return HttpResponse(200, b"")
            body, gz = c.list_body(t, ns if t.namespaced else None, q,
                                   "gzip" in (req.header("accept-encoding") or ""))
            headers = [("Content-Encoding", "gzip")] if gz else []
            return HttpResponse(200, body, headers)
        if verb == "get":
            obj = c.read(t, ns, route.name)  # type: ignore[arg-type]
            if route.sub == "log":
                return HttpResponse(200, c.pod_log(ns or "", route.name or "", obj, q).encode(),
                                    [("Content-Type", "text/plain")])
            if route.sub == "scale":
                return _json(200, c.scale(t, obj))
            return _json(200, obj)
        body_obj = None
        if req.body and verb != "patch":
            try:
                body_obj = json.loads(req.body)
            except ValueError:
                if verb in ("create", "update"):
                    try:
                        import yaml

                        body_obj = yaml.safe_load(req.body.decode())
                    except Exception:  # noqa: BLE001
                        raise KubeError(400, "BadRequest", "the request body is not valid JSON or YAML") from None
        if verb == "create":
            if route.name is not None and route.sub != "token":
                raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                         "resource")
            if route.sub == "token":
                return _json(201, c.token_request(ns or "", route.name or "", body_obj, user, dry))
            if t.plural == "selfsubjectaccessreviews":
                return _json(201, c.access_review(body_obj, user))
            if t.namespaced and ns is None:
                raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested "
                                                         "resource")
            return _json(201, c.create(t, ns, body_obj, user, dry))
        if verb == "update":
            if route.sub == "scale":
                return self._scale_write(c, t, ns, route.name, body_obj, None, user, dry)  # type: ignore[arg-type]
            return _json(200, c.update(t, ns, route.name, body_obj, user, dry, route.sub))  # type: ignore[arg-type]
        if verb == "patch":
            ct = req.header("content-type") or ""
            if route.sub == "scale":
                return self._scale_write(c, t, ns, route.name, None, (req.body, ct), user, dry)  # type: ignore
            code, obj = c.patch(t, ns, route.name, req.body, ct, user, dry, route.sub,  # type: ignore[arg-type]
                                q.get("fieldManager"))
            return _json(code, obj)
        if verb == "delete":
            return _json(200, c.delete(t, ns, route.name, body_obj, user, dry))  # type: ignore[arg-type]
        if verb == "deletecollection":
            objs = json.loads(c.list_body(t, ns if t.namespaced else None,
                                          {k: v for k, v in q.items() if k in ("labelSelector", "fieldSelector")},
                                          False)[0])["items"]
            for o in objs:
                c.delete(t, (o.get("metadata") or {}).get("namespace") or ns, o["metadata"]["name"], None, user, dry)
            return _json(200, {"kind": t.list_kind, "apiVersion": t.api_version, "metadata": {}, "items": objs})
        raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _scale_write(self, c: ClusterState, t: ResourceType, ns: str | None, name: str, body: Any,
                     patch: tuple[bytes, str] | None, user: UserInfo, dry: bool) -> HttpResponse:
        obj = c.read(t, ns, name)
        scale = c.scale(t, obj)
        if patch is not None:
            from .kube_patch import json_merge_patch, json_patch

            raw, ct = patch
            p = json.loads(raw or b"null")
            scale = json_patch(scale, p) if "json-patch" in ct else json_merge_patch(scale, p)
        else:
            scale = body or {}
        replicas = int(((scale or {}).get("spec") or {}).get("replicas", 0))
        new = copy.deepcopy(obj)
        new.setdefault("spec", {})["replicas"] = replicas
        new["metadata"]["resourceVersion"] = obj["metadata"].get("resourceVersion")
        updated = c._replace(t, ns, name, obj, new, user, dry, None)
        return _json(200, c.scale(t, updated))
