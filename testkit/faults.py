"""Faults on demand and the request log, shared by the Kubernetes and Azure servers.

A :class:`Fault` has a *match* part (which requests it applies to), a *schedule* (how many
matching requests it fires on) and an *action* (latency, an HTTP error with optional
``Retry-After``, a request that hangs, a dropped connection).  Faults live in a
:class:`FaultSet` (``server.faults``) and are evaluated in the order they were added: the latency
of every matching fault adds up, the first matching terminal action (status / hang / drop) wins
and later terminal faults are not consumed.

Every request is recorded as a :class:`RequestRecord` in ``server.log`` (a :class:`RequestLog`,
also reachable as the list ``server.requests``) with its method, path, query, dry-run flag,
parsed route (cluster, verb, resource, namespace, name; subscription for ARM) and final status.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

__all__ = [
    "Fault", "FaultSet", "FaultAction", "RequestRecord", "RequestLog",
    "latency", "throttle", "error", "hang", "drop", "forbidden", "nth_write", "down",
]


@dataclass
class RequestRecord:
    """One request as the server saw it.  ``status`` is ``None`` while the request is in flight
    (or hanging) and ``0`` when the connection was dropped without a response."""

    service: str                      # "kube", "arm" or "aad"
    method: str
    path: str                         # path as routed (for kube: without the /clusters/<name> prefix)
    query: dict[str, str]
    raw_path: str = ""                # path exactly as sent
    dry_run: bool = False
    status: int | None = None
    cluster: str | None = None
    verb: str | None = None           # kube: list/get/create/update/patch/delete/deletecollection/watch
    group: str | None = None
    version: str | None = None
    resource: str | None = None       # kube plural, or ARM resource type's last segment
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None
    subscription: str | None = None
    resource_group: str | None = None
    operation: str | None = None      # ARM/AAD: short operation name (e.g. "fic.put")
    user: str | None = None
    content_type: str | None = None
    body: bytes | None = None         # request body of writes
    mutating: bool = False            # a state-changing verb (dry runs included; see dry_run)
    fault: str | None = None          # description of the fault that answered, if any
    clock_time: float = 0.0           # injected clock, monotonic()
    started: float = field(default_factory=time.monotonic)
    duration: float | None = None

    @property
    def is_write(self) -> bool:
        """A state-changing request (dry runs included; check ``dry_run``)."""
        return self.mutating

    def json(self) -> Any:
        import json

        return json.loads(self.body) if self.body else None


class RequestLog:
    """Thread-safe list of :class:`RequestRecord`, with the assertions tests need most."""

    def __init__(self, enabled: bool = True, max_records: int | None = None) -> None:
        self.enabled = enabled
        self.max_records = max_records
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def append(self, rec: RequestRecord) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._records.append(rec)
            if self.max_records is not None and len(self._records) > self.max_records:
                del self._records[: len(self._records) - self.max_records]

    @property
    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def filter(self, **attrs: Any) -> list[RequestRecord]:
        """Records whose attributes equal every given value, e.g. ``filter(verb="patch", cluster="a")``."""
        return [r for r in self.records if all(getattr(r, k) == v for k, v in attrs.items())]

    def writes(self, **attrs: Any) -> list[RequestRecord]:
        return [r for r in self.filter(**attrs) if r.mutating]

    def assert_no_writes(self, **attrs: Any) -> None:
        w = self.writes(**attrs)
        assert not w, "expected no writes, got: " + "; ".join(f"{r.method} {r.raw_path or r.path}" for r in w)

    def assert_writes_dry_run(self, **attrs: Any) -> None:
        w = [r for r in self.writes(**attrs) if not r.dry_run]
        assert not w, "writes that were not dry runs: " + "; ".join(f"{r.method} {r.raw_path or r.path}" for r in w)


@dataclass
class FaultAction:
    """What the fault set decided for one request."""

    latency: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    body: Any = None
    message: str | None = None
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool | float = False
    drop: bool = False
    advance_clock: float = 0.0
    fault: "Fault | None" = None

    @property
    def terminal(self) -> bool:
        return bool(self.status or self.hang or self.drop)


def _as_set(v: Any) -> set[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return {v.lower()}
    return {str(x).lower() for x in v}


@dataclass
class Fault:
    """A fault.  Match fields left ``None`` match everything.

    Schedule: the fault looks at every matching request; it skips the first ``after`` of them,
    then fires on the next ``times`` (``None`` = forever).  ``nth=3`` is shorthand for
    "fire on the 3rd matching request only" (``after=2, times=1``).
    """

    # match
    service: str | None = None                 # "kube" | "arm" | "aad"
    cluster: str | None = None
    method: str | Iterable[str] | None = None
    verb: str | Iterable[str] | None = None
    resource: str | Iterable[str] | None = None  # kube plural / ARM type segment; case-insensitive
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None
    subscription: str | None = None
    operation: str | Iterable[str] | None = None
    path: str | None = None                    # regex, searched in the routed path
    writes_only: bool = False
    dry_run: bool | None = None
    when: Callable[[RequestRecord], bool] | None = None
    # schedule
    times: int | None = None
    after: int = 0
    nth: int | None = None
    # action
    status: int | None = None
    retry_after: float | None = None
    body: Any = None                           # dict (JSON) or bytes; default: a body in the service's error format
    message: str | None = None
    reason: str | None = None                  # kube Status reason / ARM error code
    headers: dict[str, str] = field(default_factory=dict)
    latency: float = 0.0                       # seconds of real time added before answering
    advance_clock: float = 0.0                 # seconds the server advances the shared clock (a ManualClock) first
    hang: bool | float = False                 # True: until released/stopped; float: that many real seconds, then drop
    drop: bool = False                         # close the connection without a response
    label: str | None = None
    # runtime
    seen: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.nth is not None:
            self.after = self.nth - 1
            if self.times is None:
                self.times = 1
        self._methods = _as_set(self.method)
        self._verbs = _as_set(self.verb)
        self._resources = _as_set(self.resource)
        self._operations = _as_set(self.operation)
        self._path_re = re.compile(self.path) if self.path else None

    def matches(self, rec: RequestRecord) -> bool:
        if self.service is not None and rec.service != self.service:
            return False
        if self.cluster is not None and rec.cluster != self.cluster:
            return False
        if self._methods is not None and rec.method.lower() not in self._methods:
            return False
        if self._verbs is not None and (rec.verb or "").lower() not in self._verbs:
            return False
        if self._resources is not None and (rec.resource or "").lower() not in self._resources:
            return False
        if self.subresource is not None and rec.subresource != self.subresource:
            return False
        if self.namespace is not None and rec.namespace != self.namespace:
            return False
        if self.name is not None and rec.name != self.name:
            return False
        if self.subscription is not None and (rec.subscription or "").lower() != self.subscription.lower():
            return False
        if self._operations is not None and (rec.operation or "").lower() not in self._operations:
            return False
        if self._path_re is not None and not self._path_re.search(rec.path):
            return False
        if self.writes_only and not rec.mutating:
            return False
        if self.dry_run is not None and rec.dry_run != self.dry_run:
            return False
        if self.when is not None and not self.when(rec):
            return False
        return True

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def describe(self) -> str:
        if self.label:
            return self.label
        what = (f"status={self.status}" if self.status else "hang" if self.hang else "drop" if self.drop
                else f"latency={self.latency}")
        return f"Fault({what})"


class FaultSet:
    """The faults of one server; thread-safe."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.latency: float = 0.0  # added to every request (real seconds)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.latency = 0.0

    def __iter__(self) -> Iterator[Fault]:
        with self._lock:
            return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def evaluate(self, rec: RequestRecord) -> FaultAction:
        action = FaultAction(latency=self.latency)
        with self._lock:
            terminal_found = False
            for f in self._faults:
                is_terminal = bool(f.status or f.hang or f.drop)
                if (terminal_found and is_terminal) or f.exhausted or not f.matches(rec):
                    continue
                f.seen += 1
                if f.seen <= f.after:
                    continue
                f.fired += 1
                action.latency += f.latency
                action.advance_clock += f.advance_clock
                if is_terminal:
                    terminal_found = True
                    action.status = f.status
                    action.retry_after = f.retry_after
                    action.body = f.body
                    action.message = f.message
                    action.reason = f.reason
                    action.headers = dict(f.headers)
                    action.hang = f.hang
                    action.drop = f.drop
                    action.fault = f
                    continue
                if action.fault is None:
                    action.fault = f
        return action


