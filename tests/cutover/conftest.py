"""Cutover test harness: the example fleet (or the lab fleet) served by the local Kubernetes and ARM
servers on one ManualClock, the plan made from the same snapshots, and helpers to run the commands
through their real entry points with the real clients."""

from __future__ import annotations

import io
import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from migrator.clock import ManualClock
from migrator.commands.plan import plan_for_fleet
from migrator.cutover.clients.connection import Access
from migrator.cutover.engine.console import PlainReporter
from migrator.cutover.engine.context import Interrupts, Options
from migrator.cutover.engine.journal import read_journal
from migrator.errors import ExitCode, MigratorError
from migrator.plan.model import Plan, encode
from migrator.sources.retry import RetryPolicy
from testkit import KubeServer
from testkit.arm_server import ArmServer
from testkit.credentials import STATIC_TOKEN
from tests.conftest import EXAMPLES
from tests.cutover.lab import write_lab_fleet

SHARED_NS = "shared"
WEU = "aks-prod-weu"
AT_SOURCE = ("Deployment/report-builder",)


class HookReporter(PlainReporter):
    """A plain reporter writing to a buffer, calling ``hooks[event]`` (a test's way to act mid-run)."""

    def __init__(self, hooks: dict[str, Callable[..., None]] | None = None) -> None:
        self.buffer = io.StringIO()
        super().__init__(out=self.buffer, err=self.buffer, stdin=io.StringIO(""))
        self.hooks = hooks or {}

    def _hook(self, event: str, *args: Any) -> None:
        fn = self.hooks.get(event)
        if fn is not None:
            fn(*args)

    def step_done(self, index: int, total: int, title: str, summary: str) -> None:
        super().step_done(index, total, title, summary)
        self._hook("step_done", index)

    def step_started(self, index: int, total: int, title: str) -> None:
        super().step_started(index, total, title)
        self._hook("step_started", index)

    def waiting(self, text: str) -> None:
        super().waiting(text)
        self._hook("waiting", text)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()


@dataclass
class Result:
    code: int
    output: str
    error: MigratorError | None = None

    @property
    def message(self) -> str:
        return self.error.render() if self.error else ""


