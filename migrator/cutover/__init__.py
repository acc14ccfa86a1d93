"""Changing clusters: cutover, rollback, unbind and finalize (docs/cutover.md).

::

    target.py    what the plan asks of one (cluster, namespace) — pure
    objects.py   judgements on raw objects: templates, patches, rollouts, injection — pure
    steps.py     the cutover's six steps (check → act → verify, each idempotent)
    rollback.py  unbind.py  finalize.py   the other commands' steps, on the same executor
    cutover.py   the cutover as an executor operation (question, progress record, next steps)
    executor.py  runs steps: resume from live state, ask, lease, journal, Ctrl-C
    context.py   Run (what a step sees), Options, Interrupts, Step, the one wait loop
    state.py     where each namespace stands, read from the cluster (cutover status)
    lease.py     record.py   journal.py   the lock and the two records (in the cluster, local)
    kube.py      connect.py  armwrite.py  federation.py   the edges: Kubernetes, ARM, Entra
    report.py    rich or plain output
    errors.py    the error subtree and its exit codes
"""

from migrator.cutover.connect import Access, Connections
from migrator.cutover.context import Interrupts, Options, Run, Step
from migrator.cutover.errors import (
    ClusterUnreachable,
    ConfirmationRefused,
    Interrupted,
    LeaseHeld,
    LeaseLost,
    StepError,
    StepFailed,
    StepRefused,
)
from migrator.cutover.executor import Operation, Outcome, execute, make_run
from migrator.cutover.target import (
    NamespaceTarget,
    WorkloadTarget,
    load_plan,
    namespace_target,
)

__all__ = [
    "Access",
    "ClusterUnreachable",
    "ConfirmationRefused",
    "Connections",
    "Interrupted",
    "Interrupts",
    "LeaseHeld",
    "LeaseLost",
    "NamespaceTarget",
    "Operation",
    "Options",
    "Outcome",
    "Run",
    "Step",
    "StepError",
    "StepFailed",
    "StepRefused",
    "WorkloadTarget",
    "execute",
    "load_plan",
    "make_run",
    "namespace_target",
]
