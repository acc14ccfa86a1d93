"""One cluster's state and the API semantics on top of it.

Objects are plain dicts and are never mutated once stored: every write stores a new dict.  That
lets clusters loaded from the same snapshot folder share their tables copy-on-write (a table is
cloned — a shallow dict copy — on a cluster's first write to it), and lets list pages be
serialised once per table version and reused by every cluster that shares the table.
"""

from __future__ import annotations

import base64
import bisect
import copy
import gzip
import json
import random
import re
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .kube_admission import (
    ADMIN,
    CONTROLLER,
    NamespaceProtection,
    UserInfo,
    WebhookConfig,
    sa_user,
    serviceaccount_admission,
    wi_mutate_pod,
)
from .kube_errors import KubeError, already_exists, bad_request, conflict, invalid, not_found
from .kube_patch import PatchError, json_merge_patch, json_patch, strategic_merge_patch
from .kube_selectors import SelectorError, parse_field_selector, parse_label_selector
from .kube_types import ResourceType, TypeRegistry, types_from_crd
from .tokens import SigningKey, TokenError, decode_unverified, verify

if TYPE_CHECKING:
    from migrator.clock import Clock

__all__ = ["ClusterState", "Table", "RolloutConfig", "GZIP_THRESHOLD"]

GZIP_THRESHOLD = 128 * 1024
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SEP = (",", ":")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=_SEP).encode()


@dataclass
class RolloutConfig:
    """How workload rollouts progress on the cluster's clock.

    ``seconds_per_pod=0``: a rollout completes as soon as the template changes.  ``>0``: one new
    pod becomes ready every that many clock seconds.  ``stuck=True``: the rollout starts (new
    ReplicaSet / revision, first new pod created) but never becomes ready.
    """

    seconds_per_pod: float = 0.0
    stuck: bool = False


class Table:
    __slots__ = ("objects", "version", "shared", "snap")

    def __init__(self, objects: dict[tuple[str, str], dict[str, Any]] | None = None, version: int = 0,
                 shared: bool = False) -> None:
        self.objects = objects if objects is not None else {}
        self.version = version
        self.shared = shared
        self.snap: ListSnapshot | None = None

    def clone(self) -> "Table":
        t = Table(dict(self.objects), self.version, False)
        return t


class ListSnapshot:
    """A table frozen at one version: sorted keys, lazily serialised items, a page cache."""

    __slots__ = ("version", "keys", "objs", "labels", "items", "pages", "strip")

    def __init__(self, table: Table, builtin: bool) -> None:
        self.version = table.version
        self.keys = sorted(table.objects)
        self.objs = [table.objects[k] for k in self.keys]
        self.labels = [((o.get("metadata") or {}).get("labels") or {}) for o in self.objs]
        self.items: list[bytes] | None = None
        self.pages: dict[tuple[Any, ...], tuple[bytes, bytes | None]] = {}
        self.strip = builtin

    def item_bytes(self) -> list[bytes]:
        if self.items is None:
            if self.strip:
                self.items = [_dumps({k: v for k, v in o.items() if k != "kind" and k != "apiVersion"})
                              for o in self.objs]
            else:
                self.items = [_dumps(o) for o in self.objs]
        return self.items


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return obj.setdefault("metadata", {})


def _encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=_SEP).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = json.loads(raw)
        if d.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
        return int(d["rv"]), str(d["start"])
    except Exception as exc:  # noqa: BLE001
        raise bad_request(f"continue key is not valid: {exc}") from None


def _key_str(key: tuple[str, str], namespaced: bool) -> str:
    return (f"{key[0]}/{key[1]}" if namespaced else key[1]) + "\x00"


def _key_from_str(s: str, namespaced: bool) -> tuple[str, str]:
    s = s.rstrip("\x00")
    if namespaced:
        ns, _, name = s.partition("/")
        return (ns, name + "\x00")
    return ("", s + "\x00")


