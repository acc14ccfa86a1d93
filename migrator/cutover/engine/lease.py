"""The namespace's lock: a ``coordination.k8s.io/v1`` Lease, so two operators never move one namespace
at once (and a cutover never races a rollback or an unbind of the same namespace).

* Acquire: create it; or take it over when it is released, or expired on our clock
  (``renewTime + leaseDurationSeconds`` passed), with the read ``resourceVersion`` as a precondition,
  so of two runs taking over at once exactly one wins. A live lease held by someone else is refused
  (or, with ``wait``, waited out on the injected clock).
* Renew: during long waits (rollouts, propagation), at a third of the duration.
* Release: delete it, with our ``resourceVersion`` as the precondition (never someone else's).

A crashed run leaves its lease behind: the next run takes it over once it expires.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from migrator.clock import Clock
from migrator.cutover.clients.kube_api import KubeApi, KubeApiError
from migrator.cutover.errors import LeaseHeld, LeaseLost
from migrator.cutover.timestamps import micro_time, parse_time

LEASE_NAME = "wi-migrator"
#: the lease of runs that act on the whole cluster (unbind without --namespace, finalize), and where it lives
CLUSTER_LEASE = "wi-migrator-cluster"
CLUSTER_LEASE_NAMESPACE = "default"
MANAGED_BY = {"app.kubernetes.io/managed-by": "wi-migrator"}


@dataclass(frozen=True, slots=True)
class Holder:
    identity: str
    operation: str | None
    renewed: _dt.datetime | None
    duration: int
    expires: _dt.datetime | None

    def describe(self, now: _dt.datetime) -> str:
        what = f"{self.operation} " if self.operation else ""
        if self.expires is None:
            return f"{what}held by {self.identity}"
        left = (self.expires - now).total_seconds()
        return f"{what}held by {self.identity}, lease expires in {max(0, int(left + 0.999))} s"


def holder_of(lease: dict[str, Any] | None) -> Holder | None:
    if not lease:
        return None
    spec = lease.get("spec") or {}
    identity = spec.get("holderIdentity")
    if not identity:
        return None
    renewed = parse_time(spec.get("renewTime") or spec.get("acquireTime"))
    duration = int(spec.get("leaseDurationSeconds") or 0)
    expires = renewed + _dt.timedelta(seconds=duration) if renewed else None
    operation = ((lease.get("metadata") or {}).get("annotations") or {}).get("wi-migrator/operation")
    return Holder(identity, operation, renewed, duration, expires)


class Lease:
    """One run's hold on one namespace's lease."""

    def __init__(self, kube: KubeApi, namespace: str, *, holder: str, operation: str, clock: Clock,
                 duration: int = 60, dry_run: bool = False, name: str = LEASE_NAME,
                 on_event: Callable[..., None] | None = None) -> None:
        self.kube = kube
        self.namespace = namespace
        self.holder = holder
        self.operation = operation
        self.clock = clock
        self.duration = duration
        self.dry_run = dry_run
        self.name = name
        self.on_event = on_event or (lambda *a, **k: None)
        self.resource_version: str | None = None
        self.renewed_at: float | None = None
        self.held = False

    def current(self) -> Holder | None:
        return holder_of(self.kube.get("Lease", self.namespace, self.name))

    def _spec(self, transitions: int) -> dict[str, Any]:
        now = micro_time(self.clock.now())
        return {"holderIdentity": self.holder, "leaseDurationSeconds": self.duration, "acquireTime": now,
                "renewTime": now, "leaseTransitions": transitions}

    def _body(self, transitions: int, rv: str | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self.name, "namespace": self.namespace, "labels": dict(MANAGED_BY),
                                "annotations": {"wi-migrator/operation": self.operation}}
        if rv:
            meta["resourceVersion"] = rv
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
                "spec": self._spec(transitions)}

    def acquire(self, *, wait: bool = False, max_wait: float = 3600.0) -> None:
        started = self.clock.monotonic()
        while True:
            lease = self.kube.get("Lease", self.namespace, self.name)
            try:
                if lease is None:
                    created = self.kube.create("Lease", self.namespace, self._body(0), dry_run=self.dry_run)
                    self._took(created, "acquired")
                    return
                holder = holder_of(lease)
                now = self.clock.now()
                free = holder is None or holder.identity == self.holder or (
                    holder.expires is not None and holder.expires <= now)
                if free:
                    transitions = int((lease.get("spec") or {}).get("leaseTransitions") or 0)
                    taken = self.kube.replace("Lease", self.namespace, self.name, self._body(
                        transitions + (1 if holder is not None else 0), lease["metadata"].get("resourceVersion")),
                        dry_run=self.dry_run)
                    self._took(taken, "taken over" if holder is not None else "acquired",
                               previous=holder.identity if holder else None)
                    return
            except KubeApiError as exc:
                if exc.status == 409:
                    continue  # somebody created or took it between our read and write: read again
                raise
            assert holder is not None and holder.expires is not None
            left = (holder.expires - now).total_seconds()
            if not wait or self.clock.monotonic() - started + left > max_wait:
                raise LeaseHeld(
                    f"namespace {self.namespace} is being changed by another run: {holder.describe(now)}",
                    hint="wait for it to finish; if that run died, run the same command again after the lease "
                         "expires (or pass --wait-for-lease to wait for it)")
            self.on_event("lease-wait", holder=holder.identity, seconds=left)
            self.clock.sleep(max(0.5, left + 0.5))

    def _took(self, lease: dict[str, Any], how: str, previous: str | None = None) -> None:
        self.resource_version = (lease.get("metadata") or {}).get("resourceVersion")
        self.renewed_at = self.clock.monotonic()
        self.held = True
        self.on_event("lease", how=how, previous=previous, dry_run=self.dry_run or None)

    def renew(self, force: bool = False) -> None:
        """Extend the lease (at a third of its duration unless ``force``); LeaseLost if taken over."""
        if not self.held or self.dry_run:
            return
        if not force and self.renewed_at is not None and \
                self.clock.monotonic() - self.renewed_at < self.duration / 3:
            return
        lease = self.kube.get("Lease", self.namespace, self.name)
        holder = holder_of(lease)
        if lease is None or holder is None or holder.identity != self.holder:
            self.held = False
            raise LeaseLost(f"lost the lease of namespace {self.namespace}"
                            + (f" to {holder.identity}" if holder else "") + "; stopped",
                            hint="another run took over after our lease expired; check `migrate cutover status` "
                                 "before running again")
        body = dict(lease)
        body["spec"] = {**(lease.get("spec") or {}), "renewTime": micro_time(self.clock.now())}
        try:
            renewed = self.kube.replace("Lease", self.namespace, self.name, body)
        except KubeApiError as exc:
            if exc.status == 409:
                self.renew(force=True)
                return
            raise
        self.resource_version = (renewed.get("metadata") or {}).get("resourceVersion")
        self.renewed_at = self.clock.monotonic()

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        if self.dry_run:
            return
        lease = self.kube.get("Lease", self.namespace, self.name)
        holder = holder_of(lease)
        if lease is None or holder is None or holder.identity != self.holder:
            return
        try:
            self.kube.delete("Lease", self.namespace, self.name,
                             resource_version=(lease.get("metadata") or {}).get("resourceVersion"))
        except KubeApiError as exc:
            if exc.status != 409:
                raise
        self.on_event("lease", how="released")
