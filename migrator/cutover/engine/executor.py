"""Runs named steps against one namespace: the I/O loop around the operations' steps.

For each step in order: stop if Ctrl-C was pressed; skip a mutating step whose postcondition already
holds on the live cluster (that is how a re-run resumes); otherwise check → act → verify, reporting
and journalling each. Before the first write: ask (unless ``--yes`` or ``--dry-run``; with nobody
to ask, refuse), then take the namespace's lease. The lease is released however the run ends (a
crash leaves it to expire). Used by cutover, rollback and unbind alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrator.cutover.clients.connection import Access, Connections
from migrator.cutover.clients.kube_api import KubeApiError
from migrator.cutover.engine.console import Reporter, can_ask
from migrator.cutover.engine.context import Interrupts, Options, Run, Step, StepResult
from migrator.cutover.engine.journal import Journal, new_run_id
from migrator.cutover.engine.lease import Lease
from migrator.cutover.engine.record import Record
from migrator.cutover.errors import (
    ClusterUnreachable,
    ConfirmationRefused,
    Interrupted,
    LeaseHeld,
    StepError,
    StepFailed,
    Unrecorded,
)
from migrator.cutover.target import NamespaceTarget
from migrator.errors import MigratorError


@dataclass
class Outcome:
    completed: bool
    changed: int
    steps_run: list[str] = field(default_factory=list)
    steps_skipped: list[str] = field(default_factory=list)
    results: dict[str, StepResult] = field(default_factory=dict)  # what each step that ran did, by key


@dataclass
class Operation:
    """What the executor needs to know about one command (cutover, rollback, unbind)."""

    name: str  # the lease's operation and the journal's command
    title: str
    steps: Sequence[Step]
    command: str  # how to run it again (shown when resuming)
    confirm: Callable[[Run, list[Step]], list[str]]  # what will change (the pending steps), for the question
    finished: Callable[[Run, Outcome], list[str]]  # closing lines (next steps), from what the steps did
    on_step_done: Callable[[Run, Step], None] = lambda run, step: None
    #: a mutating step a re-run found done (skipped): called once the lease is held, to record what the run that
    #: did it could not (a crash, a rollout timeout fixed since, a refused record write)
    on_step_found_done: Callable[[Run, Step], None] = lambda run, step: None
    #: bookkeeping a crashed run may have left undone once every step holds (the record's final state):
    #: returns True when the record must be written
    unsettled: Callable[[Run], bool] = lambda run: False
    settle: Callable[[Run], None] = lambda run: None
    already_done: str = "nothing to do: already done (verified on the cluster)"
    #: run the read-only steps even when every mutating step holds (finalize always reports)
    checks_when_done: bool = False


def make_run(target: NamespaceTarget, conn: Connections, access: Access, options: Options, reporter: Reporter,
             journal: Journal, operation: str, interrupts: Interrupts | None = None, *,
             lease_namespace: str | None = None, lease_name: str | None = None, scope: str | None = None) -> Run:
    """A run on one namespace (or, with ``scope``, on the cluster: its lease is ``lease_name`` in
    ``lease_namespace``)."""
    kube = conn.kube(target.cluster)
    holder = f"{access.who()} pid={os.getpid()} run={journal.base['run']}"

    def on_lease(event: str, **fields: Any) -> None:
        journal.write(event, cluster=target.cluster.name, namespace=lease_namespace or target.namespace, **fields)
        if event == "lease-wait":
            reporter.info(f"waiting {int(fields['seconds'] + 0.999)} s for the lease of {fields['holder']} to expire")
        elif event == "lease" and fields.get("how") == "taken over":
            reporter.info(f"took over the expired lease of {fields.get('previous')}")

    lease = Lease(kube, lease_namespace or target.namespace, holder=holder, operation=operation, clock=access.clock,
                  duration=options.lease_duration, dry_run=options.dry_run, on_event=on_lease,
                  **({"name": lease_name} if lease_name else {}))
    return Run(target=target, kube=kube, conn=conn, access=access, options=options, reporter=reporter,
               journal=journal, record=Record(kube, target.namespace, dry_run=options.dry_run), lease=lease,
               interrupts=interrupts or Interrupts(), scope=scope)


def execute(run: Run, op: Operation, *, stdin: Any = None) -> Outcome:
    steps = list(op.steps)
    total = len(steps)
    outcome = Outcome(False, 0)
    journal = run.journal
    where = run.where
    mode = " (dry run: every change is sent with dryRun=All, nothing is persisted)" if run.dry_run else ""
    run.reporter.header(f"{op.title} {run.label}{mode}",
                        [f"{i}. {s.title}" for i, s in enumerate(steps, 1)])
    journal.write("start", **where, dryRun=run.dry_run or None)
    current: tuple[int, Step] | None = None
    asked = False
    try:
        with run.interrupts:
            try:
                pending = [s for s in steps if s.mutates and not s.done(run)]
                found: list[Step] = []
                if not pending and not op.checks_when_done:
                    if not run.dry_run and op.unsettled(run):
                        run.lease.acquire(wait=run.options.wait_for_lease)
                        for step in steps:
                            if step.mutates:
                                _record_found(run, op, step)
                        op.settle(run)
                    run.reporter.footer([op.already_done])
                    journal.write("nothing-to-do", **where)
                    outcome.completed = True
                    return outcome
                for index, step in enumerate(steps, 1):
                    run.interrupts.check(f"before step {index}")
                    if step.mutates and step.done(run):
                        run.reporter.step_skipped(index, total, step.title,
                                                  step.why_skipped(run) or "already done (verified on the cluster)")
                        outcome.steps_skipped.append(step.key)
                        found.append(step)
                        continue
                    if step.mutates and not asked:
                        asked = True
                        _confirm(run, op, [s for s in steps[index - 1:] if s.mutates], stdin)
                        run.lease.acquire(wait=run.options.wait_for_lease)
                        for done_before in found:
                            _record_found(run, op, done_before)
                    current = (index, step)
                    run.reporter.step_started(index, total, step.title)
                    journal.write("step-start", **where, step=step.key)
                    step.check(run)
                    result = step.act(run)
                    summary = step.verify(run, result)
                    outcome.results[step.key] = result
                    if step.mutates and not run.dry_run:
                        try:
                            op.on_step_done(run, step)
                        except KubeApiError as exc:
                            current = None
                            raise _unrecorded(run, op, index, total, step, summary, exc) from None
                    run.reporter.step_done(index, total, step.title, summary)
                    journal.write("step-done", **where, step=step.key, summary=summary)
                    outcome.steps_run.append(step.key)
                    current = None
                outcome.completed = True
                outcome.changed = run.changed
                run.reporter.footer(op.finished(run, outcome))
                journal.write("done", **where, changed=run.changed, dryRun=run.dry_run or None)
                return outcome
            except KubeApiError as exc:
                raise _translate(run, exc, current) from None
    except KeyboardInterrupt:
        raise _interrupted(run, op, current, Interrupted("interrupted (Ctrl-C, twice)")) from None
    except Interrupted as exc:
        raise _interrupted(run, op, current, exc) from None
    except StepError as exc:
        if current is not None:
            run.reporter.step_failed(current[0], total, current[1].title, exc.message)
        journal.write("step-failed", **where, step=current[1].key if current else None, error=exc.message)
        said = bool(exc.hint and "nothing was changed" in exc.hint)
        if isinstance(exc, (LeaseHeld, ConfirmationRefused, Unrecorded)) or said:
            raise
        if current is not None and not current[1].mutates and run.changed == 0:
            # a read-only step: say so, rather than "to continue" (there is nothing to continue)
            nothing = "nothing was changed"
            exc.hint = f"{exc.hint}; {nothing}" if exc.hint else nothing
        else:
            resume = f"to continue: {op.command}"
            if exc.hint:
                exc.notes = (*exc.notes, resume)
            else:
                exc.hint = resume
        raise
    except MigratorError as exc:
        journal.write("error", **where, step=current[1].key if current else None, error=exc.message)
        raise
    finally:
        _release(run)


def _record_found(run: Run, op: Operation, step: Step) -> None:
    try:
        op.on_step_found_done(run, step)
    except KubeApiError as exc:
        run.reporter.warn(f"{step.title}: done, but the record could not be updated ({exc.api_message})")


def _unrecorded(run: Run, op: Operation, index: int, total: int, step: Step, summary: str,
                exc: KubeApiError) -> Unrecorded:
    """The step's change and its verification are done; only the record write after it was refused."""
    run.reporter.step_done(index, total, step.title, f"{summary} (done, but not recorded)")
    run.journal.write("step-done-unrecorded", **run.where, step=step.key, summary=summary, error=exc.api_message)
    policy = _policy_denial(exc.api_message)
    why = f"the admission policy {policy[0]} denied it: {policy[1]}" if policy else exc.api_message
    return Unrecorded(f"step {index} ({step.title}) is done on the cluster, but recording it in ConfigMap "
                      f"{run.namespace}/{run.record.name} was refused: {why}",
                      hint=f"nothing needs undoing; let this identity patch configmaps in {run.namespace} (see "
                           f"docs/permissions.md), then run again to record it and continue: {op.command}")


