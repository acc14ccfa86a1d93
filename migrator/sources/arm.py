"""Live Azure Resource Manager reads: managed clusters, cluster credentials, scale sets, identities,
federated credentials, role assignments.

Every request goes through the Azure SDK's pipeline (``ContainerServiceClient.send_request``: its
authentication, user agent, sovereign-cloud endpoints and TLS settings), and the JSON body goes to
``decode.arm_documents`` as it came: the SDK models' deserialization is skipped, nothing is re-serialized.
Retries are ours (``sources.retry``): azure-core retries a 429 only three times, without jitter.
Only GET requests and the read-only ``listClusterUserCredential`` POST are made.

Request paths are built from segments, each percent-encoded (``arm_path``; ``.``, ``..`` and empty
segments refused), so no name reaches another ARM path; a resource ID (from ARM or a plan) is taken
apart and encoded the same way (``resource_path``). Every URL sent, ``nextLink`` and operation
polling URLs included, must be on the ARM endpoint's own scheme, host and port: a link elsewhere is
refused, so the bearer token never leaves ARM.
"""

from __future__ import annotations

import base64
import json
import random
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import yaml
from azure.core import AzureClouds
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient

from migrator.clock import Clock, SystemClock
from migrator.errors import SourceError
from migrator.sources.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after

CLOUDS = {
    "AzureCloud": AzureClouds.AZURE_PUBLIC_CLOUD,
    "AzureUSGovernment": AzureClouds.AZURE_US_GOVERNMENT,
    "AzureChinaCloud": AzureClouds.AZURE_CHINA_CLOUD,
}
#: the AKS server application kubelogin requests tokens for (same in every cloud)
AKS_SERVER_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"

API_CONTAINERSERVICE = "2025-10-01"
API_MSI = "2024-11-30"
API_COMPUTE = "2024-07-01"
API_AUTHORIZATION = "2022-04-01"


def arm_path(*segments: str) -> str:
    """An ARM request path from its segments, each percent-encoded (``x?y`` stays one segment). A segment that
    is empty, ``.`` or ``..`` (which URL normalisation resolves) or holds a ``/`` or ``\\`` (which some servers
    decode before routing) is refused: no Azure resource name is one."""
    for segment in segments:
        if segment in ("", ".", "..") or "/" in segment or "\\" in segment:
            raise SourceError(f"{segment!r} cannot be a segment of an Azure resource path",
                              hint="an Azure resource name is never empty, '.' or '..', and holds no '/' or '\\'")
    return "".join("/" + quote(segment, safe="") for segment in segments)


def resource_path(resource_id: str) -> str:
    """The request path of a resource ID (``/subscriptions/…``), its segments encoded one by one."""
    parts = resource_id.split("/")
    if len(parts) < 3 or parts[0] != "" or parts[1].lower() != "subscriptions":
        raise SourceError(f"{resource_id!r} is not an Azure resource ID (/subscriptions/<id>/...)")
    return arm_path(*parts[1:])


def odata_string(value: str) -> str:
    """An OData string literal: quoted, its quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def error_message(body: bytes) -> str:
    """ARM's ``error.code: error.message`` from a response body, or its first bytes."""
    try:
        doc = json.loads(body)
        err = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(err, dict):
            return f"{err.get('code')}: {err.get('message')}"
    except ValueError:
        pass
    return body[:200].decode("utf-8", "replace")


