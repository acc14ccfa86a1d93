"""Changing clusters: cutover, rollback, unbind and finalize (docs/cutover.md).

::

    target.py    what the plan asks of one (cluster, namespace) — pure
    objects.py   judgements on raw objects: templates, patches, rollouts, injection — pure
    steps.py     the cutover's six steps (check → act → verify, each idempotent)
    rollback.py  unbind.py  finalize.py   the other commands' steps, on the same executor
    cutover.py   the cutover as an executor operation (question, progress record, next steps)
    state.py     where each namespace stands, read from the cluster (cutover status)
    timestamps.py  how moments are written in records, leases and the journal
    errors.py    the error subtree and its exit codes
    engine/      runs steps: executor, context (Run, Step), lease, record, journal, console output
    clients/     the edges: Kubernetes (kube_api), ARM writes, the Entra token exchange, connection
"""

from migrator.cutover.clients.connection import Access, Connections
from migrator.cutover.engine.context import Interrupts, Options, Run, Step
from migrator.cutover.engine.executor import Operation, Outcome, execute, make_run
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
