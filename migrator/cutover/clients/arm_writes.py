"""The one ARM write the migration makes: updating a managed cluster's ``podIdentityProfile``
(the AKS pod-identity add-on keeps its pod identities and exceptions there, not in the cluster).

A managed-cluster update is a long-running operation, and AKS runs one operation per cluster at a time:

* read the cluster and its ETag; compute the change on what was read (``change`` returns the new
  document, or None when there is nothing left to change — that is also how a re-run knows it is done);
* PUT it with ``If-Match: <ETag>``: a concurrent change makes it fail with 412, and the change is
  recomputed on a fresh read — a concurrent change is never overwritten;
* while the cluster reports another operation (``provisioningState`` Upgrading, Updating, …) it waits
  without writing; a 409 (``OperationNotAllowed``: an operation started between the read and the
  write) is waited out the same way, then everything is read again;
* poll ``Azure-AsyncOperation`` until the operation succeeds or fails;
* read again and check ``change`` has nothing left to do.

Every wait is on the injected clock, bounded by ``timeout``. Requests go through ``ArmReader.send``
(the SDK pipeline); 429/5xx are retried with the shared policy.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from migrator.clock import Clock
from migrator.cutover.errors import StepFailed
from migrator.errors import SourceError
from migrator.escape import sh_flag
from migrator.plan.model import ClusterPlan
from migrator.sources.arm import API_CONTAINERSERVICE, ArmReader, error_message
from migrator.sources.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after


class ManagedClusterWriter:
    def __init__(self, arm: ArmReader, cluster: ClusterPlan, *, clock: Clock, retry: RetryPolicy = RetryPolicy(),
                 timeout: float = 1800.0, poll: float = 15.0, on_event: Callable[..., None] | None = None,
                 rng: random.Random | None = None) -> None:
        self.arm = arm
        self.cluster = cluster
        self.clock = clock
        self.retry = retry
        self.timeout = timeout
        self.poll = poll
        self.on_event = on_event or (lambda *a, **k: None)
        self.rng = rng or random.Random(0)
        self.url = f"{arm.endpoint}{arm.cluster_path(cluster.subscription_id, cluster.resource_group, cluster.name)}"

    def _send(self, method: str, url: str, *, body: Any = None, headers: dict[str, str] | None = None,
              versioned: bool = True) -> tuple[int, Any, dict[str, Any]]:
        """One logical request, retried on 429/5xx and connection errors."""
        from azure.core.exceptions import AzureError

        params = {"api-version": API_CONTAINERSERVICE} if versioned and "api-version=" not in url else None
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                status, response_headers, raw = self.arm.send(self.cluster.subscription_id, method, url,
                                                              params=params, json_body=body, headers=headers)
            except AzureError as exc:
                if attempt >= self.retry.max_attempts:
                    raise SourceError(f"{method} {self.cluster.name}: {exc}",
                                      hint="Azure Resource Manager could not be reached; run again") from None
            else:
                if status not in RETRYABLE_STATUS or attempt >= self.retry.max_attempts:
                    try:
                        doc = json.loads(raw or b"{}")
                    except ValueError:
                        doc = {}
                    if status >= 400:
                        doc = {"_error": error_message(raw), **(doc if isinstance(doc, dict) else {})}
                    return status, response_headers, doc if isinstance(doc, dict) else {}
                retry_after = parse_retry_after(response_headers.get("Retry-After"))
            self.clock.sleep(self.retry.delay(attempt, retry_after, self.rng))

    def read(self) -> tuple[dict[str, Any], str | None]:
        status, headers, doc = self._send("GET", self.url)
        if status != 200:
            raise StepFailed(f"reading managed cluster {self.cluster.name}: HTTP {status}: {doc.get('_error')}",
                             hint="the identity needs Microsoft.ContainerService/managedClusters/read")
        etag = headers.get("ETag") or (f'"{doc["eTag"]}"' if doc.get("eTag") else None)
        return doc, etag

    def update(self, change: Callable[[dict[str, Any]], dict[str, Any] | None], what: str) -> int:
        """Apply ``change`` until it has nothing left to do; returns the number of PUTs that succeeded."""
        started = self.clock.monotonic()
        applied = 0
        while True:
            doc, etag = self.read()
            state = (doc.get("properties") or {}).get("provisioningState")
            new = change(json.loads(json.dumps(doc)))
            if new is None:
                return applied
            self._deadline(started, what)
            if state and state.lower() not in ("succeeded", "failed", "canceled"):
                # another operation (an upgrade, a scale) is running: a PUT now would only get 409
                self.on_event("arm-wait", why=f"{self.cluster.name} is {state}: waiting for that operation to "
                                              "finish")
                self.clock.sleep(self.poll)
                continue
            new.pop("eTag", None)
            headers = {"If-Match": etag} if etag else None
            status, response_headers, body = self._send("PUT", self.url, body=new, headers=headers)
            if status == 409:
                self.on_event("arm-wait", why=f"another operation is running on {self.cluster.name} "
                                              f"({state or 'busy'}): {body.get('_error')}")
                self.clock.sleep(self.poll)
                continue
            if status == 412:
                self.on_event("arm-conflict", why=f"{self.cluster.name} changed since it was read (ETag); "
                                                  "reading it again")
                continue
            if status >= 400:
                raise StepFailed(f"updating managed cluster {self.cluster.name} ({what}): HTTP {status}: "
                                 f"{body.get('_error')}",
                                 hint="the identity needs Microsoft.ContainerService/managedClusters/write "
                                      "(Azure Kubernetes Service Contributor)")
            poll_url = response_headers.get("Azure-AsyncOperation") or response_headers.get("Location")
            if poll_url:
                self._wait_operation(poll_url, started, what)
            applied += 1

    def _deadline(self, started: float, what: str) -> None:
        if self.clock.monotonic() - started > self.timeout:
            raise StepFailed(f"managed cluster {self.cluster.name}: {what} did not complete within "
                             f"{int(self.timeout)} s (another long operation running?)",
                             hint=f"check: az aks show {sh_flag('--resource-group', self.cluster.resource_group)} "
                                  f"{sh_flag('--name', self.cluster.name)} --query=provisioningState")

    def _wait_operation(self, url: str, started: float, what: str) -> None:
        while True:
            status, headers, body = self._send("GET", url, versioned=False)
            state = str(body.get("status") or "")
            if status == 200 and state.lower() == "succeeded":
                return
            if status == 200 and state.lower() in ("failed", "canceled", "cancelled"):
                error = body.get("error") or {}
                raise StepFailed(f"managed cluster {self.cluster.name}: {what} {state.lower()}: "
                                 f"{error.get('code')}: {error.get('message')}")
            self._deadline(started, what)
            self.on_event("arm-poll", why=f"{what}: operation {state or status} on {self.cluster.name}")
            self.clock.sleep(max(1.0, min(self.poll, parse_retry_after(headers.get("Retry-After")) or self.poll)))