@dataclass
class Served:
    kube: KubeServer
    arm: ArmServer
    clock: ManualClock
    tmp: Path
    plan: Plan
    plan_path: Path
    journal: Path
    cluster: str = WEU
    interrupts: list[Interrupts] = field(default_factory=list)

    @property
    def state(self) -> Any:
        return self.kube[self.cluster]

    def access(self, **kw: Any) -> Access:
        base: dict[str, Any] = dict(credential=self.arm.credential(), arm_endpoint=self.arm.url,
                                    ca_bundle=self.arm.ca_path, authority_host=self.arm.authority_host,
                                    clock=self.clock, operator="tester@lab", retry=RetryPolicy(max_attempts=3))
        base.update(kw)
        return Access(**base)

    # ------------------------------------------------------------------ Azure side
    def apply_credentials(self, namespace: str, cluster: str | None = None, *, issuer: str | None = None,
                          through_arm: bool = False) -> None:
        """What ``terraform apply`` of the rendered plan does for one namespace: its federated credentials."""
        cluster = cluster or self.cluster
        for c in self.plan.credentials:
            if c.cluster != cluster or c.namespace != namespace or not c.identity.resource_id:
                continue
            if through_arm:
                from azure.mgmt.msi import ManagedServiceIdentityClient

                rid = c.identity.resource_id
                sub, rg, name = rid.split("/")[2], rid.split("/")[4], rid.split("/")[-1]
                msi = ManagedServiceIdentityClient(self.arm.credential(), sub, retry_total=0,
                                                   **self.arm.client_kwargs())
                msi.federated_identity_credentials.create_or_update(rg, name, c.name, {
                    "properties": {"issuer": issuer or c.issuer, "subject": c.subject,
                                   "audiences": ["api://AzureADTokenExchange"]}})
            else:
                self.arm.add_fic(c.identity.resource_id, c.name, issuer or c.issuer, c.subject)  # type: ignore

    # ------------------------------------------------------------------ the commands
    def cutover(self, namespace: str = SHARED_NS, *, hooks: dict[str, Callable[..., None]] | None = None,
                changed_at_source: tuple[str, ...] = (), interrupts: Interrupts | None = None,
                access: Access | None = None, **options: Any) -> Result:
        from migrator.commands.cutover import run_cutover

        options.setdefault("yes", True)
        options.setdefault("lease_duration", 60)
        reporter = HookReporter(hooks)
        try:
            code = run_cutover(self.plan_path, self.cluster, namespace, access=access or self.access(),
                               options=Options(**options), changed_at_source=changed_at_source,
                               journal=self.journal, reporter=reporter, interrupts=interrupts)
            return Result(int(code), reporter.text)
        except MigratorError as exc:
            return Result(int(exc.exit_code), reporter.text, exc)

    def _command(self, fn: Callable[..., Any], *args: Any, hooks: dict[str, Callable[..., None]] | None = None,
                 interrupts: Interrupts | None = None, access: Access | None = None, **options: Any) -> Result:
        options.setdefault("yes", True)
        reporter = HookReporter(hooks)
        try:
            code = fn(self.plan_path, self.cluster, *args, access=access or self.access(),
                      options=Options(**options), journal=self.journal, reporter=reporter, interrupts=interrupts)
            return Result(int(code), reporter.text)
        except MigratorError as exc:
            return Result(int(exc.exit_code), reporter.text, exc)

    def rollback(self, namespace: str = SHARED_NS, **kw: Any) -> Result:
        from migrator.commands.rollback import run_rollback

        return self._command(run_rollback, namespace, **kw)

    def unbind(self, namespace: str | None = SHARED_NS, **kw: Any) -> Result:
        from migrator.commands.unbind import run_unbind

        return self._command(run_unbind, namespace, **kw)

    def finalize(self, **kw: Any) -> Result:
        from migrator.commands.finalize import run_finalize

        return self._command(run_finalize, **kw)

    def cli(self, *args: str, stdin: Any = None, **obj: Any) -> Any:
        """The real CLI in-process (click's runner), with the test credential and clock injected."""
        from click.testing import CliRunner

        from migrator.cli import main

        base = ["--arm-endpoint", self.arm.url, "--ca-bundle", self.arm.ca_path]
        command = list(args)
        if command[0] in ("cutover", "rollback", "unbind", "finalize") and "status" not in command:
            base += ["--authority-host", self.arm.authority_host, "--journal", str(self.journal)]
        injected = {"credential": self.arm.credential(), "clock": self.clock, "operator": "tester@lab",
                    "retry": RetryPolicy(max_attempts=3), **obj}
        if stdin is not None:
            injected["stdin"] = stdin
        return CliRunner().invoke(main, [*command, "--plan", str(self.plan_path), *base], obj=injected,
                                  catch_exceptions=False)

    # ------------------------------------------------------------------ observations
    def journal_lines(self) -> list[dict[str, Any]]:
        return read_journal(self.journal) if self.journal.exists() else []

    def writes(self, *, dry_run: bool | None = None) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.kube.requests if r.mutating and r.cluster == self.cluster
                and (dry_run is None or r.dry_run == dry_run)]

    def snapshot(self, namespace: str) -> dict[str, Any]:
        """The namespace's objects as the cutover leaves them (volatile fields dropped), to compare runs."""
        c = self.state
        out: dict[str, Any] = {}
        for plural in ("deployments", "statefulsets", "daemonsets", "cronjobs"):
            for o in c.list(plural, namespace):
                tmpl = o["spec"]["jobTemplate"]["spec"]["template"] if plural == "cronjobs" else o["spec"]["template"]
                out[f"{plural}/{o['metadata']['name']}"] = {
                    "labels": tmpl["metadata"].get("labels"), "sa": tmpl["spec"].get("serviceAccountName"),
                    "env": [c.get("env") for c in tmpl["spec"].get("containers") or []]}
        for o in c.list("serviceaccounts", namespace):
            out[f"sa/{o['metadata']['name']}"] = (o["metadata"].get("annotations") or {})
        for o in c.list("pods", namespace):
            labels = o["metadata"].get("labels") or {}
            out.setdefault("pods", []).append(sorted(k for k in labels if k in ("aadpodidbinding",
                                                                               "azure.workload.identity/use")))
        out["pods"] = sorted(out.get("pods", []))
        record = c.get("configmaps", namespace, "wi-migrator-record")
        if record is not None:
            data = {k: json.loads(v) for k, v in (record.get("data") or {}).items()}
            for v in data.values():
                if isinstance(v, dict):
                    v.pop("resourceVersion", None)
            progress = data.get("progress") or {}
            out["record"] = sorted(k for k in data if k != "progress")
            out["progress"] = progress.get("state")
        out["lease"] = c.get("leases", namespace, "wi-migrator") is not None
        return out

    def argo_sync_report_builder(self, cluster: str | None = None) -> None:
        """Argo CD applying the source change of Deployment/report-builder (SA created, template changed)."""
        from kubernetes import client as kc

        cluster = cluster or self.cluster
        sa = next(s for s in self.plan.service_accounts
                  if s.cluster == cluster and s.namespace == SHARED_NS and s.name == "report-builder")
        api = self.kube.api_client(cluster)
        kc.CoreV1Api(api).create_namespaced_service_account(SHARED_NS, {"metadata": {
            "name": "report-builder", "annotations": {"azure.workload.identity/client-id": sa.client_id}}})
        kc.AppsV1Api(api).patch_namespaced_deployment("report-builder", SHARED_NS, {"spec": {"template": {
            "metadata": {"labels": {"azure.workload.identity/use": "true", "aadpodidbinding": None}},
            "spec": {"serviceAccountName": "report-builder"}}}})
        api.close()


