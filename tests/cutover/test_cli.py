"""The cutover commands through the real CLI entry point (in-process): prompts, exit codes, status."""

from __future__ import annotations

import io

from tests.cutover.conftest import AT_SOURCE, SHARED_NS, WEU, Served, ok


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _args(*extra: str) -> list[str]:
    return ["cutover", "--cluster", WEU, "--namespace", SHARED_NS, "--changed-at-source", AT_SOURCE[0], *extra]


def test_without_yes_and_without_a_terminal_it_refuses_instead_of_hanging(ready: Served) -> None:
    before = len(ready.writes())
    result = ready.cli(*_args())
    assert result.exit_code == 1
    assert "refusing to change the cluster without confirmation: stdin is not a terminal" in result.output
    assert "pass --yes to run unattended" in result.output
    assert len(ready.writes()) == before


def test_it_asks_before_the_first_write_and_a_no_changes_nothing(ready: Served) -> None:
    before = len(ready.writes())
    result = ready.cli(*_args(), stdin=FakeTerminal("n\n"))
    assert result.exit_code == 1, result.output
    assert "About to change the cluster:" in result.output
    assert "annotate ServiceAccount/shared-runner with client ID b8f19ca2-8a8d-5089-bf9c-06379a9ddd15" in result.output
    assert "label Deployment/ingest-worker azure.workload.identity/use=true (rolling restart)" in result.output
    assert "not confirmed: nothing was changed" in result.output
    assert len(ready.writes()) == before
    yes = ready.cli(*_args(), stdin=FakeTerminal("y\n"))
    assert yes.exit_code == 0, yes.output
    assert "cut over: aks-prod-weu/shared" in yes.output


def test_exit_codes_for_bad_input_and_an_unreachable_cluster(ready: Served) -> None:
    assert ready.cli("cutover", "--cluster", WEU, "--namespace", "nope", "--yes").exit_code == 2
    result = ready.cli("cutover", "--cluster", "aks-nowhere", "--namespace", SHARED_NS, "--yes")
    assert result.exit_code == 2 and "cluster 'aks-nowhere' is not in the plan" in result.output
    assert ready.cli("cutover", "--cluster", WEU, "--yes").exit_code == 2  # --namespace missing
    ready.kube.set_down(WEU)
    down = ready.cli(*_args("--yes"))
    assert down.exit_code == 3, down.output
    assert "error:" in down.output and "Traceback" not in down.output


def test_a_bad_plan_file_is_exit_2(ready: Served) -> None:
    ready.plan_path.write_text("{}")
    result = ready.cli(*_args("--yes"))
    assert result.exit_code == 2 and "not a wi-migrator plan" in result.output


def test_status_reads_each_namespace_from_the_cluster(ready: Served) -> None:
    crash = {"step_done": lambda i: ready.kube.set_down(WEU) if i == 3 else None}
    assert ready.cutover(changed_at_source=AT_SOURCE, hooks=crash).code == 3
    ready.kube.set_down(WEU, False)
    status = ready.cli("cutover", "status", "--cluster", WEU)
    assert status.exit_code == 0, status.output
    lines = {line.split()[0]: line for line in status.output.splitlines() if line.startswith("  ")}
    assert "step 3/6 done: service accounts annotated" in lines["shared"]
    assert "held by tester@lab" in lines["shared"]  # the crashed run's lease, not expired yet
    assert "blocked in the plan" in lines["orders"]
    assert "step 3/6 done" in lines["payments"]  # its service account was annotated before the migration
    assert "not started" in lines["checkout"]
    ready.clock.advance(61)
    ok(ready.cutover(changed_at_source=AT_SOURCE))
    after = ready.cli("cutover", "status", "--cluster", WEU)
    assert "cut over (6/6); next: migrate unbind" in after.output


def test_status_of_the_whole_plan_reports_an_unreachable_cluster_and_exits_3(served: Served) -> None:
    served.kube.set_down("aks-prod-eus")
    status = served.cli("cutover", "status")
    assert status.exit_code == 3
    assert "aks-prod-eus\n  unreachable:" in status.output
    assert "aks-prod-weu\n" in status.output and "aks-staging-eus\n" in status.output


def test_help_lists_the_exit_codes() -> None:
    from click.testing import CliRunner

    from migrator.cli import main

    text = CliRunner().invoke(main, ["cutover", "--help"]).output
    assert "130  interrupted (Ctrl-C)" in text and "3    the cluster (or Azure) could not be reached" in text


def test_a_cluster_reached_through_a_kubeconfig_context(ready: Served) -> None:
    result = ready.cli(*_args("--yes", "--kubeconfig", str(ready.tmp / "kubeconfig")))
    assert result.exit_code == 0, result.output
    assert "cut over: aks-prod-weu/shared" in result.output
    assert not [r for r in ready.arm.requests if (r.operation or "") == "listclusterusercredential"]
    missing = ready.cli(*_args("--yes", "--kubeconfig", str(ready.tmp / "kubeconfig"), "--context", "nope"))
    assert missing.exit_code == 2 and "kubeconfig context 'nope'" in missing.output
