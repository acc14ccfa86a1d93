"""Find every AKS cluster in scope: one Azure Resource Graph query, ARM lists where Resource Graph falls short.

Resource Graph is queried with a raw ``POST /providers/Microsoft.ResourceGraph/resources`` through the
same Azure SDK pipeline as every other ARM read (``ArmReader``: credential, sovereign clouds, TLS,
``retry_total=0``), and the JSON answer is read as it came. ``azure-mgmt-resourcegraph`` would add a
dependency for one request body and one response shape, deserialize every page into models, and keep the
response headers that pace us (``x-ms-user-quota-*``) behind a response hook; see docs/discover.md.

* Paging: ``$top`` (1,000, the service's maximum) and ``$skipToken`` until no token comes back; the query
  is ordered by ``id`` so pages are stable.
* Pacing: each answer says how many queries are left in the caller's window
  (``x-ms-user-quota-remaining``) and when the window resets (``x-ms-user-quota-resets-after``,
  ``hh:mm:ss``). With none left, the next query waits for the reset; a 429 waits for it too (at least
  our own backoff). Every wait goes through the injected clock.
* Batching: an explicit subscription list is sent 1,000 subscriptions at a time, as Resource Graph
  requires.
* Unreadable subscriptions: Resource Graph trims what the caller cannot read, so each batch also asks
  which of its subscriptions are visible (``ResourceContainers``); a named subscription that is neither
  visible nor holds a cluster in the answer is reported. A batch answered 403 is split in halves until
  the subscription that is refused is found.
* Incomplete rows: a cluster whose Resource Graph row lacks ``properties.oidcIssuerProfile`` (every
  current API version returns it; without it Resource Graph holds a partial copy) is read again with
  one ARM ``managedClusters`` list per subscription.

Read-only: Resource Graph queries are POSTs that change nothing; the ARM reads are GETs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from azure.core.exceptions import AzureError

from migrator.errors import InputError, SourceError
from migrator.fleet.discovery import DiscoveredCluster, Discovery, Scope, ScopeFailure
from migrator.sources.arm import API_CONTAINERSERVICE, ArmReader, arm_path, error_message
from migrator.sources.retry import RETRYABLE_STATUS, parse_retry_after

API_RESOURCEGRAPH = "2024-04-01"
#: Resource Graph accepts at most this many subscriptions in one request
BATCH_LIMIT = 1000
#: the largest ``$top`` Resource Graph accepts
PAGE_LIMIT = 1000
_ID = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)/providers/"
                 r"microsoft\.containerservice/managedclusters/(?P<name>[^/]+)$", re.I)

#: The projection keeps pages small (a full managed cluster is ~10 KB); ``described`` tells a full row
#: from a partial one.
CLUSTER_PROJECTION = (
    "project id, name, location, subscriptionId, tenantId, tags, "
    "podIdentity = properties.podIdentityProfile.enabled, "
    "oidcIssuer = properties.oidcIssuerProfile.enabled, "
    "workloadIdentity = properties.securityProfile.workloadIdentity.enabled, "
    "described = isnotnull(properties.oidcIssuerProfile)"
)
SUBSCRIPTIONS_QUERY = ("ResourceContainers | where type =~ 'microsoft.resources/subscriptions' "
                       "| project subscriptionId | order by subscriptionId asc")


def cluster_query(where: str | None = None) -> str:
    """The Resource Graph query: every managed cluster (``where`` narrows it), ordered by id."""
    query = "Resources | where type =~ 'microsoft.containerservice/managedclusters'"
    if where and where.strip():
        query += f" | where ({where.strip()})"
    return f"{query} | {CLUSTER_PROJECTION} | order by id asc"


def batches(subscriptions: Iterable[str], size: int = BATCH_LIMIT) -> list[list[str]]:
    """Subscriptions deduplicated (case-insensitively), sorted, in batches of at most ``size``."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    unique: dict[str, str] = {}
    for sub in subscriptions:
        unique.setdefault(sub.strip().lower(), sub.strip())
    ordered = [unique[k] for k in sorted(unique)]
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def parse_resets_after(value: str | None) -> float | None:
    """``x-ms-user-quota-resets-after`` (``hh:mm:ss``, optionally ``d.hh:mm:ss`` and fractions) in seconds."""
    if not value:
        return None
    m = re.fullmatch(r"\s*(?:(\d+)\.)?(\d+):(\d{1,2}):(\d{1,2}(?:\.\d+)?)\s*", value)
    if not m:
        return None
    days, hours, minutes, seconds = m.groups()
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


class GraphForbidden(SourceError):
    """Resource Graph refused the request (401/403)."""


