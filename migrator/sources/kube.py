"""Live Kubernetes source: paged LISTs through the official client, raw JSON into the one decoder.

Per cluster: at most ``lists_in_flight`` LISTs at once (a 500-item page already costs the API
server's maximum fairness seats), ``limit``/``continue`` pagination as kubectl does, a restart of the
list when a continue token expires (410), retries with backoff and jitter on 429/5xx/connection
errors honouring Retry-After, a timeout per request. A request that times out is retried once
(``timeout_attempts``): an API server that hangs costs two timeouts, not six, and the cluster's read
fails as soon as one kind has used its budget. The cluster's deadline (``deadline``, on the injected
clock) bounds the whole read: no attempt starts, and no backoff is slept, past it.

A 404 for a kind the API server does not serve: a custom kind (its CRD is not installed) has none; a
built-in kind of ``OPTIONAL_KINDS`` (an API this Kubernetes version lacks, such as
ValidatingAdmissionPolicy before 1.30) is not captured (``None``), as a missing snapshot file is, and
the cluster is still read; a 404 for any other kind (``ESSENTIAL_KINDS``) fails the cluster.

The response bytes go straight to
``decode.kube_pages.decode_page``: the client's model deserialization (about 1.3 s and 150 MB per 2,000 pods)
is never used, and only the projected fields of each page are kept.

Pages above 128 KiB come gzipped (``Accept-Encoding: gzip``, as kubectl asks). The live reader's
sessions leave them compressed (``auto_decompress=False``) and they are inflated on a worker thread:
zlib releases the GIL, so inflating overlaps the event loop's decoding instead of queueing behind it
(a fifth of the loop's time otherwise).

Only GET requests are ever made.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from migrator.clock import Clock, SystemClock
from migrator.decode.kube_pages import decode_page
from migrator.errors import SourceError
from migrator.kinds import KINDS, KindInfo
from migrator.sources.retry import RETRYABLE_STATUS, RetryPolicy, parse_retry_after


@dataclass(frozen=True)
class KubeReadOptions:
    page_limit: int = 500
    lists_in_flight: int = 3
    request_timeout: float = 30.0
    max_list_restarts: int = 3
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: attempts of a request that times out (connection errors and 429/5xx get ``retry.max_attempts``)
    timeout_attempts: int = 2


#: kinds without which the catalog cannot judge a cluster: who runs (pods and the workload kinds that own
#: them), as whom (service accounts), where (namespaces). A 404 for one of them fails the cluster.
ESSENTIAL_KINDS = frozenset({"pods", "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs",
                             "serviceaccounts", "namespaces"})
#: built-in kinds a cluster may not serve (404): not captured, and the findings that need them say so
OPTIONAL_KINDS = frozenset(p for p, info in KINDS.items() if not info.custom and p not in ESSENTIAL_KINDS)


class DeadlinePassed(SourceError):
    """The cluster's deadline passed (on the injected clock) before its read completed."""


@dataclass
class ReadStats:
    """Counted per cluster; the benchmarks and the closing notes read them."""

    requests: int = 0
    bytes: int = 0
    retries: int = 0
    restarts: int = 0


_GZIP_MAGIC = b"\x1f\x8b"  # a JSON body never starts with these bytes
_inflater: ThreadPoolExecutor | None = None
_inflater_lock = threading.Lock()


def _gunzip(data: bytes) -> bytes:
    return zlib.decompress(data, 16 + zlib.MAX_WBITS)


async def _inflate(data: bytes) -> bytes:
    """A gzip body inflated on a worker thread (a body the session already inflated is returned as is)."""
    global _inflater
    if not data.startswith(_GZIP_MAGIC):
        return data
    if _inflater is None:
        with _inflater_lock:
            if _inflater is None:
                _inflater = ThreadPoolExecutor(max_workers=2, thread_name_prefix="inflate")
    return await asyncio.get_running_loop().run_in_executor(_inflater, _gunzip, data)