class ArmReader:
    """Raw ARM reads through one SDK pipeline per subscription."""

    def __init__(self, credential: TokenCredential, *, cloud: str = "AzureCloud", base_url: str | None = None,
                 connection_verify: str | bool | None = None, clock: Clock | None = None,
                 rng: random.Random | None = None, retry: RetryPolicy = RetryPolicy(), parallel: int = 8) -> None:
        self.credential = credential
        self.cloud = CLOUDS[cloud]
        self.base_url = base_url
        self.verify = connection_verify
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.retry = retry
        self.parallel = parallel  # per-identity lists in flight (ARM allows ~250 reads per burst)
        self.requests = 0
        self._clients: dict[str, ContainerServiceClient] = {}
        self._lock = threading.Lock()

    def _client(self, subscription: str) -> ContainerServiceClient:
        with self._lock:
            return self._client_locked(subscription)

    def _client_locked(self, subscription: str) -> ContainerServiceClient:
        if subscription not in self._clients:
            kwargs: dict[str, Any] = {"retry_total": 0, "cloud_setting": self.cloud}
            if self.verify is not None:
                kwargs["connection_verify"] = self.verify
            self._clients[subscription] = ContainerServiceClient(self.credential, subscription, base_url=self.base_url,
                                                                 **kwargs)
        return self._clients[subscription]

    @property
    def endpoint(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        from azure.mgmt.core.tools import get_arm_endpoints

        return str(get_arm_endpoints(self.cloud)["resource_manager"]).rstrip("/")

    def check_url(self, url: str) -> None:
        """``url`` is on the ARM endpoint (scheme, host, port), or it is refused: a ``nextLink`` or an operation
        URL that points elsewhere would carry the bearer token there."""
        ports = {"https": 443, "http": 80}
        want, got = urlsplit(self.endpoint), urlsplit(url)
        if ((got.scheme.lower(), (got.hostname or "").lower(), got.port or ports.get(got.scheme.lower()))
                != (want.scheme.lower(), (want.hostname or "").lower(), want.port or ports.get(want.scheme.lower()))):
            raise SourceError(f"a link to {got.scheme}://{got.netloc} is not followed: it is not Azure Resource "
                              f"Manager ({want.scheme}://{want.netloc}), and the token must not leave it",
                              hint="ARM answered with a link to another host (a proxy or a tampered answer?)")

    def send(self, subscription: str, method: str, url: str, *, params: dict[str, str] | None = None,
             json_body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
        """One request through the subscription's SDK pipeline: (status, headers, body). No retries."""
        self.check_url(url)
        response = self._client(subscription).send_request(HttpRequest(method, url, params=params, json=json_body,
                                                                       headers=headers))
        with self._lock:
            self.requests += 1
        return response.status_code, response.headers, response.read()

    def request(self, subscription: str, method: str, path: str, api_version: str | None = None,
                *, allow_404: bool = False) -> bytes | None:
        url = path if path.startswith("http") else f"{self.endpoint}{path}"
        params = {"api-version": api_version} if api_version and "api-version=" not in url else None
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                status, response_headers, body = self.send(subscription, method, url, params=params)
            except AzureError as exc:
                if attempt >= self.retry.max_attempts:
                    raise SourceError(f"{method} {path}: {exc.message if hasattr(exc, 'message') else exc}") from None
            else:
                if 200 <= status < 300:
                    return body
                if status == 404 and allow_404:
                    return None
                if status in (401, 403):
                    raise SourceError(f"{method} {path}: HTTP {status}: {error_message(body)}",
                                      hint="the signed-in identity lacks read access there; see docs/permissions.md")
                if status not in RETRYABLE_STATUS or attempt >= self.retry.max_attempts:
                    raise SourceError(f"{method} {path}: HTTP {status}: {error_message(body)}")
                retry_after = parse_retry_after(response_headers.get("Retry-After"))
            self.clock.sleep(self.retry.delay(attempt, retry_after, self.rng))

    def list_all(self, subscription: str, path: str, api_version: str) -> list[dict[str, Any]]:
        """Every item of a paged ARM list, following ``nextLink`` verbatim (on the ARM host only: ``send``)."""
        items: list[dict[str, Any]] = []
        url: str | None = path
        version: str | None = api_version
        while url:
            body = self.request(subscription, "GET", url, version)
            doc = json.loads(body or b"{}")
            items.extend(doc.get("value") or [])
            url, version = doc.get("nextLink"), None
        return items

    # ------------------------------------------------------------------ managed clusters

    @staticmethod
    def cluster_path(subscription: str, resource_group: str, name: str) -> str:
        return arm_path("subscriptions", subscription, "resourceGroups", resource_group, "providers",
                        "Microsoft.ContainerService", "managedClusters", name)

    def managed_cluster(self, subscription: str, resource_group: str, name: str) -> bytes:
        body = self.request(subscription, "GET", self.cluster_path(subscription, resource_group, name),
                            API_CONTAINERSERVICE)
        assert body is not None
        return body

    def cluster_endpoint(self, subscription: str, resource_group: str, name: str) -> tuple[str, str | None]:
        """(API server URL, CA certificate PEM) from ``listClusterUserCredential``."""
        body = self.request(subscription, "POST",
                            self.cluster_path(subscription, resource_group, name) + "/listClusterUserCredential",
                            API_CONTAINERSERVICE)
        doc = json.loads(body or b"{}")
        try:
            kubeconfig = yaml.safe_load(base64.b64decode(doc["kubeconfigs"][0]["value"]))
            cluster = kubeconfig["clusters"][0]["cluster"]
        except (KeyError, IndexError, TypeError, ValueError, yaml.YAMLError):
            raise SourceError(f"listClusterUserCredential of {name} returned no usable kubeconfig") from None
        ca = cluster.get("certificate-authority-data")
        return cluster["server"], base64.b64decode(ca).decode() if ca else None

    def scale_sets(self, subscription: str, node_resource_group: str) -> bytes:
        items = self.list_all(subscription, arm_path("subscriptions", subscription, "resourceGroups",
                                                     node_resource_group, "providers", "Microsoft.Compute",
                                                     "virtualMachineScaleSets"), API_COMPUTE)
        return json.dumps({"value": items}).encode()

    # ------------------------------------------------------------------ identities

    def identities(self, subscriptions: Iterable[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for sub in sorted(set(subscriptions)):
            out.extend(self.list_all(sub, arm_path("subscriptions", sub, "providers", "Microsoft.ManagedIdentity",
                                                   "userAssignedIdentities"), API_MSI))
        return out

    def _per_identity(self, identities: list[dict[str, Any]], path_of: Any) -> list[dict[str, Any]]:
        """One paged list per identity, ``parallel`` at a time; results in the identities' order."""
        jobs = []
        for ident in identities:
            rid = str(ident.get("id", ""))
            sub = rid.split("/")[2] if rid.count("/") > 2 else ""
            path = path_of(ident, rid, sub)
            if path:
                jobs.append((sub, path))
        with ThreadPoolExecutor(max_workers=max(1, self.parallel)) as pool:
            pages = list(pool.map(lambda job: self.list_all(job[0], job[1][0], job[1][1]), jobs))
        return [item for page in pages for item in page]

    def federated_credentials(self, identities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._per_identity(identities, lambda ident, rid, sub: (
            resource_path(rid) + "/federatedIdentityCredentials", API_MSI))

    def federated_credentials_of(self, identity_id: str) -> list[dict[str, Any]] | None:
        """Every federated credential of one user-assigned identity (all pages), as ARM returns them; None
        when the identity does not exist. SourceError when ARM cannot be read."""
        subscription = identity_id.split("/")[2] if identity_id.count("/") > 2 else ""
        first = resource_path(identity_id) + "/federatedIdentityCredentials"
        items: list[dict[str, Any]] = []
        url: str | None = first
        version: str | None = API_MSI
        while url:
            body = self.request(subscription, "GET", url, version, allow_404=url == first)
            if body is None:
                return None
            try:
                doc = json.loads(body or b"{}")
            except ValueError:
                raise SourceError(f"GET {url}: the response is not JSON") from None
            items.extend(doc.get("value") or [])
            url, version = doc.get("nextLink"), None
        return items

    def role_assignments(self, identities: list[dict[str, Any]]) -> list[dict[str, Any]]:
        def path(ident: dict[str, Any], rid: str, sub: str) -> tuple[str, str] | None:
            principal = (ident.get("properties") or {}).get("principalId")
            if not principal:
                return None
            query = urlencode({"$filter": f"principalId eq {odata_string(str(principal))}",
                               "api-version": API_AUTHORIZATION}, quote_via=quote)
            return (arm_path("subscriptions", sub, "providers", "Microsoft.Authorization", "roleAssignments")
                    + "?" + query, API_AUTHORIZATION)

        return self._per_identity(identities, path)
