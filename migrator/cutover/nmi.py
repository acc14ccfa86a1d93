"""What NMI's logs say about a namespace's pods: the evidence, with ``--check-nmi-logs``, that pods still
get (step 6 of the cutover) or get again (rollback) their tokens through AAD Pod Identity.

NMI logs a line when it matches a pod to an identity (``<namespace>/<pod> has been matched with
azure identity``) and one per token request it serves (``status (200) ... req.remote=<pod IP>``);
both are read since a moment the record keeps (step 5's completion) or the rollback just took.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from migrator.cutover.engine.context import Run
from migrator.cutover.errors import StepRefused
from migrator.cutover.objects import meta
from migrator.cutover.timestamps import micro_time, parse_time

_NMI_MATCHED = re.compile(r"(\S+)/(\S+) has been matched with azure identity")
_NMI_SERVED = re.compile(r"status \((\d+)\).*req\.remote=([0-9a-fA-F.:]+)")


@dataclass(frozen=True, slots=True)
class NmiLogs:
    """What NMI's logs say since a moment: where NMI runs, how many of its pods' logs were read, the lines."""

    where: str  # "DaemonSet kube-system/nmi" (each NMI found)
    pods: int  # NMI pods running
    readable: int  # of which the logs could be read
    lines: list[str] = field(default_factory=list)


def nmi_log_lines(run: Run, pods: list[dict[str, Any]], since: str) -> NmiLogs | None:
    """Lines of NMI's logs since ``since`` about the given pods (matched by name, or served by IP);
    None when no NMI is installed on the cluster."""
    from migrator.inventory.podidentity import detect

    inv = run.inventory or run.conn.inventory(run.target.cluster)
    run.inventory = inv
    install = detect(inv)
    if not install.nmi:
        return None
    ips = {(p.get("status") or {}).get("podIP") for p in pods} - {None}
    names = {meta(p).get("name") for p in pods}
    found: list[str] = []
    readable = 0
    running = 0
    for component in install.nmi:
        ns = component.ref.namespace
        for pod in run.kube.list("Pod", ns):
            owners = [r for r in meta(pod).get("ownerReferences") or [] if r.get("kind") == "DaemonSet"]
            if not owners or owners[0].get("name") != component.ref.name:
                continue
            running += 1
            moment = parse_time(since)
            text = run.kube.pod_log(ns, meta(pod).get("name", ""), since_time=micro_time(moment) if moment else None)
            if text is None:
                continue
            readable += 1
            for line in text.splitlines():
                m = _NMI_MATCHED.search(line)
                if m and m.group(1) == run.namespace and m.group(2) in names:
                    found.append(line.strip())
                    continue
                m = _NMI_SERVED.search(line)
                if m and m.group(1) == "200" and m.group(2) in ips:
                    found.append(line.strip())
    where = ", ".join(f"{c.ref.kind} {c.ref.namespace}/{c.ref.name}" for c in install.nmi)
    return NmiLogs(where, running, readable, found)


def refuse_if_nmi_served(run: Run, pods: list[dict[str, Any]]) -> None:
    """Refuse step 6 when NMI served a token to a pod of the namespace since step 5 completed, and when that
    cannot be checked (``--check-nmi-logs`` never degrades to a warning)."""
    label = run.record.progress.label
    since = label.completed if label else None
    skip = "or run step 6 without --check-nmi-logs"
    if not since:
        raise StepRefused(f"--check-nmi-logs: cannot check NMI's logs for {run.namespace}: neither the record "
                          f"({run.record.name}) nor the rollouts say when step 5 completed",
                          hint=f"step 6 was not started; {skip} once you have checked NMI's logs yourself")
    result = nmi_log_lines(run, pods, since)
    if result is None:
        run.reporter.info("NMI logs: no NMI is installed on the cluster: nothing serves pod-identity tokens")
        return
    if not result.pods:
        run.reporter.info(f"NMI logs: {result.where} has no pods on the cluster: nothing serves pod-identity "
                          "tokens, no log to check")
        return
    if not result.readable:
        raise StepRefused(f"--check-nmi-logs: the logs of NMI's {result.pods} pod(s) ({result.where}) could not be "
                          "read (forbidden or gone), so nothing shows the pods stopped using pod identity",
                          hint=f"step 6 was not started; let this identity get pods/log in that namespace "
                               f"(docs/permissions.md) and run again, {skip}")
    if result.lines:
        served = result.lines
        raise StepRefused(f"NMI served tokens to pods of {run.namespace} after step 5 ({len(served)} log lines, "
                          f"e.g. {served[0]!r}): those pods still get tokens through pod identity (an SDK without "
                          "workload identity support?); removing the binding label would break them",
                          hint="upgrade the workload's Azure Identity SDK, then run again; or roll back")
    run.reporter.info(f"NMI logs ({result.readable} pod(s)): no token served to {run.namespace} since step 5")


def wait_nmi_serving(run: Run, since: str) -> None:
    """With --check-nmi-logs: wait (bounded) until NMI's logs show it serving the namespace's pods again."""
    def probe() -> tuple[bool, str, str | None]:
        result = nmi_log_lines(run, run.kube.list("Pod", run.namespace), since)
        if result is None:
            return False, "", "no NMI is installed on the cluster"
        if not result.pods:
            return False, "", f"{result.where} has no pods on the cluster: nothing serves pod-identity tokens"
        if not result.readable:
            run.reporter.warn(f"NMI logs ({result.where}) could not be read (forbidden or gone): not checked")
            return True, "", None
        return bool(result.lines), f"{len(result.lines)} token(s) served so far", None

    def timeout(progress: str, elapsed: float) -> str:
        return (f"NMI served no token to the pods of {run.namespace} within {int(elapsed)} s of the rollout: the "
                "labels are back, but nothing shows the pods using pod identity yet (do they request a token at "
                "start?); check the application, then run again")

    run.wait_until("NMI serving the pods", probe, timeout=run.options.rollout_timeout, on_timeout=timeout)
    run.reporter.info(f"NMI logs: serving the pods of {run.namespace} again")
