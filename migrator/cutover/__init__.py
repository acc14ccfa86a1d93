"""Changing clusters: cutover, rollback, unbind and finalize (docs/cutover.md).

::

    operations/   one module per command, each a list of steps (check → act → verify) and what the
                  executor needs around them: namespace_cutover.py, rollback.py, unbind.py, finalize.py
    preflight.py  the read-only checks before anything changes (the cutover's step 1, the lease check)
    rollout.py    the template step: patch → wait for the rollout → check the pods (cutover 5/6, rollback 3/4)
    nmi.py        what NMI's logs say about a namespace's pods (--check-nmi-logs)
    target.py     what the plan asks of one (cluster, namespace) — pure
    objects.py    judgements on raw objects: templates, patches, rollouts, injection — pure
    status.py     where each namespace stands, read from the cluster (cutover status)
    timestamps.py how moments are written in records, leases and the journal
    errors.py     the error subtree and its exit codes
    engine/       runs steps: executor, context (Run, Step, StepResult), lease, record (and its typed
                  progress), journal, console output
    clients/      the edges: Kubernetes (kube_api), ARM writes, the Entra token exchange, connection

The commands (``migrator.commands``) import from here.
"""

from migrator.cutover.clients.connection import Access, Connections
from migrator.cutover.engine.console import Reporter, make_reporter
from migrator.cutover.engine.context import Interrupts, Options, Run, Step
from migrator.cutover.engine.executor import Operation, Outcome, execute, make_run, new_journal
from migrator.cutover.engine.journal import Journal, default_journal_path
from migrator.cutover.engine.lease import CLUSTER_LEASE, CLUSTER_LEASE_NAMESPACE
from migrator.cutover.errors import (
    AzureLoginFailed,
    ClusterUnreachable,
    ConfirmationRefused,
    Interrupted,
    LeaseHeld,
    LeaseLost,
    StepError,
    StepFailed,
    StepRefused,
)
from migrator.cutover.operations.finalize import finalize_operation, terraform_disable_addon
from migrator.cutover.operations.namespace_cutover import cutover_operation
from migrator.cutover.operations.rollback import rollback_operation
from migrator.cutover.operations.unbind import unbind_operation
from migrator.cutover.preflight import refuse_if_the_plan_blocks
from migrator.cutover.status import NamespaceStatus, namespace_status
from migrator.cutover.target import (
    NamespaceTarget,
    WorkloadTarget,
    cluster_plan,
    cluster_target,
    load_plan,
    namespace_target,
    planned_namespaces,
)

__all__ = [
    "CLUSTER_LEASE",
    "CLUSTER_LEASE_NAMESPACE",
    "Access",
    "AzureLoginFailed",
    "ClusterUnreachable",
    "ConfirmationRefused",
    "Connections",
    "Interrupted",
    "Interrupts",
    "Journal",
    "LeaseHeld",
    "LeaseLost",
    "NamespaceStatus",
    "NamespaceTarget",
    "Operation",
    "Options",
    "Outcome",
    "Reporter",
    "Run",
    "Step",
    "StepError",
    "StepFailed",
    "StepRefused",
    "WorkloadTarget",
    "cluster_plan",
    "cluster_target",
    "cutover_operation",
    "default_journal_path",
    "execute",
    "finalize_operation",
    "load_plan",
    "make_reporter",
    "make_run",
    "namespace_status",
    "namespace_target",
    "new_journal",
    "planned_namespaces",
    "refuse_if_the_plan_blocks",
    "rollback_operation",
    "terraform_disable_addon",
    "unbind_operation",
]