def _policy_denial(message: str) -> tuple[str, str] | None:
    """(the policy, its message), when a 403 comes from a ValidatingAdmissionPolicy (not from RBAC)."""
    m = re.search(r"ValidatingAdmissionPolicy '([^']+)'(?: with binding '[^']*')? denied request: (.*)", message)
    return (m.group(1), m.group(2).strip()) if m else None


def _translate(run: Run, exc: KubeApiError, current: tuple[int, Step] | None) -> MigratorError:
    """An API error no step handled: a refusal to say plainly (403, 401), or a failed step."""
    what = f"{current[1].title}: " if current else ""
    if exc.status == 401:
        return ClusterUnreachable(f"cluster {run.target.cluster.name}: the API server refused the credentials (401)",
                                  hint="log in again (az login, or kubelogin for a kubeconfig context)")
    policy = _policy_denial(exc.api_message)
    if exc.status in (403, 422) and policy is not None:
        name, message = policy
        return StepFailed(f"{what}the admission policy {name} denied the change: {message}",
                          hint=f"the cluster's admission policy {name} refuses changes in namespace {run.namespace} "
                               f"(kubectl get validatingadmissionpolicy {name} --output yaml): ask the cluster's "
                               "owner for an exemption, or change this namespace through its exempt pipeline")
    if exc.status == 403:
        return StepFailed(f"{what}forbidden: {exc.api_message}",
                          hint="the identity running this lacks a permission: see docs/permissions.md")
    return StepFailed(f"{what}{exc.message}")