class ClusterState:
    """A cluster: tables of objects, served types, users, webhook, policies, rollouts."""

    def __init__(self, name: str, clock: "Clock", lock: threading.RLock, *, issuer: str, tenant_id: str | None,
                 kubernetes_version: str = "1.33.2", types: TypeRegistry | None = None,
                 tables: dict[tuple[str, str], Table] | None = None, rv: int = 1000,
                 managed_cluster: dict[str, Any] | None = None, token: str | None = None,
                 continue_ttl: float = 300.0, node_count: int = 3) -> None:
        from .kube_controllers import Controllers

        self.name = name
        self.clock = clock
        self.lock = lock
        self.issuer = issuer
        self.tenant_id = tenant_id
        self.kubernetes_version = kubernetes_version
        self.types = types or TypeRegistry.builtin()
        self.tables: dict[tuple[str, str], Table] = tables if tables is not None else {}
        self.rv = rv
        self.managed_cluster = managed_cluster
        self.token = token or f"test-token-{name}"
        self.tokens: dict[str, UserInfo] = {self.token: ADMIN}
        self.key = SigningKey()
        self.api_audiences = [issuer]
        self.webhook = WebhookConfig(tenant_id=tenant_id)
        self.protection: NamespaceProtection | None = None
        self.rollout = RolloutConfig()
        self.rollout_overrides: dict[tuple[str, str, str], RolloutConfig] = {}
        self.continue_ttl = continue_ttl
        self.list_started: dict[tuple[tuple[str, str], int], tuple[float, ListSnapshot]] = {}
        self.denials: list[tuple[str, set[str] | None, str | None, str | None]] = []
        self.node_names = [f"aks-nodepool1-12345678-vmss{i:06d}" for i in range(node_count)]
        self.down = False
        self.controllers = Controllers()
        #: container logs served at ``pods/<name>/log``: (namespace, pod) -> [(clock time, container, line)]
        self.pod_logs: dict[tuple[str, str], list[tuple[Any, str | None, str]]] = {}
        self.listener: Any = None
        self.url: str = ""

    # ------------------------------------------------------------------ test-facing helpers
    def _type(self, resource: str) -> ResourceType:
        t = self.types.find(resource)
        if t is None:
            raise KeyError(f"unknown resource {resource!r} in cluster {self.name}")
        return t

    def unserve(self, resource: str) -> None:
        """Stop serving a kind, built-in ones too (an API this cluster's version lacks): its URLs answer 404."""
        with self.lock:
            t = self._type(resource)
            self.types = self.types.copy()  # the registry may be shared with other clusters
            del self.types.types[(t.group, t.version, t.plural)]

    def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """A deep copy of one stored object (``resource``: plural, ``plural.group`` or kind)."""
        with self.lock:
            t = self._type(resource)
            tb = self.tables.get(t.key)
            obj = tb.objects.get((namespace or "" if t.namespaced else "", name)) if tb else None
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            self.reconcile()
            t = self._type(resource)
            tb = self.tables.get(t.key)
            if not tb:
                return []
            return [copy.deepcopy(o) for k, o in sorted(tb.objects.items()) if namespace is None or k[0] == namespace]

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object directly (no admission, no controllers).  Fills uid, timestamps,
        resourceVersion; registers CRDs; creates the namespace if missing."""
        with self.lock:
            return self._add(obj)

    def add_all(self, objs: list[dict[str, Any]]) -> None:
        with self.lock:
            for o in objs:
                self._add(o)

    def remove(self, resource: str, namespace: str | None, name: str) -> None:
        with self.lock:
            t = self._type(resource)
            self._remove(t, namespace or "", name)

    def set_rollout(self, seconds_per_pod: float = 0.0, stuck: bool = False, *, resource: str | None = None,
                    namespace: str | None = None, name: str | None = None) -> None:
        """Default rollout speed, or for one workload (``resource``/``namespace``/``name``)."""
        cfg = RolloutConfig(seconds_per_pod, stuck)
        with self.lock:
            if resource is None:
                self.rollout = cfg
            else:
                self.rollout_overrides[(self._type(resource).kind, namespace or "", name or "")] = cfg

    def rollout_for(self, kind: str, namespace: str, name: str) -> RolloutConfig:
        return self.rollout_overrides.get((kind, namespace, name), self.rollout)

    def protect_namespaces(self, namespaces: list[str] | set[str], install_objects: bool = True,
                           **kw: Any) -> NamespaceProtection:
        """Turn on AKS Automatic's system-namespace policy (and store its VAP + binding)."""
        with self.lock:
            self.protection = NamespaceProtection(set(namespaces), **kw)
            if install_objects:
                for o in self.protection.objects():
                    self._add(o)
            return self.protection

    def add_token(self, token: str, user: str, groups: list[str] | None = None) -> None:
        self.tokens[token] = UserInfo(user, list(groups or ["system:authenticated"]))

    def add_service_account_token(self, token: str, namespace: str, name: str) -> None:
        u = sa_user(namespace, name)
        self.tokens[token] = u

    def forbid(self, resource: str, verbs: list[str] | str | None = None, namespace: str | None = None,
               user: str | None = None) -> None:
        """RBAC-style denial: matching requests get 403 (and SelfSubjectAccessReview says no)."""
        vs = {verbs} if isinstance(verbs, str) else (set(verbs) if verbs else None)
        self.denials.append((resource, vs, namespace, user))

    def issue_token(self, namespace: str, service_account: str, audiences: list[str] | None = None,
                    expiration_seconds: int = 3600) -> str:
        """Mint a service-account JWT as TokenRequest would (the SA need not exist)."""
        with self.lock:
            sa = self._get_obj(self._type("serviceaccounts"), namespace, service_account)
            uid = (sa or {}).get("metadata", {}).get("uid") or str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                                              f"{namespace}/{service_account}"))
            return self._sign_sa_token(namespace, service_account, uid, audiences or ["api://AzureADTokenExchange"],
                                       expiration_seconds)[0]

    def add_pod_log(self, namespace: str, pod: str, line: str, *, at: Any = None, container: str | None = None
                    ) -> None:
        """Append a log line to a pod (``at``: a datetime, default the clock's now)."""
        with self.lock:
            self.pod_logs.setdefault((namespace, pod), []).append((at or self.clock.now(), container, line))

    def pod_log(self, namespace: str, pod: str, obj: dict[str, Any], query: dict[str, str]) -> str:
        """``GET pods/<name>/log``: ``sinceTime`` (RFC 3339), ``sinceSeconds``, ``container``, ``tailLines``."""
        import datetime as _dt

        lines = self.pod_logs.get((namespace, pod), [])
        names = [c.get("name") for c in (obj.get("spec") or {}).get("containers") or []]
        container = query.get("container")
        if container is None and len(names) > 1:
            raise bad_request(f"a container name must be specified for pod {pod}, choose one of: {names}")
        if container is not None and container not in names:
            raise bad_request(f"container {container} is not valid for pod {pod}")
        since: Any = None
        if query.get("sinceTime"):
            try:
                since = _dt.datetime.fromisoformat(query["sinceTime"].replace("Z", "+00:00"))
            except ValueError:
                raise bad_request(f"invalid sinceTime: {query['sinceTime']!r}") from None
        elif query.get("sinceSeconds"):
            since = self.clock.now() - _dt.timedelta(seconds=float(query["sinceSeconds"]))
        out = [line for at, c, line in lines if (since is None or at >= since) and (c is None or container is None
                                                                                  or c == container)]
        if query.get("tailLines"):
            out = out[-int(query["tailLines"]):]
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)

    def jwks(self) -> dict[str, Any]:
        return self.key.jwks()

    def openid_configuration(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "jwks_uri": self.issuer.rstrip("/") + "/openid/v1/jwks",
                "response_types_supported": ["id_token"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]}

    # ------------------------------------------------------------------ internals
    def now_str(self) -> str:
        return self.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _table(self, t: ResourceType, write: bool = False) -> Table:
        tb = self.tables.get(t.key)
        if tb is None:
            tb = Table(version=self.rv)
            self.tables[t.key] = tb
        elif write and tb.shared:
            tb = tb.clone()
            self.tables[t.key] = tb
        return tb

    def _get_obj(self, t: ResourceType, ns: str | None, name: str) -> dict[str, Any] | None:
        tb = self.tables.get(t.key)
        if tb is None:
            return None
        return tb.objects.get(((ns or "") if t.namespaced else "", name))

    def get_sa(self, ns: str, name: str) -> dict[str, Any] | None:
        return self._get_obj(self.types.find("serviceaccounts"), ns, name)  # type: ignore[arg-type]

    def _store(self, t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        self.rv += 1
        meta = _meta(obj)
        meta["resourceVersion"] = str(self.rv)
        ns = meta.get("namespace", "") if t.namespaced else ""
        tb = self._table(t, write=True)
        tb.objects[(ns, meta["name"])] = obj
        tb.version = self.rv
        tb.snap = None
        return obj

    def _remove(self, t: ResourceType, ns: str, name: str) -> dict[str, Any] | None:
        tb = self._table(t, write=True)
        obj = tb.objects.pop((ns if t.namespaced else "", name), None)
        if obj is not None:
            self.rv += 1
            tb.version = self.rv
            tb.snap = None
            self._after_delete(t, obj)
        return obj

    def _fill_defaults(self, t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("apiVersion", t.api_version)
        obj.setdefault("kind", t.kind)
        meta = _meta(obj)
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", self.now_str())
        if "spec" in obj and t.kind not in ("Pod",):
            meta.setdefault("generation", 1)
        return obj

    def _add(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj = copy.deepcopy(obj)
        t = self.types.find(obj.get("kind", "")) if obj.get("kind") else None
        if t is None or (obj.get("apiVersion") and obj["apiVersion"] != t.api_version
                         and not any(tt.kind == obj["kind"] and tt.api_version == obj["apiVersion"]
                                     for tt in self.types.types.values())):
            # look it up by apiVersion + kind among registered types
            for tt in self.types.types.values():
                if tt.kind == obj.get("kind") and tt.api_version == obj.get("apiVersion"):
                    t = tt
                    break
        if t is None:
            raise KeyError(f"no served type for {obj.get('apiVersion')}/{obj.get('kind')} in cluster {self.name}")
        self._fill_defaults(t, obj)
        ns = _meta(obj).get("namespace")
        if t.namespaced:
            if not ns:
                ns = _meta(obj)["namespace"] = "default"
            self.ensure_namespace(ns)
        self._store(t, obj)
        self._after_write(t, None, obj, controllers=False)
        return obj

    def ensure_namespace(self, ns: str) -> None:
        nst = self.types.find("namespaces")
        assert nst is not None
        if self._get_obj(nst, None, ns) is None:
            self._store(nst, self._fill_defaults(nst, {
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}))
            self._after_write(nst, None, self._get_obj(nst, None, ns), controllers=False)  # type: ignore[arg-type]

    def _after_write(self, t: ResourceType, old: dict[str, Any] | None, new: dict[str, Any],
                     controllers: bool = True) -> None:
        if t.plural == "customresourcedefinitions" and t.group == "apiextensions.k8s.io":
            for ct in types_from_crd(new):
                self.types.add(ct)
        elif t.plural == "namespaces" and t.group == "" and old is None:
            sat = self.types.find("serviceaccounts")
            name = new["metadata"]["name"]
            if sat is not None and self._get_obj(sat, name, "default") is None:
                self._store(sat, self._fill_defaults(sat, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                          "metadata": {"name": "default", "namespace": name}}))
        if controllers:
            self.controllers.on_change(self, t, old, new)

    def _after_delete(self, t: ResourceType, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        if t.plural == "customresourcedefinitions" and t.group == "apiextensions.k8s.io":
            spec = obj.get("spec") or {}
            plural, group = (spec.get("names") or {}).get("plural"), spec.get("group")
            if plural and group:
                self.types.remove_group_plural(group, plural)
                self.tables.pop((group, plural), None)
            return
        if t.plural == "namespaces" and t.group == "":
            ns = meta.get("name")
            for key in list(self.tables):
                tb = self.tables[key]
                doomed = [k for k in tb.objects if k[0] == ns]
                if doomed:
                    tb = self._table_by_key(key)
                    for k in doomed:
                        tb.objects.pop(k, None)
                    self.rv += 1
                    tb.version = self.rv
                    tb.snap = None
            return
        uid = meta.get("uid")
        if uid:
            self._cascade(uid, meta.get("namespace", ""))
        self.controllers.on_delete(self, t, obj)

    def _table_by_key(self, key: tuple[str, str]) -> Table:
        tb = self.tables[key]
        if tb.shared:
            tb = tb.clone()
            self.tables[key] = tb
        return tb

    def _cascade(self, owner_uid: str, ns: str) -> None:
        """Background garbage collection of objects owned by ``owner_uid``."""
        for t in list({tt.key: tt for tt in self.types.types.values()}.values()):
            tb = self.tables.get(t.key)
            if not tb or not t.namespaced:
                continue
            owned = [k for k, o in tb.objects.items() if k[0] == ns and any(
                r.get("uid") == owner_uid for r in (o.get("metadata") or {}).get("ownerReferences") or [])]
            for k in owned:
                self._remove(t, k[0], k[1])

    def reconcile(self) -> None:
        self.controllers.reconcile(self)

    # ------------------------------------------------------------------ auth
    def authenticate(self, authorization: str | None) -> UserInfo | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization[7:].strip()
        user = self.tokens.get(token)
        if user is not None:
            return user
        if token.count(".") == 2:
            try:
                _h, claims = decode_unverified(token)
                if claims.get("iss") != self.issuer:
                    return None
                claims = verify(token, self.key.public_key)
            except TokenError:
                return None
            aud = claims.get("aud") or []
            aud = [aud] if isinstance(aud, str) else aud
            if not set(aud) & set(self.api_audiences):
                return None
            if claims.get("exp", 0) < self.clock.now().timestamp():
                return None
            k = claims.get("kubernetes.io") or {}
            return sa_user(k.get("namespace", ""), (k.get("serviceaccount") or {}).get("name", ""))
        return None

    def authorize(self, user: UserInfo, verb: str, t: ResourceType, ns: str | None, name: str | None) -> None:
        for resource, verbs, dns, duser in self.denials:
            if resource not in (t.plural, t.qualified, t.kind):
                continue
            if verbs is not None and verb not in verbs:
                continue
            if dns is not None and dns != ns:
                continue
            if duser is not None and duser != user.name:
                continue
            raise self.rbac_error(user, verb, t, ns, name)

    def rbac_error(self, user: UserInfo, verb: str, t: ResourceType, ns: str | None, name: str | None) -> KubeError:
        subject = f'{t.qualified} "{name}"' if name else t.qualified
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        return KubeError(403, "Forbidden", f'{subject} is forbidden: User "{user.name}" cannot {verb} resource '
                                           f'"{t.plural}" in API group "{t.group}" {scope}',
                         {"name": name, "group": t.group, "kind": t.plural} if name else
                         {"group": t.group, "kind": t.plural})

    # ------------------------------------------------------------------ reads
    def read(self, t: ResourceType, ns: str | None, name: str) -> dict[str, Any]:
        obj = self._get_obj(t, ns, name)
        if obj is None:
            raise not_found(t.qualified, name, t.group, t.plural)
        return obj

    def list_body(self, t: ResourceType, ns: str | None, query: dict[str, str],
                  accept_gzip: bool) -> tuple[bytes, bool]:
        """Return (body, gzipped) for a LIST."""
        if query.get("watch") in ("true", "1"):
            raise bad_request("watch is not supported by the local test API server")
        try:
            lsel = query.get("labelSelector", "")
            fsel = query.get("fieldSelector", "")
            lmatch = parse_label_selector(lsel)
            fmatch = parse_field_selector(fsel, t.plural, t.builtin)
        except SelectorError as exc:
            raise bad_request(str(exc)) from None
        limit = 0
        if query.get("limit"):
            try:
                limit = max(0, int(query["limit"]))
            except ValueError:
                raise bad_request(f"invalid limit: {query['limit']!r}") from None
        rv_param = query.get("resourceVersion", "")
        if rv_param == "0":
            limit = 0  # served from the watch cache: limit is ignored, no continue
        tb = self._table(t)
        now = self.clock.monotonic()
        start: tuple[str, str] | None = None
        cont = query.get("continue", "")
        if cont:
            rv, start_s = _decode_continue(cont)
            start = _key_from_str(start_s, t.namespaced)
            if rv == -1:
                snap = self._snapshot(t, tb)
            else:
                entry = self.list_started.get((t.key, rv))
                if entry is None or now - entry[0] > self.continue_ttl:
                    self.list_started.pop((t.key, rv), None)
                    raise KubeError(410, "Expired",
                                    "The provided continue parameter is too old to display a consistent list result. "
                                    "You can start a new list without the continue parameter, or use the continue "
                                    "token in this response to retrieve the remainder of the results. Continuing "
                                    "with the provided token results in an inconsistent list - objects that were "
                                    "created, modified, or deleted between the time the first chunk was returned "
                                    "and now may show up in the list.",
                                    metadata={"continue": _encode_continue(-1, start_s)})
                snap = entry[1]
        else:
            snap = self._snapshot(t, tb)
            if limit:
                for k in [k for k, (ts, _s) in self.list_started.items() if now - ts > self.continue_ttl]:
                    del self.list_started[k]
                self.list_started[(t.key, snap.version)] = (now, snap)
        page_key = (ns if t.namespaced else None, lsel, fsel, limit, start)
        cached = snap.pages.get(page_key)
        if cached is None:
            body = self._build_page(t, snap, page_key[0], lmatch, fmatch, bool(lsel or fsel), limit, start)
            cached = (body, None)
            if len(snap.pages) > 256:
                snap.pages.clear()
            snap.pages[page_key] = cached
        body, gz = cached
        if accept_gzip and len(body) > GZIP_THRESHOLD:
            if gz is None:
                gz = gzip.compress(body, compresslevel=1)
                snap.pages[page_key] = (body, gz)
            return gz, True
        return body, False

    def _snapshot(self, t: ResourceType, tb: Table) -> ListSnapshot:
        if tb.snap is None or tb.snap.version != tb.version:
            tb.snap = ListSnapshot(tb, t.builtin)
        return tb.snap

    def _build_page(self, t: ResourceType, snap: ListSnapshot, ns: str | None, lmatch: Callable[..., bool],
                    fmatch: Callable[..., bool], selective: bool, limit: int,
                    start: tuple[str, str] | None) -> bytes:
        keys = snap.keys
        lo, hi = 0, len(keys)
        if ns is not None:
            lo = bisect.bisect_left(keys, (ns, ""))
            hi = bisect.bisect_left(keys, (ns + "\x00", ""))
        if start is not None:
            lo = max(lo, bisect.bisect_left(keys, start))
        items = snap.item_bytes()
        picked: list[bytes] = []
        last = None
        i = lo
        while i < hi:
            if (not selective) or (lmatch(snap.labels[i]) and fmatch(snap.objs[i])):
                picked.append(items[i])
                last = i
                if limit and len(picked) >= limit:
                    i += 1
                    break
            i += 1
        meta: dict[str, Any] = {"resourceVersion": str(snap.version)}
        if limit and len(picked) >= limit and i < hi and last is not None:
            meta["continue"] = _encode_continue(snap.version, _key_str(keys[last], t.namespaced))
            if not selective:
                meta["remainingItemCount"] = hi - i
        head = _dumps({"kind": t.list_kind, "apiVersion": t.api_version, "metadata": meta})
        return head[:-1] + b',"items":[' + b",".join(picked) + b"]}"

    # ------------------------------------------------------------------ writes
    def _check_dry_run(self, query: dict[str, str]) -> bool:
        v = query.get("dryRun")
        if not v:
            return False
        if v != "All":
            raise bad_request(f'dryRun: Unsupported value: "{v}": supported values: "All"')
        return True

    def _validate_name(self, t: ResourceType, name: str) -> None:
        rx, what = (_LABEL_RE, "RFC 1123 label") if t.plural == "namespaces" else (_NAME_RE, "RFC 1123 subdomain")
        limit = 63 if t.plural == "namespaces" else 253
        if not name or len(name) > limit or not rx.match(name):
            raise invalid(t.kind, name, t.group, [("metadata.name", f'Invalid value: "{name}": a lowercase {what} '
                                                   "must consist of lower case alphanumeric characters, '-' or '.', "
                                                   "and must start and end with an alphanumeric character")])

    def _admit_write(self, t: ResourceType, user: UserInfo, ns: str | None, name: str | None) -> None:
        if self.protection is not None and t.namespaced:
            self.protection.check(user.groups, t.qualified, ns, name)

    def create(self, t: ResourceType, ns: str | None, body: Any, user: UserInfo, dry_run: bool) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        self._check_kind(t, obj)
        obj["apiVersion"], obj["kind"] = t.api_version, t.kind
        meta = _meta(obj)
        for k in ("resourceVersion", "uid", "creationTimestamp", "deletionTimestamp", "generation", "selfLink"):
            meta.pop(k, None)
        if t.namespaced:
            if meta.get("namespace") and meta["namespace"] != ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the "
                                  "request")
            meta["namespace"] = ns
            nst = self.types.find("namespaces")
            if self._get_obj(nst, None, ns) is None:  # type: ignore[arg-type]
                raise not_found("namespaces", ns or "", "", "namespaces")
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and not meta.get("generateName"):
            raise invalid(t.kind, "", t.group, [("metadata.name", "Required value: name or generateName is "
                                                                    "required")])
        if t.kind == "Pod" and t.group == "":
            obj = self._admit_pod(obj, ns or "", user)
            meta = _meta(obj)
        self._admit_write(t, user, ns, meta.get("name") or "")
        if not meta.get("name"):
            meta["name"] = meta["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789")
                                                          for _ in range(5))
        self._validate_name(t, meta["name"])
        if self._get_obj(t, ns, meta["name"]) is not None:
            raise already_exists(t.qualified, meta["name"], t.group, t.plural)
        self._fill_defaults(t, obj)
        if t.kind == "Pod" and t.group == "":
            obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})
        if dry_run:
            return obj
        self._store(t, obj)
        self._after_write(t, None, obj)
        return obj

    def _admit_pod(self, pod: dict[str, Any], ns: str, user: UserInfo) -> dict[str, Any]:
        name = (pod.get("metadata") or {}).get("name") or ""
        pod = serviceaccount_admission(pod, ns, f'pods "{name}"', self.get_sa)
        spec = pod["spec"]
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("dnsPolicy", "ClusterFirst")
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        return wi_mutate_pod(pod, ns, self.get_sa, self.webhook, self.tenant_id)

    def create_internal(self, t: ResourceType, obj: dict[str, Any], user: UserInfo = CONTROLLER) -> dict[str, Any]:
        """Create as a controller would (admission runs); used by the rollout simulation."""
        return self.create(t, _meta(obj).get("namespace"), obj, user, False)

    def store_internal(self, t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace an object without admission (controllers writing status)."""
        return self._store(t, obj)

    def _check_kind(self, t: ResourceType, obj: dict[str, Any]) -> None:
        kind, av = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != t.kind:
            raise bad_request(f"the API version in the data ({av}) does not match the expected API version "
                              f"({t.api_version})" if av and av != t.api_version else
                              f'Kind "{kind}" does not match the expected kind "{t.kind}"')
        if av and av != t.api_version:
            raise bad_request(f"the API version in the data ({av}) does not match the expected API version "
                              f"({t.api_version})")

    def _replace(self, t: ResourceType, ns: str | None, name: str, old: dict[str, Any], new: dict[str, Any],
                 user: UserInfo, dry_run: bool, subresource: str | None, check_rv: bool = True) -> dict[str, Any]:
        """Common tail of PUT and PATCH: preconditions, immutable fields, admission, store."""
        self._check_kind(t, new)
        new["apiVersion"], new["kind"] = t.api_version, t.kind
        nmeta = _meta(new)
        ometa = old.get("metadata") or {}
        if nmeta.get("name", name) != name:
            raise bad_request(f"the name of the object ({nmeta.get('name')}) does not match the name on the URL "
                              f"({name})")
        if t.namespaced and nmeta.get("namespace", ns) != ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        want_rv = nmeta.get("resourceVersion")
        if check_rv and want_rv and want_rv != ometa.get("resourceVersion"):
            raise conflict(t.qualified, name, t.group, t.plural)
        has_status_sub = "status" in t.subresources
        if subresource == "status":
            merged = copy.deepcopy(old)
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            new = merged
        else:
            if has_status_sub:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            nmeta = _meta(new)
            for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
                if k in ometa:
                    nmeta[k] = ometa[k]
                else:
                    nmeta.pop(k, None)
            nmeta["name"] = name
            if t.namespaced:
                nmeta["namespace"] = ns
            if t.kind == "Pod" and t.group == "":
                self._validate_pod_update(old, new)
            if "generation" in ometa or "spec" in new:
                def body_of(o: dict[str, Any]) -> dict[str, Any]:
                    return {k: v for k, v in o.items() if k not in ("metadata", "status", "apiVersion", "kind")}
                gen = int(ometa.get("generation", 0) or 0)
                if body_of(old) != body_of(new):
                    gen += 1
                if gen:
                    nmeta["generation"] = max(gen, 1)
        _meta(new)["resourceVersion"] = ometa.get("resourceVersion")
        self._admit_write(t, user, ns, name)
        if dry_run:
            return new
        if new == old:
            return old  # no-op update keeps resourceVersion
        self._store(t, new)
        self._after_write(t, old, new)
        return new

    def _validate_pod_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        def strip(spec: dict[str, Any]) -> dict[str, Any]:
            s = copy.deepcopy(spec or {})
            for key in ("containers", "initContainers"):
                for c in s.get(key) or []:
                    c.pop("image", None)
            for k in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
                s.pop(k, None)
            return s
        if strip(old.get("spec") or {}) != strip(new.get("spec") or {}):
            name = old["metadata"]["name"]
            raise invalid("Pod", name, "", [("spec", "Forbidden: pod updates may not change fields other than "
                                                     "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                                                     "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                                                     "to existing tolerations),`spec.terminationGracePeriodSeconds` "
                                                     "(allow it to be set to 1 if it was previously negative)")])

    def update(self, t: ResourceType, ns: str | None, name: str, body: Any, user: UserInfo, dry_run: bool,
               subresource: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        old = self.read(t, ns, name)
        return self._replace(t, ns, name, old, copy.deepcopy(body), user, dry_run, subresource)

    def patch(self, t: ResourceType, ns: str | None, name: str, raw: bytes, content_type: str, user: UserInfo,
              dry_run: bool, subresource: str | None = None, field_manager: str | None = None
              ) -> tuple[int, dict[str, Any]]:
        ct = (content_type or "").split(";")[0].strip().lower()
        accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
        if t.builtin:
            accepted.insert(2, "application/strategic-merge-patch+json")
        if ct == "application/apply-patch+cbor":
            ct = "unsupported"
        if ct not in accepted:
            raise KubeError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                                         "accepted media types include: " + ", ".join(accepted))
        try:
            if ct == "application/apply-patch+yaml":
                import yaml

                body = yaml.safe_load(raw.decode() or "{}")
            else:
                body = json.loads(raw or b"null")
        except Exception as exc:  # noqa: BLE001
            raise bad_request(f"error decoding patch: {exc}") from None
        old = self._get_obj(t, ns, name)
        if ct == "application/apply-patch+yaml":
            if not field_manager:
                raise bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
                                  "required for apply patch")
            if old is None:
                obj = copy.deepcopy(body)
                _meta(obj).setdefault("name", name)
                return 201, self.create(t, ns, obj, user, dry_run)
            patched = strategic_merge_patch(old, body) if t.builtin else json_merge_patch(old, body)
            return 200, self._replace(t, ns, name, old, patched, user, dry_run, subresource, check_rv=True)
        if old is None:
            raise not_found(t.qualified, name, t.group, t.plural)
        try:
            if ct == "application/json-patch+json":
                patched = json_patch(old, body)
            elif ct == "application/merge-patch+json":
                patched = json_merge_patch(old, body)
            else:
                patched = strategic_merge_patch(old, body)
        except PatchError as exc:
            raise KubeError(422, "Invalid", str(exc)) from None
        if not isinstance(patched, dict):
            raise bad_request("patch did not produce an object")
        # a patch that names a resourceVersion is a precondition; otherwise patches are unconditional
        want = _meta(patched).get("resourceVersion")
        check = want is not None and want != (old.get("metadata") or {}).get("resourceVersion")
        if not check:
            _meta(patched)["resourceVersion"] = (old.get("metadata") or {}).get("resourceVersion")
        return 200, self._replace(t, ns, name, old, copy.deepcopy(patched), user, dry_run, subresource)

    def delete(self, t: ResourceType, ns: str | None, name: str, body: Any, user: UserInfo,
               dry_run: bool) -> dict[str, Any]:
        old = self.read(t, ns, name)
        pre = (body or {}).get("preconditions") if isinstance(body, dict) else None
        if pre:
            ometa = old.get("metadata") or {}
            if (pre.get("resourceVersion") and pre["resourceVersion"] != ometa.get("resourceVersion")) or \
                    (pre.get("uid") and pre["uid"] != ometa.get("uid")):
                raise KubeError(409, "Conflict", f'Operation cannot be fulfilled on {t.qualified} "{name}": '
                                                 "Precondition failed", {"name": name, "group": t.group,
                                                                         "kind": t.plural})
        self._admit_write(t, user, ns, name)
        if not dry_run:
            self._remove(t, ns or "", name)
        if t.kind == "Pod" and t.group == "":
            return old
        details: dict[str, Any] = {"name": name, "kind": t.plural, "uid": (old.get("metadata") or {}).get("uid")}
        if t.group:
            details["group"] = t.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    # ------------------------------------------------------------------ subresources
    def scale(self, t: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        sel = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": meta["name"], "namespace": meta.get("namespace"), "uid": meta.get("uid"),
                             "resourceVersion": meta.get("resourceVersion"),
                             "creationTimestamp": meta.get("creationTimestamp")},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sel.items())}}

    def token_request(self, ns: str, name: str, body: Any, user: UserInfo, dry_run: bool) -> dict[str, Any]:
        sat = self.types.find("serviceaccounts")
        assert sat is not None
        sa = self.read(sat, ns, name)
        body = body if isinstance(body, dict) else {}
        spec = dict(body.get("spec") or {})
        audiences = spec.get("audiences") or list(self.api_audiences)
        exp = spec.get("expirationSeconds")
        exp = 3600 if exp is None else int(exp)
        if exp < 600:
            raise invalid("TokenRequest.authentication.k8s.io", name, "authentication.k8s.io",
                          [("spec.expirationSeconds", f"Invalid value: {exp}: may not specify a duration less "
                                                      "than 10 minutes")])
        self._admit_write(sat, user, ns, name)
        token, exp_ts = ("", None) if dry_run else self._sign_sa_token(ns, name, sa["metadata"].get("uid", ""),
                                                                       audiences, exp, spec.get("boundObjectRef"))
        spec.update({"audiences": audiences, "expirationSeconds": exp})
        spec.setdefault("boundObjectRef", None)
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": ns, "creationTimestamp": None},
                "spec": spec,
                "status": {"token": token,
                           "expirationTimestamp": exp_ts or self.now_str()}}

    def _sign_sa_token(self, ns: str, name: str, uid: str, audiences: list[str], exp_seconds: int,
                       bound: dict[str, Any] | None = None) -> tuple[str, str]:
        import datetime as _dt

        now = self.clock.now()
        iat = int(now.timestamp())
        k8s: dict[str, Any] = {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}}
        if bound and bound.get("kind") == "Pod":
            k8s["pod"] = {"name": bound.get("name"), "uid": bound.get("uid")}
        claims = {"aud": list(audiences), "exp": iat + exp_seconds, "iat": iat, "iss": self.issuer,
                  "jti": str(uuid.uuid4()), "kubernetes.io": k8s, "nbf": iat,
                  "sub": f"system:serviceaccount:{ns}:{name}"}
        exp_ts = (now + _dt.timedelta(seconds=exp_seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.key.sign(claims), exp_ts

    def access_review(self, body: Any, user: UserInfo) -> dict[str, Any]:
        body = body if isinstance(body, dict) else {}
        ra = (body.get("spec") or {}).get("resourceAttributes") or {}
        allowed, reason = True, ""
        t = self.types.find(ra.get("resource", "")) if ra.get("resource") else None
        if t is not None:
            try:
                self.authorize(user, ra.get("verb", "get"), t, ra.get("namespace"), ra.get("name"))
            except KubeError as exc:
                allowed, reason = False, exc.message
        out = copy.deepcopy(body)
        out.setdefault("apiVersion", "authorization.k8s.io/v1")
        out.setdefault("kind", "SelfSubjectAccessReview")
        out.setdefault("metadata", {})
        out["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
        return out
