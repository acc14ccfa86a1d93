"""The template step both directions share: change the pod templates of a namespace's workloads, wait for
each rollout, check every new pod, and judge all of that again on a re-run.

Used by the cutover's steps 5 and 6 (the workload-identity label on, then ``aadpodidbinding`` off) and
by rollback's steps 3 and 4 (``aadpodidbinding`` back, then the rest of the template as recorded).
A subclass says what the change is; this base does, for each workload:

1. ``act``: read the live object; skip it when the change already holds; otherwise let the step
   record what it needs first (``before_change``), patch it with its ``resourceVersion`` as a
   precondition (``Run.patch_live``), show the diff and journal it;
2. ``verify``: wait for the rollout of every kind that rolls (Deployment, StatefulSet, DaemonSet)
   on the injected clock, until the template still carries the change, the rollout is complete and
   every pod of the workload passes ``pod_problem``; a CronJob has no rollout
   (``settled_without_rollout``: its next run uses the template);
3. ``done``: the same judgement without waiting, so a re-run skips the step when it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from migrator.cutover.engine.context import Run, StepBase, StepResult
from migrator.cutover.errors import StepFailed
from migrator.cutover.objects import meta, rollout_state, workload_pods
from migrator.cutover.timestamps import parse_time, utc_text


class TemplateWorkload(Protocol):
    """A workload whose pod template a template step changes."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def ref(self) -> str: ...
    @property
    def rolled(self) -> bool: ...


W = TypeVar("W", bound=TemplateWorkload)


class TemplateStep(StepBase, Generic[W]):
    """Patch → wait for the rollout → check the pods; a subclass supplies the change."""

    mutates = True
    #: the summary's verb: "2 changed, rollouts complete, pods verified"
    verb = "changed"
    #: what a template that does not carry the change is said to be
    not_applied = "template not changed"
    #: a workload deleted meanwhile: True when that is as good as done (nothing to restore), False when it fails
    gone_is_done = False

    # ------------------------------------------------------------------ what a step decides
    def workloads(self, run: Run) -> Sequence[W]:
        """The workloads the step is about (patched here, or only verified)."""
        raise NotImplementedError

    def patches(self, w: W) -> bool:
        """Whether the step patches this workload (False: it was changed at its source and is only verified)."""
        return True

    def holds(self, obj: dict[str, Any], w: W) -> bool:
        """The change is in the live template."""
        raise NotImplementedError

    def patch(self, obj: dict[str, Any], w: W) -> dict[str, Any]:
        """The patch that makes the change, computed from the live object."""
        raise NotImplementedError

    def diff_lines(self, obj: dict[str, Any], w: W) -> list[str]:
        raise NotImplementedError

    def pod_problem(self, pod: dict[str, Any], w: W) -> str | None:
        """What is wrong with one of the workload's pods once rolled out (None: it is as it should be)."""
        raise NotImplementedError

    def timeout_message(self, run: Run, w: W, progress: str) -> str:
        raise NotImplementedError

    def before_change(self, run: Run, w: W, obj: dict[str, Any]) -> None:
        """Called before the first patch of a workload (the cutover records its before-state here)."""

    def gone(self, run: Run, w: W) -> None:
        """The workload no longer exists when the step comes to patch it."""
        raise StepFailed(f"{w.ref} disappeared")

    def settled_without_rollout(self, run: Run, w: W) -> None:
        """After the patch, for a kind that does not roll out (a CronJob)."""

    # ------------------------------------------------------------------ the shared sequence
    def judge(self, run: Run, w: W, pods: list[dict[str, Any]]) -> tuple[bool, str]:
        """(the change holds, rolled out, every pod as it should be; what does not hold)."""
        obj = run.kube.get(w.kind, run.namespace, w.name)
        if obj is None:
            return (True, "") if self.gone_is_done else (False, f"{w.ref} not found")
        if not self.holds(obj, w):
            return False, f"{w.ref}: {self.not_applied}"
        if not w.rolled:
            return True, ""
        state = rollout_state(obj, w.kind)
        if not state.complete:
            return False, f"{w.ref}: rollout {state.progress}"
        for pod in workload_pods(obj, w.kind, pods):
            problem = self.pod_problem(pod, w)
            if problem:
                return False, f"{w.ref}: pod {meta(pod).get('name')} {problem}"
        return True, ""

    def done(self, run: Run) -> bool:
        workloads = self.workloads(run)
        if not workloads:
            return True
        pods = run.kube.list("Pod", run.namespace)
        return all(self.judge(run, w, pods)[0] for w in workloads)

    def act(self, run: Run) -> StepResult:
        changed = 0
        for w in self.workloads(run):
            if not self.patches(w):
                continue
            run.interrupts.check()
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None:
                self.gone(run, w)
                continue
            if self.holds(obj, w):
                continue
            self.before_change(run, w, obj)
            lines = self.diff_lines(obj, w)
            run.patch_live(w.kind, w.name, partial(self.patch, w=w), first=obj)
            run.reporter.diff(w.ref, lines)
            run.journal.write("changed", **run.where, object=w.ref, step=self.key, change=lines,
                              dryRun=run.dry_run or None)
            changed += 1
            run.changed += 1
        return StepResult(changed)

    def verify(self, run: Run, result: StepResult) -> str:
        if run.dry_run:
            return f"{result.count} workload(s) would change (dry run: no rollout)"
        waited = 0.0
        for w in self.workloads(run):
            if w.rolled:
                waited += self.wait(run, w)
            else:
                self.settled_without_rollout(run, w)
        return f"{result.count} {self.verb}, rollouts complete, pods verified" + (
            f" ({int(waited)} s)" if waited >= 1 else "")

    def observed_completion(self, run: Run) -> str | None:
        """When the step's rollouts completed, as the cluster observed it (the latest Ready transition of the
        workloads' pods, a Deployment's last progress); None when nothing says."""
        pods = run.kube.list("Pod", run.namespace)
        moments = []
        for w in self.workloads(run):
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None or not w.rolled:
                continue
            for c in (obj.get("status") or {}).get("conditions") or []:
                if c.get("type") == "Progressing" and c.get("status") == "True":
                    moments.append(parse_time(c.get("lastUpdateTime")))
            for pod in workload_pods(obj, w.kind, pods):
                for c in (pod.get("status") or {}).get("conditions") or []:
                    if c.get("type") == "Ready" and c.get("status") == "True":
                        moments.append(parse_time(c.get("lastTransitionTime")))
        known = [m for m in moments if m is not None]
        return utc_text(max(known)) if known else None

    def wait(self, run: Run, w: W) -> float:
        """Until the rollout of ``w`` completes with every pod as it should be; the seconds waited."""
        def probe() -> tuple[bool, str, str | None]:
            obj = run.kube.get(w.kind, run.namespace, w.name)
            if obj is None:
                return (True, "deleted", None) if self.gone_is_done else (False, "gone", f"{w.ref} was deleted")
            state = rollout_state(obj, w.kind)
            if state.failure:
                return False, state.progress, state.failure
            if not self.holds(obj, w):
                return False, self.not_applied, None
            if not state.complete:
                return False, state.progress + (f"; {state.problem}" if state.problem else ""), None
            for pod in workload_pods(obj, w.kind, run.kube.list("Pod", run.namespace)):
                problem = self.pod_problem(pod, w)
                if problem:
                    return False, f"pod {meta(pod).get('name')} {problem}", None
            return True, state.progress, None

        return run.wait_until(f"rollout of {w.ref}", probe, timeout=run.options.rollout_timeout,
                              on_timeout=lambda progress, elapsed: self.timeout_message(run, w, progress))
