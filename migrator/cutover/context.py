"""The context a step runs in: the target, the cluster's API, the record, the lease, the clock, the
reporter and journal, and the one way to wait (polling on the injected clock, renewing the lease,
stopping on Ctrl-C)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from migrator.clock import Clock
from migrator.cutover.connect import Access, Connections
from migrator.cutover.errors import Interrupted, StepFailed
from migrator.cutover.journal import Journal
from migrator.cutover.kube import KubeApi
from migrator.cutover.lease import Lease
from migrator.cutover.record import Record
from migrator.cutover.report import Reporter
from migrator.cutover.target import NamespaceTarget
from migrator.inventory.model import ClusterInventory


class Step(Protocol):
    """A named unit of a command: ``check`` its precondition, ``act``, ``verify`` its postcondition.

    ``done`` judges the postcondition on the live cluster (how a re-run knows to skip it); steps that
    only read return False (they always run). ``verify`` returns the one-line summary shown.
    """

    key: str
    title: str
    mutates: bool

    def done(self, run: Run) -> bool: ...
    def check(self, run: Run) -> None: ...
    def act(self, run: Run) -> None: ...
    def verify(self, run: Run) -> str: ...


class StepBase:
    """Defaults for a step: it reads only, always runs (no postcondition to skip on), checks nothing first."""

    key = ""
    title = ""
    mutates = False

    def done(self, run: Run) -> bool:
        return False

    def check(self, run: Run) -> None:
        return None


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
    deferred: list[Any] = field(default_factory=list)  # credentials proved after their SA is created
    changed: int = 0  # objects changed (or that would be, in a dry run)
    plan_ref: str = "plan.json"  # the plan file as the user named it (shown in "run again" lines)
    scope: str | None = None  # what the run acts on, when not one namespace ("cluster aks-prod-weu")
    cache: dict[str, Any] = field(default_factory=dict)  # live facts computed once per run (steps' done())

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