# -- helpers that read well in tests -------------------------------------------------------
def latency(seconds: float, **match: Any) -> Fault:
    """Delay matching requests by ``seconds`` of real time (does not occupy a thread)."""
    return Fault(latency=seconds, **match)


def throttle(retry_after: float | None = 1, times: int | None = 1, **match: Any) -> Fault:
    """HTTP 429 with ``Retry-After`` (omitted when ``retry_after`` is None)."""
    return Fault(status=429, retry_after=retry_after, times=times, **match)


def error(status: int = 500, times: int | None = 1, **match: Any) -> Fault:
    return Fault(status=status, times=times, **match)


def hang(seconds: bool | float = True, times: int | None = 1, advance_clock: float = 0.0, **match: Any) -> Fault:
    """The request never gets an answer (until ``server.release_hangs()``, ``seconds`` of real
    time, or server stop; then the connection is dropped).  Clients see their read timeout.

    ``advance_clock``: while the request hangs, that many seconds pass on the shared clock (the
    server advances its ``ManualClock``), so a client keeping its request timeout on the same clock
    times out at once and deterministically, without waiting real time."""
    return Fault(hang=seconds, times=times, advance_clock=advance_clock, **match)


def drop(times: int | None = 1, **match: Any) -> Fault:
    return Fault(drop=True, times=times, **match)


def down(cluster: str) -> Fault:
    """Every request to ``cluster`` gets its connection dropped (see also ``KubeServer.set_down``,
    which for per-cluster ports refuses connections outright)."""
    return Fault(cluster=cluster, drop=True, label=f"down({cluster})")


def forbidden(resource: str, verb: str | Iterable[str] | None = None, times: int | None = None,
              **match: Any) -> Fault:
    """403 on one kind; the Kubernetes server words it like an RBAC denial for the caller."""
    return Fault(status=403, resource=resource, verb=verb, times=times, reason="Forbidden",
                 label=f"forbidden({resource})", **match)


def nth_write(n: int, status: int = 500, **match: Any) -> Fault:
    """The ``n``-th state-changing request (1-based) fails with ``status``."""
    return Fault(writes_only=True, nth=n, status=status, **match)