@pytest.fixture(scope="session")
def example_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, Path]:
    plan, _ = plan_for_fleet(EXAMPLES / "fleet.yaml")
    path = tmp_path_factory.mktemp("plan") / "plan.json"
    path.write_text(encode(plan))
    return plan, path


@pytest.fixture(scope="session")
def lab_fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan, Path]:
    root = tmp_path_factory.mktemp("lab")
    fleet = write_lab_fleet(root)
    plan, _ = plan_for_fleet(fleet)
    path = root / "plan.json"
    path.write_text(encode(plan))
    return fleet, plan, path


@contextmanager
def serve_example(tmp: Path, plan: tuple[Plan, Path]) -> Iterator[Served]:
    clock = ManualClock()
    with KubeServer(clock) as kube, ArmServer(clock, pki=kube.pki) as arm:
        kube.add_fleet(str(EXAMPLES / "fleet.yaml"), token=STATIC_TOKEN)
        arm.load_fleet(str(EXAMPLES / "fleet.yaml"))
        arm.attach_kube(kube)
        kube.write_kubeconfig(tmp / "kubeconfig")
        plan_path = tmp / "plan.json"
        shutil.copy(plan[1], plan_path)
        yield Served(kube, arm, clock, tmp, plan[0], plan_path, tmp / "journal.jsonl")


@pytest.fixture
def served(tmp_path: Path, example_plan: tuple[Plan, Path]) -> Iterator[Served]:
    """The example fleet, planned; the credentials of aks-prod-weu/shared not yet applied."""
    with serve_example(tmp_path, example_plan) as s:
        yield s


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory, example_plan: tuple[Plan, Path]) -> dict[str, Any]:
    """aks-prod-weu/shared after an uninterrupted cutover (what every resumed run must end in)."""
    with serve_example(tmp_path_factory.mktemp("reference"), example_plan) as s:
        s.apply_credentials(SHARED_NS)
        s.argo_sync_report_builder()
        ok(s.cutover(changed_at_source=AT_SOURCE))
        return s.snapshot(SHARED_NS)


@pytest.fixture
def ready(served: Served) -> Served:
    """aks-prod-weu/shared ready to cut over: credentials applied, Argo CD synced report-builder's change."""
    served.apply_credentials(SHARED_NS)
    served.argo_sync_report_builder()
    return served


@pytest.fixture
def lab(tmp_path: Path, lab_fleet: tuple[Path, Plan, Path]) -> Iterator[Served]:
    """The lab fleet (every in-place kind), planned, credentials applied for namespace demo."""
    fleet, plan, plan_file = lab_fleet
    clock = ManualClock()
    with KubeServer(clock) as kube, ArmServer(clock, pki=kube.pki) as arm:
        kube.add_fleet(str(fleet), token=STATIC_TOKEN)
        arm.load_fleet(str(fleet))
        arm.attach_kube(kube)
        plan_path = tmp_path / "plan.json"
        shutil.copy(plan_file, plan_path)
        s = Served(kube, arm, clock, tmp_path, plan, plan_path, tmp_path / "journal.jsonl", cluster="aks-lab")
        s.apply_credentials("demo")
        yield s


def ok(result: Result) -> Result:
    assert result.code == ExitCode.OK, result.output + "\n" + result.message
    return result
