"""Where each namespace stands, read from the cluster itself (``migrate cutover status``).

The postconditions of the mutating steps are evaluated live (the same predicates the executor uses
to resume), then combined with the record's ``progress`` (the last operation and its state) and the
lease (who is working on it now). Nothing is read from the local machine, so any operator sees the
same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.cutover.engine.context import Run
from migrator.cutover.engine.lease import holder_of
from migrator.cutover.operations.namespace_cutover import Label, ServiceAccounts, Unlabel


@dataclass(frozen=True, slots=True)
class NamespaceStatus:
    cluster: str
    namespace: str
    stage: str  # not-started | service-accounts | labelling | labelled | cut-over | unbound | rolled-back | in-progress
    step: int  # the last step whose postcondition holds (0..6)
    summary: str
    lease: str | None = None
    operation: str | None = None

    @property
    def line(self) -> str:
        lease = f"  [{self.lease}]" if self.lease else ""
        return f"{self.namespace:<20} {self.summary}{lease}"


def namespace_status(run: Run) -> NamespaceStatus:
    t = run.target
    record = run.record
    progress = record.progress
    operation = progress.operation
    now = run.clock.now()
    holder = holder_of(run.kube.get("Lease", t.namespace, run.lease.name))
    lease = holder.describe(now) if holder is not None and holder.expires is not None and holder.expires > now \
        else (f"stale lease of {holder.identity} (expired)" if holder is not None else None)
    sa = ServiceAccounts().done(run)
    labelled = Label().done(run)
    unlabelled = Unlabel().done(run) and labelled
    removed = record.keys("removed.")

    def status(stage: str, step: int, summary: str) -> NamespaceStatus:
        return NamespaceStatus(t.cluster.name, t.namespace, stage, step, summary, lease=lease, operation=operation)

    waiting = [c for c in t.credentials if c.status in ("blocked", "pending-prerequisite")]
    if (t.blocked or waiting) and not operation:
        why = t.blocked[0].reason if t.blocked else f"credential {waiting[0].name} is {waiting[0].status}"
        return status("blocked", 0, f"blocked in the plan: {why}")
    if progress.state == "unbound" and unlabelled:
        return status("unbound", 6, f"unbound: cut over, {len(removed)} pod identity object(s) removed (kept in the "
                                    "record)")
    if sa and unlabelled:
        return status("cut-over", 6, "cut over (6/6); next: migrate unbind after a quiet period")
    if sa and labelled:
        return status("labelled", 5, "step 5/6 done: pods on workload identity, aadpodidbinding still set; next: "
                                     "step 6")
    if operation == "rollback" and progress.state == "rolled-back":
        return status("rolled-back", 0, f"rolled back to pod identity ({progress.completed or ''})")
    if sa:
        rolling = _label_in_progress(run)
        if rolling is not None:
            return status("labelling", 4, f"step 5/6 in progress: pod templates patched, {rolling}; a re-run "
                                          "waits for it")
        return status("service-accounts", 3, "step 3/6 done: service accounts annotated; next: step 4")
    if operation or record.keys("before."):
        return status("in-progress", 0, f"{operation or 'cutover'} started, no step complete "
                                        f"({progress.state or 'in progress'})")
    return status("not-started", 0, "not started")


def _label_in_progress(run: Run) -> str | None:
    """What step 5 still waits for, when it has started (recorded, or a template already carries the label);
    None when it has not."""
    label = Label()
    workloads = label.workloads(run)
    started = run.record.progress.label is not None and bool(run.record.progress.label.started)
    patched = False
    for w in workloads:
        obj = run.kube.get(w.kind, run.namespace, w.name)
        if obj is not None and label.patches(w) and label.holds(obj, w):
            patched = True
    if not (started or patched):
        return None
    pods = run.kube.list("Pod", run.namespace)
    for w in workloads:
        holds, why = label.judge(run, w, pods)
        if not holds:
            return f"waiting for {why}"
    return "rollouts complete"
