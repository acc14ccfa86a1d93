"""Rollback after each cutover step: the namespace ends as it was before the cutover."""

from __future__ import annotations

from typing import Any

import pytest

from migrator.cutover.engine.context import Interrupts
from tests.cutover.conftest import AT_SOURCE, SHARED_NS, Served, ok


def _rollback(served: Served, namespace: str = SHARED_NS, **options: Any) -> Any:
    return served.rollback(namespace, **options)


def _comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in ("record", "progress")}


@pytest.mark.parametrize("step", [1, 2, 3, 4, 5, 6])
def test_rollback_after_each_cutover_step_restores_the_namespace(ready: Served, step: int) -> None:
    before = ready.snapshot(SHARED_NS)
    interrupts = Interrupts()
    stopped = ready.cutover(changed_at_source=AT_SOURCE, interrupts=interrupts,
                            hooks={"step_done": lambda i: interrupts.request() if i == step else None})
    assert stopped.code == (0 if step == 6 else 130), stopped.output
    result = ok(_rollback(ready))
    after = ready.snapshot(SHARED_NS)
    assert _comparable(after) == _comparable(before), result.output
    if step < 3:  # nothing was changed yet
        assert "nothing to roll back" in result.output and "record" not in after
        return
    assert after["record"] == [] and after["progress"] == "rolled-back" and after["lease"] is False
    again = ok(_rollback(ready))
    assert "nothing to roll back" in again.output


def test_rollback_output_names_each_change_in_order(ready: Served) -> None:
    ok(ready.cutover(changed_at_source=AT_SOURCE))
    result = ok(_rollback(ready))
    out = result.output
    assert out.index("+ pod label aadpodidbinding: ingest-worker") < \
        out.index("- pod label azure.workload.identity/use")
    assert "ServiceAccount/shared-runner" in out and "- annotation azure.workload.identity/client-id" in out
    assert "Deployment/report-builder is owned by Argo CD (Application shared-apps): revert it in its source" in out
    assert "rolled back: aks-prod-weu/shared runs on AAD Pod Identity again" in out


def test_rollback_of_every_kind_with_a_split_service_account_and_client_id_env(lab: Served) -> None:
    from migrator.commands.plan import plan_for_fleet
    from migrator.plan.model import encode
    from tests.cutover.lab import write_lab_fleet

    before = lab.snapshot("demo")
    ok(lab.cutover("demo"))
    assert lab.state.get("serviceaccounts", "demo", "billing") is not None
    result = ok(lab.rollback("demo"))
    assert "ServiceAccount/billing" in result.output and "- deleted (the cutover created it)" in result.output
    assert lab.state.get("serviceaccounts", "demo", "billing") is None
    assert _comparable(lab.snapshot("demo")) == _comparable(before)
    # the other remedy for a shared service account: AZURE_CLIENT_ID set on the containers
    root = lab.tmp / "fleet2"
    root.mkdir()
    plan, _ = plan_for_fleet(write_lab_fleet(root), sa_conflicts="client-id-env")
    lab.plan_path.write_text(encode(plan))
    lab.plan = plan
    lab.apply_credentials("demo")
    ok(lab.cutover("demo"))
    ok(lab.rollback("demo"))
    assert _comparable(lab.snapshot("demo")) == _comparable(before)
