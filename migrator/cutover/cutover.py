"""The cutover of one namespace as an executor operation: its steps, what the question before the
first write lists, what is recorded as each step completes, and what to do next."""

from __future__ import annotations

from typing import Any

from migrator.cutover.connect import utc_text
from migrator.cutover.context import Run
from migrator.cutover.executor import Operation
from migrator.cutover.steps import CUTOVER_STEPS, complete_label_progress
from migrator.vocabulary import BINDING_LABEL, WI_USE_LABEL


def command_line(run: Run, verb: str = "cutover") -> str:
    t = run.target
    extra = "".join(f" --changed-at-source {w.ref}" for w in t.by_mode("at-source"))
    return f"migrate {verb} --plan {run.plan_ref} --cluster {t.cluster.name} --namespace {t.namespace}{extra}"


def _confirm_lines(run: Run, pending: list[Any]) -> list[str]:
    t = run.target
    keys = {s.key for s in pending}
    lines = []
    if "service-accounts" in keys:
        for s in t.service_accounts:
            lines.append(f"{'create' if s.create else 'annotate'} ServiceAccount/{s.name} with client ID "
                         f"{s.client_id}")
    if "label" in keys:
        for w in t.by_mode("in-place"):
            restart = " (rolling restart)" if w.rolled else " (its next run)"
            sa = f", serviceAccountName {w.patch.service_account}" if w.patch.previous_service_account else ""
            lines.append(f"label {w.ref} {WI_USE_LABEL}=true{sa}{restart}")
    if "unbind-label" in keys:
        for w in t.by_mode("in-place"):
            if w.patch.binding_selector:
                lines.append(f"remove {BINDING_LABEL}={w.patch.binding_selector} from {w.ref}"
                             f"{' (rolling restart)' if w.rolled else ''}")
    return lines


def _unsettled(run: Run) -> bool:
    progress = run.record.get("progress") or {}
    return progress.get("operation") == "cutover" and progress.get("state") != "cut-over"


def _settle(run: Run) -> None:
    progress = dict(run.record.get("progress") or {})
    progress.update(operation="cutover", state="cut-over", completed=utc_text(run.clock.now()))
    run.record.put("progress", progress)


def _finished(run: Run) -> list[str]:
    t = run.target
    if run.dry_run:
        return ["dry run complete: nothing was changed (the API server validated every change)",
                f"to apply: {command_line(run)}"]
    if _unsettled(run) or not run.record.get("progress"):
        _settle(run)
    lines = [f"cut over: {t.cluster.name}/{t.namespace} runs on workload identity "
             f"({run.changed} change(s) made by this run)"]
    for w in t.by_mode("job"):
        lines.append(f"  note: {w.ref}: {w.reason}")
    lines.append("next, after a quiet period (the bindings still allow a rollback without downtime):")
    lines.append(f"  migrate unbind --plan {run.plan_ref} --cluster {t.cluster.name} --namespace {t.namespace}")
    lines.append(f"rollback: migrate rollback --plan {run.plan_ref} --cluster {t.cluster.name} "
                 f"--namespace {t.namespace}")
    return lines


def _step_done(run: Run, step: Any) -> None:
    if step.key == "label":
        complete_label_progress(run)
    progress = dict(run.record.get("progress") or {})
    steps = dict(progress.get("steps") or {})
    steps[step.key] = {"at": utc_text(run.clock.now()), "by": run.journal.base["operator"]}
    progress.update(operation="cutover", steps=steps, state="in-progress")
    run.record.put("progress", progress)


def cutover_operation(run: Run) -> Operation:
    return Operation(name="cutover", title="cutover", steps=[cls() for cls in CUTOVER_STEPS],
                     command=command_line(run), confirm=_confirm_lines, finished=_finished, on_step_done=_step_done,
                     unsettled=_unsettled, settle=_settle,
                     already_done=f"nothing to do: {run.target.cluster.name}/{run.target.namespace} is already cut "
                                  "over (verified on the cluster)")