class GraphReader(ArmReader):
    """``ArmReader`` plus paged, paced Resource Graph queries through the same pipeline."""

    #: the SDK client used for tenant-level requests (Resource Graph is not under a subscription)
    _TENANT_CLIENT = "00000000-0000-0000-0000-000000000000"

    def __init__(self, *args: Any, page_size: int = PAGE_LIMIT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_size = max(1, min(PAGE_LIMIT, page_size))
        self.graph_requests = 0
        self.subscription_limit_hit = False
        self._resume_at: float | None = None

    def graph(self, query: str, *, subscriptions: Sequence[str] | None = None,
              management_groups: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Every row of a query, page after page (``$skipToken``)."""
        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            options: dict[str, Any] = {"$top": self.page_size, "resultFormat": "objectArray"}
            if token:
                options["$skipToken"] = token
            body: dict[str, Any] = {"query": query, "options": options}
            if subscriptions:
                body["subscriptions"] = list(subscriptions)
            if management_groups:
                body["managementGroups"] = list(management_groups)
            doc = self._graph_post(body)
            data = doc.get("data")
            if isinstance(data, dict):  # table format, should a service default change
                cols = [c.get("name") for c in data.get("columns") or []]
                data = [dict(zip(cols, row, strict=False)) for row in data.get("rows") or []]
            rows.extend(r for r in data or [] if isinstance(r, dict))
            token = doc.get("$skipToken") or None
            if not token:
                if str(doc.get("resultTruncated", "")).lower() == "true":
                    raise SourceError("Resource Graph truncated the answer and gave no $skipToken to page on")
                return rows

    def _pace(self) -> None:
        if self._resume_at is not None:
            wait = self._resume_at - self.clock.monotonic()
            self._resume_at = None
            if wait > 0:
                self.clock.sleep(wait)

    def _graph_post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.endpoint}/providers/Microsoft.ResourceGraph/resources"
        attempt = 0
        while True:
            self._pace()
            attempt += 1
            wait_hint: float | None = None
            try:
                status, headers, data = self.send(self._TENANT_CLIENT, "POST", url,
                                                  params={"api-version": API_RESOURCEGRAPH}, json_body=body)
                self.graph_requests += 1
            except AzureError as exc:
                if attempt >= self.retry.max_attempts:
                    raise SourceError(f"Resource Graph query: {getattr(exc, 'message', None) or exc}") from None
            else:
                resets = parse_resets_after(headers.get("x-ms-user-quota-resets-after"))
                remaining = _int(headers.get("x-ms-user-quota-remaining"))
                if remaining is not None and remaining <= 0 and resets is not None:
                    self._resume_at = self.clock.monotonic() + resets
                if 200 <= status < 300:
                    if str(headers.get("x-ms-tenant-subscription-limit-hit", "")).lower() == "true":
                        self.subscription_limit_hit = True
                    return json.loads(data or b"{}")
                if status in (401, 403):
                    raise GraphForbidden(f"Resource Graph: HTTP {status}: {error_message(data)}",
                                         hint="the signed-in identity needs Reader on the subscription")
                if status == 400:
                    raise InputError(f"Resource Graph rejected the query: {error_message(data)}",
                                     hint="check --where: it is a Resource Graph (KQL) predicate on a "
                                          "managed cluster row, e.g. tags['env'] == 'prod'")
                if status not in RETRYABLE_STATUS or attempt >= self.retry.max_attempts:
                    raise SourceError(f"Resource Graph query: HTTP {status}: {error_message(data)}")
                if status == 429 and resets is not None:
                    self._resume_at = None  # the wait below covers the reset
                    wait_hint = resets
                else:
                    wait_hint = parse_retry_after(headers.get("Retry-After"))
            self.clock.sleep(self.retry.delay(attempt, wait_hint, self.rng))


def _int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _tags(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _where(rid: str, fallback_sub: str, fallback_rg: str, fallback_name: str) -> tuple[str, str, str]:
    m = _ID.match(rid or "")
    if m:
        return m["sub"], m["rg"], m["name"]
    return fallback_sub, fallback_rg, fallback_name


def cluster_from_row(row: dict[str, Any]) -> tuple[DiscoveredCluster, bool]:
    """(cluster, fully described) from a Resource Graph row of :func:`cluster_query`."""
    rid = str(row.get("id") or "")
    sub, rg, name = _where(rid, str(row.get("subscriptionId") or ""), str(row.get("resourceGroup") or ""),
                           str(row.get("name") or ""))
    described = _flag(row.get("described"))
    cluster = DiscoveredCluster(
        id=rid, name=str(row.get("name") or name), region=str(row.get("location") or ""), subscription_id=sub,
        resource_group=rg, tenant_id=str(row.get("tenantId") or "") or None, tags=_tags(row.get("tags")),
        pod_identity=_flag(row.get("podIdentity")) if described else None,
        oidc_issuer=_flag(row.get("oidcIssuer")) if described else None,
        workload_identity=_flag(row.get("workloadIdentity")) if described else None,
        source="graph")
    return cluster, described


def cluster_from_arm(body: dict[str, Any], tenant_id: str | None) -> DiscoveredCluster:
    """A cluster from an ARM ``managedClusters`` list item (REST shape; a missing profile means off)."""
    rid = str(body.get("id") or "")
    sub, rg, name = _where(rid, "", "", str(body.get("name") or ""))
    props = body.get("properties") or {}
    return DiscoveredCluster(
        id=rid, name=str(body.get("name") or name), region=str(body.get("location") or ""), subscription_id=sub,
        resource_group=rg, tenant_id=tenant_id, tags=_tags(body.get("tags")),
        pod_identity=_flag((props.get("podIdentityProfile") or {}).get("enabled")),
        oidc_issuer=_flag((props.get("oidcIssuerProfile") or {}).get("enabled")),
        workload_identity=_flag(((props.get("securityProfile") or {}).get("workloadIdentity") or {}).get("enabled")),
        source="arm")


def discover(reader: GraphReader, scope: Scope, *, where: str | None = None,
             batch_size: int = BATCH_LIMIT) -> Discovery:
    """Every managed cluster in ``scope`` (sorted by subscription, resource group, name)."""
    result = Discovery()
    query = cluster_query(where)
    rows: dict[str, dict[str, Any]] = {}

    def add(found: list[dict[str, Any]]) -> None:
        for row in found:
            rows.setdefault(str(row.get("id") or uuid.uuid4()).lower(), row)

    def run_batch(batch: list[str]) -> None:
        try:
            found = reader.graph(query, subscriptions=batch)
            visible = {str(r.get("subscriptionId") or "").lower()
                       for r in reader.graph(SUBSCRIPTIONS_QUERY, subscriptions=batch)}
        except GraphForbidden as exc:
            if len(batch) == 1:
                result.failures.append(ScopeFailure(f"subscription {batch[0]}", exc.message, exc.hint))
                return
            half = len(batch) // 2
            run_batch(batch[:half])
            run_batch(batch[half:])
            return
        except SourceError as exc:  # throttled or failing past every retry: this batch only
            label = (f"subscription {batch[0]}" if len(batch) == 1 else
                     f"{len(batch)} subscriptions {batch[0]} … {batch[-1]}")
            result.failures.append(ScopeFailure(label, exc.message, exc.hint or "run discover again later"))
            return
        add(found)
        with_clusters = {_where(str(r.get("id") or ""), str(r.get("subscriptionId") or ""), "", "")[0].lower()
                         for r in found}
        for sub in batch:
            if sub.lower() not in visible and sub.lower() not in with_clusters:
                result.failures.append(ScopeFailure(
                    f"subscription {sub}", "not visible in Resource Graph: the signed-in identity cannot read it, "
                                           "or it does not exist",
                    "grant Reader on the subscription (or check the ID); the other subscriptions were written"))

    if scope.subscriptions:
        for batch in batches(scope.subscriptions, batch_size):
            run_batch(batch)
    else:
        label = f"management group {scope.management_group}" if scope.management_group else "tenant"
        try:
            add(reader.graph(query, management_groups=[scope.management_group] if scope.management_group else None))
        except SourceError as exc:
            result.failures.append(ScopeFailure(label, exc.message, exc.hint))
    if reader.subscription_limit_hit:
        result.notes.append("Resource Graph answered for the first 10,000 subscriptions of the scope only "
                            "(x-ms-tenant-subscription-limit-hit); run discover per management group or with "
                            "--subscription lists to cover the rest")

    clusters: dict[str, DiscoveredCluster] = {}
    partial: dict[str, list[DiscoveredCluster]] = {}
    for rid, row in rows.items():
        cluster, described = cluster_from_row(row)
        clusters[rid] = cluster
        if not described:
            partial.setdefault(cluster.subscription_id.lower(), []).append(cluster)
    for sub_key in sorted(partial):
        sub = partial[sub_key][0].subscription_id
        try:
            items = reader.list_all(sub, arm_path("subscriptions", sub, "providers", "Microsoft.ContainerService",
                                                  "managedClusters"), API_CONTAINERSERVICE)
            result.arm_lists += 1
        except SourceError as exc:
            result.failures.append(ScopeFailure(
                f"subscription {sub}", f"Resource Graph described {len(partial[sub_key])} cluster(s) only in part "
                                       f"and the ARM list failed: {exc.message}", exc.hint))
            for cluster in partial[sub_key]:
                clusters[cluster.id.lower()] = _replace_source(cluster, "partial")
            continue
        by_id = {str(i.get("id") or "").lower(): i for i in items}
        for cluster in partial[sub_key]:
            body = by_id.get(cluster.id.lower())
            if body is None:
                clusters[cluster.id.lower()] = _replace_source(cluster, "partial")
                result.notes.append(f"{cluster.name}: in Resource Graph but not in the ARM list of subscription "
                                    f"{sub} (deleted meanwhile?)")
            else:
                clusters[cluster.id.lower()] = cluster_from_arm(body, cluster.tenant_id)
    result.clusters = sorted(clusters.values(), key=lambda c: c.key)
    result.failures.sort(key=lambda f: f.scope.lower())
    result.graph_requests = reader.graph_requests
    return result


def _replace_source(cluster: DiscoveredCluster, source: str) -> DiscoveredCluster:
    return replace(cluster, source=source)
