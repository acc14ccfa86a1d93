"""The context a step runs in: the target, the cluster's API, the record, the lease, the clock, the
reporter and journal; the one way to wait (polling on the injected clock, renewing the lease,
stopping on Ctrl-C), the one way to patch a live object (with its resourceVersion as a precondition)
and the managed-cluster writer set up for this run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from migrator.clock import Clock
from migrator.cutover.clients.arm_writes import ManagedClusterWriter
from migrator.cutover.clients.connection import Access, Connections
from migrator.cutover.clients.kube_api import KubeApi, KubeApiError
from migrator.cutover.engine.console import Reporter
from migrator.cutover.engine.journal import Journal
from migrator.cutover.engine.lease import Lease
from migrator.cutover.engine.record import Record
from migrator.cutover.errors import Interrupted, StepFailed
from migrator.cutover.target import NamespaceTarget
from migrator.escape import sh_flag
from migrator.inventory.model import ClusterInventory
from migrator.plan.model import Credential


def migrate_command(verb: str, plan_ref: str, cluster: str, namespace: str | None = None,
                    *extra: tuple[str, str]) -> str:
    """A ``migrate`` command line to copy and paste: every value one shell word as ``--flag=value`` (the escaping
    the runbooks use), so a name can neither split the command nor pass for a flag."""
    words = [f"migrate {verb}", sh_flag("--plan", plan_ref), sh_flag("--cluster", cluster)]
    if namespace is not None:
        words.append(sh_flag("--namespace", namespace))
    words += [sh_flag(flag, value) for flag, value in extra]
    return " ".join(words)


@dataclass(frozen=True, slots=True)
class StepResult:
    """What a step's ``act`` did: handed to its ``verify`` (which turns it into the summary shown) and kept
    in the run's ``Outcome``, so nothing is left on the step object between the two calls."""

    count: int = 0  # the objects it acted on: changed, created, removed, proved or checked
    lines: tuple[str, ...] = ()  # what it has to say at the end of the run (finalize's list of what is left)


class Step(Protocol):
    """A named unit of a command: ``check`` its precondition, ``act``, ``verify`` its postcondition.

    The executor calls exactly these. ``done`` judges the postcondition on the live cluster (how a
    re-run knows to skip a mutating step; steps that only read return False and always run), and
    ``why_skipped`` says why it holds when that is more than "already done" (None: nothing more to say).
    ``act`` returns what it did; ``verify`` receives it and returns the one-line summary shown.
    """

    key: str
    title: str
    mutates: bool

    def done(self, run: Run) -> bool: ...
    def why_skipped(self, run: Run) -> str | None: ...
    def check(self, run: Run) -> None: ...
    def act(self, run: Run) -> StepResult: ...
    def verify(self, run: Run, result: StepResult) -> str: ...


class StepBase:
    """Defaults for a step: it reads only, always runs (no postcondition to skip on), checks nothing first
    and does nothing in ``act`` (the preflights do their work in ``check``); ``verify`` is its own."""

    key = ""
    title = ""
    mutates = False

    def done(self, run: Run) -> bool:
        return False

    def why_skipped(self, run: Run) -> str | None:
        return None

    def check(self, run: Run) -> None:
        return None

    def act(self, run: Run) -> StepResult:
        return StepResult()

    def verify(self, run: Run, result: StepResult) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Options:
    dry_run: bool = False
    yes: bool = False
    rollout_timeout: float = 600.0  # per rollout wait, on the clock
    propagation_timeout: float = 300.0  # AADSTS70021 retries, on the clock
    poll: float = 5.0  # seconds between polls while waiting
    lease_duration: int = 60
    wait_for_lease: bool = False
    check_nmi_logs: bool = False


