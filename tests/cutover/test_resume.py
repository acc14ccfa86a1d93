"""Crashes, interrupts and failed rollouts: every re-run continues from the first step whose
postcondition does not hold and ends in the state of an uninterrupted run."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from migrator.cutover.engine.context import Interrupts
from tests.cutover.conftest import AT_SOURCE, SHARED_NS, WEU, Served, ok


def _crash_after(served: Served, step: int) -> dict[str, Any]:
    """The API server becomes unreachable as soon as ``step`` completes (a crash, as the cluster sees it:
    the run stops mid-way and cannot even release its lease)."""
    return {"step_done": lambda index: served.kube.set_down(WEU) if index == step else None}


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5, 6])
def test_crash_after_each_step_then_resume_ends_as_an_uninterrupted_run(ready: Served, reference: dict[str, Any],
                                                                       step: int) -> None:
    crashed = ready.cutover(changed_at_source=AT_SOURCE, hooks=_crash_after(ready, step))
    if step < 6:
        assert crashed.code == 3, crashed.output
        assert "could not be reached" in crashed.message or "failed after" in crashed.message
    ready.kube.set_down(WEU, False)
    lease_left = ready.state.get("leases", SHARED_NS, "wi-migrator") is not None
    assert lease_left == (step >= 3 and step < 6) or step == 6
    if lease_left:
        # the dead run's lease blocks a resume until it expires, then it is taken over
        blocked = ready.cutover(changed_at_source=AT_SOURCE)
        assert blocked.code == 1 and "being changed by another run" in blocked.message, blocked.output
        ready.clock.advance(61)
    resumed = ok(ready.cutover(changed_at_source=AT_SOURCE))
    skipped = resumed.output.count("already done (verified on the cluster)")
    assert skipped == {1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 0}[step]  # steps 3, 5, 6 are the mutating ones
    if step == 6:
        assert "already cut over" in resumed.output
    assert ready.snapshot(SHARED_NS) == reference
    if lease_left:
        assert any(j.get("how") == "taken over" for j in ready.journal_lines())


def test_resume_skips_exactly_the_steps_whose_postcondition_holds(ready: Served) -> None:
    ready.cutover(changed_at_source=AT_SOURCE, hooks=_crash_after(ready, 5))
    ready.kube.set_down(WEU, False)
    ready.clock.advance(61)
    resumed = ok(ready.cutover(changed_at_source=AT_SOURCE))
    assert "[3/6] annotate the service accounts with the client ID: already done" in resumed.output
    assert "[5/6] label the pod templates azure.workload.identity/use=true and roll out: already done" \
        in resumed.output
    assert "[6/6] remove the aadpodidbinding label and roll out: 1 changed" in resumed.output


def test_crash_during_a_rollout_resumes_by_waiting_for_it(ready: Served, reference: dict[str, Any]) -> None:
    ready.state.set_rollout(seconds_per_pod=30, resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    hooks = {"waiting": lambda text: ready.kube.set_down(WEU) if "rollout of Deployment/ingest-worker" in text
             else None}
    crashed = ready.cutover(changed_at_source=AT_SOURCE, hooks=hooks)
    assert crashed.code == 3
    ready.kube.set_down(WEU, False)
    resumed = ok(ready.cutover(changed_at_source=AT_SOURCE, wait_for_lease=True))
    assert "[5/6] label the pod templates azure.workload.identity/use=true and roll out" in resumed.output
    assert "0 changed, rollouts complete" in resumed.output  # the template was patched before the crash
    assert ready.snapshot(SHARED_NS) == reference


def test_a_rollout_that_never_completes_times_out_clearly_and_is_resumable(ready: Served,
                                                                          reference: dict[str, Any]) -> None:
    ready.state.set_rollout(stuck=True, resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    failed = ready.cutover(changed_at_source=AT_SOURCE, rollout_timeout=300)
    assert failed.code == 1
    assert "the rollout of Deployment/ingest-worker did not complete within 300 s" in failed.message
    assert "nothing was reverted" in failed.message and "to continue: migrate cutover" in failed.message
    assert ready.clock.monotonic() >= 300  # waited on the clock, not in real time
    assert ready.state.get("leases", SHARED_NS, "wi-migrator") is None  # released on failure
    # the team fixes the rollout (a restart with a working image), and the same command continues
    ready.state.set_rollout(resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    from kubernetes import client as kc

    kc.AppsV1Api(ready.kube.api_client(WEU)).patch_namespaced_deployment("ingest-worker", SHARED_NS, {
        "spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "fixed"}}}}})
    resumed = ok(ready.cutover(changed_at_source=AT_SOURCE))
    assert "[5/6] label the pod templates azure.workload.identity/use=true and roll out: already done" \
        in resumed.output
    snap = ready.snapshot(SHARED_NS)
    assert snap == reference


def test_progress_deadline_exceeded_fails_the_step_without_waiting_longer(ready: Served) -> None:
    ready.state.set_rollout(stuck=True, resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    failed = ready.cutover(changed_at_source=AT_SOURCE, rollout_timeout=3600)
    assert failed.code == 1 and "ProgressDeadlineExceeded" in failed.message
    assert 600 <= ready.clock.monotonic() < 700


def test_ctrl_c_stops_between_steps_releases_the_lease_and_says_how_to_resume(ready: Served,
                                                                             reference: dict[str, Any]) -> None:
    interrupts = Interrupts()
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the test run itself was started in the background
    hooks = {"step_done": lambda index: signal.raise_signal(signal.SIGINT) if index == 3 else None}
    stopped = ready.cutover(changed_at_source=AT_SOURCE, hooks=hooks, interrupts=interrupts)
    assert stopped.code == 130, stopped.output
    assert "interrupted (Ctrl-C) before step 4" in stopped.message
    assert "to continue, run the same command again: migrate cutover --plan" in stopped.message
    assert "[4/6]" not in stopped.output
    assert ready.state.get("leases", SHARED_NS, "wi-migrator") is None
    resumed = ok(ready.cutover(changed_at_source=AT_SOURCE))
    assert "[3/6] annotate the service accounts with the client ID: already done" in resumed.output
    assert ready.snapshot(SHARED_NS) == reference
    assert signal.getsignal(signal.SIGINT) is before  # the run put back the handler it found


def test_ctrl_c_while_waiting_for_a_rollout_stops_the_wait(ready: Served) -> None:
    ready.state.set_rollout(seconds_per_pod=30, resource="deployments", namespace=SHARED_NS, name="ingest-worker")
    interrupts = Interrupts()
    stopped = ready.cutover(changed_at_source=AT_SOURCE, interrupts=interrupts,
                            hooks={"waiting": lambda text: interrupts.request()})
    assert stopped.code == 130
    assert "while waiting for rollout of Deployment/ingest-worker" in stopped.message
    assert "during step 5" in stopped.message