class _Permanent(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _status_message(status: int, body: bytes) -> str:
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and doc.get("message"):
            return str(doc["message"])
    except ValueError:
        pass
    return body[:200].decode("utf-8", "replace") or f"HTTP {status}"


class KubeLister:
    """Reads every kind of one cluster through an ``kubernetes.aio`` ApiClient."""

    def __init__(self, api: Any, cluster: str, *, options: KubeReadOptions = KubeReadOptions(),
                 clock: Clock | None = None, rng: random.Random | None = None,
                 on_page: Any = None, deadline: float | None = None) -> None:
        self.api = api
        self.on_page = on_page  # (plural, bytes, first) for every page read: `migrate snapshot`
        self.cluster = cluster
        self.options = options
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.stats = ReadStats()
        self.deadline = deadline  # on ``clock.monotonic()``; None: no deadline
        self._slots = asyncio.Semaphore(options.lists_in_flight)

    async def read_kinds(self, plurals: list[str] | None = None) -> dict[str, tuple[Any, ...] | None]:
        plurals = plurals or list(KINDS)
        results = await asyncio.gather(*(self._list(KINDS[p]) for p in plurals))
        return dict(zip(plurals, results, strict=True))

    def _remaining(self, path: str) -> float | None:
        """Seconds left before the deadline; raises ``DeadlinePassed`` when none are."""
        if self.deadline is None:
            return None
        remaining = self.deadline - self.clock.monotonic()
        if remaining <= 0:
            raise DeadlinePassed(f"GET {path}: the cluster's deadline passed")
        return remaining

    async def _get(self, path: str, query: list[tuple[str, Any]], timeout: float) -> tuple[int, Any, bytes]:
        method, url, headers, _, _ = await self.api.param_serialize(
            "GET", path, query_params=query, header_params={"Accept": "application/json", "Accept-Encoding": "gzip"},
            auth_settings=["BearerToken"],
        )
        async with self.clock.timeout(timeout):  # the whole exchange, on the injected clock
            response = await self.api.call_api(method, url, header_params=headers)
            try:
                body = await response.read()
            finally:
                response.response.release()
        body = await _inflate(body)
        self.stats.requests += 1
        self.stats.bytes += len(body)
        return response.status, response.headers, body

    async def _get_with_retries(self, path: str, query: list[tuple[str, Any]]) -> tuple[int, bytes]:
        policy = self.options.retry
        attempt = timeouts = 0
        while True:
            attempt += 1
            retry_after = None
            remaining = self._remaining(path)
            timeout = self.options.request_timeout if remaining is None else min(self.options.request_timeout,
                                                                                 remaining)
            try:
                status, headers, body = await self._get(path, query, timeout)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                if isinstance(exc, asyncio.TimeoutError):
                    if timeout < self.options.request_timeout:
                        raise DeadlinePassed(f"GET {path} timed out at the cluster's deadline") from None
                    timeouts += 1
                    if timeouts >= self.options.timeout_attempts or attempt >= policy.max_attempts:
                        raise SourceError(f"GET {path} timed out after {attempt} attempts "
                                          f"({timeouts} timeouts of {self.options.request_timeout:g} s)") from None
                elif attempt >= policy.max_attempts:
                    raise SourceError(f"GET {path} failed: {exc} after {attempt} attempts") from None
            else:
                if status not in RETRYABLE_STATUS:
                    return status, body
                if attempt >= policy.max_attempts:
                    raise SourceError(f"GET {path}: HTTP {status} after {attempt} attempts: "
                                      f"{_status_message(status, body)}")
                retry_after = parse_retry_after(headers.get("Retry-After"))
            self.stats.retries += 1
            delay = policy.delay(attempt, retry_after, self.rng)
            remaining = self._remaining(path)
            if remaining is not None and delay >= remaining:
                raise DeadlinePassed(f"GET {path}: the next attempt (in {delay:g} s) would start past the "
                                     f"cluster's deadline")
            await self.clock.asleep(delay)

    async def _list(self, info: KindInfo) -> tuple[Any, ...] | None:
        async with self._slots:
            restarts = 0
            while True:
                items: list[Any] = []
                token: str | None = None
                expired = False
                while True:
                    query: list[tuple[str, Any]] = [("limit", self.options.page_limit)]
                    if token:
                        query.append(("continue", token))
                    status, body = await self._get_with_retries(info.list_path, query)
                    if status == 410:
                        expired = True
                        break
                    if status == 404 and info.custom:
                        return ()  # the group or CRD is not served: there can be none
                    if status == 404 and info.plural in OPTIONAL_KINDS:
                        return None  # this API server does not serve the kind: not captured
                    if status == 404:
                        raise SourceError(f"list {info.plural}: the API server does not serve {info.list_path} "
                                          f"(HTTP 404), and the catalog cannot judge a cluster without "
                                          f"{info.plural}", hint="check that the API server is a Kubernetes one "
                                          "and the cluster's version (1.21 or later)")
                    if status in (401, 403):
                        raise SourceError(self._forbidden(info, status, body))
                    if status != 200:
                        raise SourceError(f"list {info.plural}: HTTP {status}: {_status_message(status, body)}")
                    page = decode_page(info.plural, body, origin=f"{self.cluster}:{info.list_path}")
                    if self.on_page is not None:
                        self.on_page(info.plural, body, len(query) == 1)  # first page: a (re)start
                    items.extend(page.items)
                    token = page.continue_token
                    if not token:
                        return tuple(items)
                if expired:
                    restarts += 1
                    self.stats.restarts += 1
                    if restarts > self.options.max_list_restarts:
                        raise SourceError(f"list {info.plural}: the continue token expired {restarts} times; "
                                          "the API server compacts faster than the list can be read")

    def _forbidden(self, info: KindInfo, status: int, body: bytes) -> str:
        resource = f"{info.plural}.{info.group}" if info.group else info.plural
        if status == 401:
            return "unauthorized (401): the credentials were refused; log in again (az login / kubelogin)"
        return (f"forbidden (403): needs 'list {resource}' at cluster scope "
                f"({_status_message(status, body)}); see docs/permissions.md")