def _interrupted(run: Run, op: Operation, current: tuple[int, Step] | None, exc: Interrupted) -> Interrupted:
    where = f" during step {current[0]} ({current[1].title})" if current else ""
    run.journal.write("interrupted", **run.where, step=current[1].key if current else None)
    return Interrupted(f"{exc.message}: stopped{where}; every change made so far is recorded in the cluster, and "
                       "the lease is released",
                       hint=f"to continue, run the same command again: {op.command}")


def _release(run: Run) -> None:
    try:
        run.lease.release()
    except MigratorError as exc:
        run.reporter.warn(f"could not release the lease ({exc.message}): it expires by itself in "
                          f"{run.options.lease_duration} s")
        run.journal.write("lease-release-failed", **run.where, error=exc.message)


def _confirm(run: Run, op: Operation, pending: list[Step], stdin: Any) -> None:
    if run.dry_run:
        return
    lines = op.confirm(run, pending)
    if run.options.yes:
        run.journal.write("confirmed", **run.where, by="--yes")
        return
    if not can_ask(stdin):
        raise ConfirmationRefused("refusing to change the cluster without confirmation: stdin is not a terminal",
                                  hint="pass --yes to run unattended (CI), or --dry-run to preview; nothing was "
                                       "changed")
    run.reporter.header("About to change the cluster:", lines)
    if not run.reporter.ask(f"Continue with {run.label}?"):
        raise ConfirmationRefused("not confirmed: nothing was changed")
    run.journal.write("confirmed", **run.where, by="prompt")


def new_journal(path: Path | None, access: Access, command: str) -> Journal:
    return Journal(path, clock=access.clock, run=new_run_id(), operator=access.who(), command=command)

