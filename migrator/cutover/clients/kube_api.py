"""The Kubernetes edge of the cutover: raw JSON requests through the official (sync) client.

One ``KubeApi`` per cluster, built by ``connection.py``. The client's own urllib3 retries are off
(``configuration.retries = False``): 429, 5xx and dropped connections are retried here with the
shared ``RetryPolicy``, sleeping on the injected clock. Responses are plain dicts (the client's model
deserialization is never used). Every mutation takes ``dry_run``: the server runs validation and
admission and persists nothing (``dryRun=All``).
"""

from __future__ import annotations

import builtins
import contextlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes.client.exceptions import ApiException

from migrator.clock import Clock
from migrator.cutover.errors import ClusterUnreachable
from migrator.errors import MigratorError
from migrator.sources.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after

#: resource paths by kind: (API prefix, plural, namespaced)
KINDS: dict[str, tuple[str, str, bool]] = {
    "Pod": ("/api/v1", "pods", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Namespace": ("/api/v1", "namespaces", False),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CronJob": ("/apis/batch/v1", "cronjobs", True),
    "Lease": ("/apis/coordination.k8s.io/v1", "leases", True),
    "AzureIdentity": ("/apis/aadpodidentity.k8s.io/v1", "azureidentities", True),
    "AzureIdentityBinding": ("/apis/aadpodidentity.k8s.io/v1", "azureidentitybindings", True),
    "AzureAssignedIdentity": ("/apis/aadpodidentity.k8s.io/v1", "azureassignedidentities", True),
    "AzurePodIdentityException": ("/apis/aadpodidentity.k8s.io/v1", "azurepodidentityexceptions", True),
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions", False),
}
BUILTIN_PREFIXES = ("/api/v1", "/apis/apps/", "/apis/batch/", "/apis/coordination.k8s.io/")

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"


class KubeApiError(MigratorError):
    """The API server answered with an error status (a ``metav1.Status``)."""

    def __init__(self, status: int, reason: str, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.api_message = message
        self.method = method
        self.path = path


def path_of(kind: str, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
    prefix, plural, namespaced = KINDS[kind]
    path = prefix
    if namespaced and namespace is not None:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{plural}"
    if name is not None:
        path += f"/{quote(name, safe='')}"
    if sub is not None:
        path += f"/{sub}"
    return path


@dataclass
class KubeStats:
    requests: int = 0
    retries: int = 0
    writes: int = 0


class KubeApi:
    """Raw JSON access to one cluster's API server."""

    def __init__(self, api_client: Any, cluster: str, *, clock: Clock, retry: RetryPolicy = RetryPolicy(),
                 request_timeout: float = 30.0, rng: random.Random | None = None) -> None:
        self.api = api_client
        self.cluster = cluster
        self.clock = clock
        self.retry = retry
        self.request_timeout = request_timeout
        self.rng = rng or random.Random(0)
        self.stats = KubeStats()

    def close(self) -> None:
        # called from the commands' finally: whatever closing raises must not replace the run's own error
        with contextlib.suppress(Exception):
            self.api.close()

    # ------------------------------------------------------------------ transport
    def request(self, method: str, path: str, *, query: list[tuple[str, Any]] | None = None, body: Any = None,
                content_type: str = "application/json", raw: bool = False) -> Any:
        """One request with retries; returns the decoded JSON body (None for 404 on GET)."""
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = content_type
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                m, url, hdrs, _b, _p = self.api.param_serialize(method, path, query_params=query or None,
                                                                header_params=headers, auth_settings=["BearerToken"])
                response = self.api.call_api(m, url, header_params=hdrs, body=body,
                                             _request_timeout=self.request_timeout)
                data = response.read()
                status = response.status
                self.stats.requests += 1
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if attempt >= self.retry.max_attempts:
                    raise ClusterUnreachable(
                        f"cluster {self.cluster}: {method} {path} failed after {attempt} attempts: "
                        f"{type(exc).__name__}", hint="check the network path to the API server (VPN, private "
                                                      "endpoint, firewall) and run the same command again") from None
            except ApiException as exc:  # the client reports TLS failures as ApiException(status=0)
                if attempt >= self.retry.max_attempts:
                    raise ClusterUnreachable(f"cluster {self.cluster}: {method} {path}: {exc.reason}",
                                             hint="check the cluster's endpoint and CA certificate") from None
            else:
                if status < 400:
                    if method != "GET":
                        self.stats.writes += 1
                    if raw:
                        return data
                    return json.loads(data) if data else {}
                if status not in RETRYABLE_STATUS or attempt >= self.retry.max_attempts:
                    self._raise(status, data, method, path)
                retry_after = parse_retry_after(response.getheader("Retry-After"))
            self.stats.retries += 1
            self.clock.sleep(self.retry.delay(attempt, retry_after, self.rng))

    @staticmethod
    def _raise(status: int, data: bytes, method: str, path: str) -> None:
        reason, message = "", (data[:300].decode("utf-8", "replace") if data else f"HTTP {status}")
        try:
            doc = json.loads(data)
            if isinstance(doc, dict):
                reason = str(doc.get("reason") or "")
                message = str(doc.get("message") or message)
        except ValueError:
            pass
        raise KubeApiError(status, reason, message, method, path)

    # ------------------------------------------------------------------ verbs
    def get(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        try:
            return self.request("GET", path_of(kind, namespace, name))
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, kind: str, namespace: str | None, *, label_selector: str | None = None,
             limit: int = 500) -> list[dict[str, Any]]:
        return list(self.iter_list(kind, namespace, label_selector=label_selector, limit=limit))

    def iter_list(self, kind: str, namespace: str | None, *, label_selector: str | None = None,
                  limit: int = 500) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            query: list[tuple[str, Any]] = [("limit", limit)]
            if label_selector:
                query.append(("labelSelector", label_selector))
            if token:
                query.append(("continue", token))
            try:
                doc = self.request("GET", path_of(kind, namespace), query=query)
            except KubeApiError as exc:
                if exc.status == 404 and KINDS[kind][0].startswith("/apis/aadpodidentity"):
                    return  # the CRD is not installed: there can be none
                raise
            yield from doc.get("items") or ()
            token = (doc.get("metadata") or {}).get("continue")
            if not token:
                return

    @staticmethod
    def _dry(dry_run: bool) -> builtins.list[tuple[str, Any]]:
        return [("dryRun", "All")] if dry_run else []

    def create(self, kind: str, namespace: str | None, body: dict[str, Any], *, dry_run: bool = False
               ) -> dict[str, Any]:
        return self.request("POST", path_of(kind, namespace), query=self._dry(dry_run) or None, body=body)

    def replace(self, kind: str, namespace: str | None, name: str, body: dict[str, Any], *,
                dry_run: bool = False) -> dict[str, Any]:
        return self.request("PUT", path_of(kind, namespace, name), query=self._dry(dry_run) or None, body=body)

    def patch(self, kind: str, namespace: str | None, name: str, body: Any, *, dry_run: bool = False,
              content_type: str | None = None) -> dict[str, Any]:
        prefix = KINDS[kind][0]
        ctype = content_type or (STRATEGIC if prefix.startswith(BUILTIN_PREFIXES) else MERGE)
        return self.request("PATCH", path_of(kind, namespace, name), query=self._dry(dry_run) or None,
                            body=body, content_type=ctype)

    def delete(self, kind: str, namespace: str | None, name: str, *, dry_run: bool = False,
               resource_version: str | None = None) -> dict[str, Any] | None:
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if resource_version:
            body["preconditions"] = {"resourceVersion": resource_version}
        try:
            return self.request("DELETE", path_of(kind, namespace, name), query=self._dry(dry_run) or None,
                                body=body)
        except KubeApiError as exc:
            if exc.status == 404:
                return None
            raise

    def token_request(self, namespace: str, service_account: str, audience: str,
                      expiration_seconds: int = 600) -> str:
        """A service-account token (TokenRequest); persists nothing in the cluster."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [audience], "expirationSeconds": expiration_seconds}}
        doc = self.request("POST", path_of("ServiceAccount", namespace, service_account, "token"), body=body)
        return str((doc.get("status") or {}).get("token") or "")

    def pod_log(self, namespace: str, pod: str, *, since_time: str | None = None,
                container: str | None = None) -> str | None:
        query: list[tuple[str, Any]] = []
        if since_time:
            query.append(("sinceTime", since_time))
        if container:
            query.append(("container", container))
        try:
            data = self.request("GET", path_of("Pod", namespace, pod, "log"), query=query or None, raw=True)
        except KubeApiError as exc:
            if exc.status in (400, 403, 404):
                return None
            raise
        return bytes(data).decode("utf-8", "replace")

    def issuer(self) -> str | None:
        """The service-account issuer the API server reports (its OIDC discovery document)."""
        try:
            doc = self.request("GET", "/.well-known/openid-configuration")
        except KubeApiError:
            return None
        return str(doc.get("issuer")) if isinstance(doc, dict) and doc.get("issuer") else None