class Interrupts:
    """Ctrl-C as a request to stop at the next step boundary (a second Ctrl-C stops at once)."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def request(self) -> None:
        self.requested = True

    def check(self, where: str = "") -> None:
        if self.requested:
            raise Interrupted(f"interrupted (Ctrl-C){' ' + where if where else ''}")


@dataclass
class Run:
    """One command's run against one namespace."""

    target: NamespaceTarget
    kube: KubeApi
    conn: Connections
    access: Access
    options: Options
    reporter: Reporter
    journal: Journal
    record: Record
    lease: Lease
    interrupts: Interrupts = field(default_factory=Interrupts)
    issuer: str | None = None  # the issuer the cluster reports now (preflight)
    inventory: ClusterInventory | None = None
    deferred: list[Credential] = field(default_factory=list)  # credentials proved after their SA is created
    changed: int = 0  # objects changed (or that would be, in a dry run)
    plan_ref: str = "plan.json"  # the plan file as the user named it (shown in "run again" lines)
    scope: str | None = None  # what the run acts on, when not one namespace ("cluster aks-prod-weu")

    @property
    def label(self) -> str:
        return self.scope or f"{self.target.cluster.name}/{self.target.namespace}"

    @property
    def where(self) -> dict[str, str]:
        if self.scope:
            return {"cluster": self.target.cluster.name, "scope": self.scope}
        return {"cluster": self.target.cluster.name, "namespace": self.target.namespace}

    @property
    def clock(self) -> Clock:
        return self.access.clock

    @property
    def namespace(self) -> str:
        return self.target.namespace

    @property
    def dry_run(self) -> bool:
        return self.options.dry_run

    def wait_until(self, what: str, probe: Callable[[], tuple[bool, str, str | None]], *, timeout: float,
                   on_timeout: Callable[[str, float], str]) -> float:
        """Poll ``probe`` -> (done, progress, failure) on the clock until done; returns seconds waited.

        Renews the lease between polls and stops on Ctrl-C; a failure or the timeout raises StepFailed.
        """
        started = self.clock.monotonic()
        while True:
            done, progress, failure = probe()
            elapsed = self.clock.monotonic() - started
            if done:
                self.reporter.done_waiting()
                return elapsed
            if failure:
                raise StepFailed(f"{what}: {failure}")
            if elapsed >= timeout:
                raise StepFailed(on_timeout(progress, elapsed))
            self.reporter.waiting(f"{what}: {progress} ({int(elapsed)} s)")
            self.interrupts.check(f"while waiting for {what}")
            self.lease.renew()
            self.clock.sleep(min(self.options.poll, max(0.1, timeout - elapsed)))

    def patch_live(self, kind: str, name: str, build: Callable[[dict[str, Any]], dict[str, Any]],
                   content_type: str | None = None, first: dict[str, Any] | None = None) -> dict[str, Any]:
        """Patch built from the live object, with its resourceVersion as a precondition (the world must not
        have moved between our read and our write); on a conflict, read again and rebuild."""
        live = first
        for _attempt in range(4):
            if live is None:
                live = self.kube.get(kind, self.namespace, name)
                if live is None:
                    raise StepFailed(f"{kind}/{name} disappeared")
            body = build(live)
            body.setdefault("metadata", {})["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
            try:
                return self.kube.patch(kind, self.namespace, name, body, dry_run=self.dry_run,
                                       content_type=content_type)
            except KubeApiError as exc:
                if exc.status in (401, 403):
                    raise  # the executor says which permission is missing
                if exc.status != 409:
                    raise StepFailed(f"{kind}/{name}: {exc.api_message}") from None
                live = None
        raise StepFailed(f"{kind}/{name} kept changing under us (409 Conflict four times): run again")

    def managed_cluster_writer(self) -> ManagedClusterWriter:
        """The cluster's ``podIdentityProfile`` writer, its waits reported, journalled, interruptible and
        renewing the lease."""
        def on_event(event: str, why: str) -> None:
            self.reporter.waiting(why)
            self.journal.write(event, **self.where, why=why)
            self.interrupts.check()
            self.lease.renew()

        return ManagedClusterWriter(self.conn.arm, self.target.cluster, clock=self.clock, retry=self.access.retry,
                                    timeout=self.options.rollout_timeout * 3, poll=self.options.poll * 3,
                                    on_event=on_event)
