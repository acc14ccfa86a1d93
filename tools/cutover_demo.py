"""Reproducible terminal transcripts of the cutover commands against the local servers.

    python -m tools.cutover_demo cutover     # a full cutover of aks-prod-weu/shared
    python -m tools.cutover_demo crash       # a crash in the middle of step 5, then the resume
    python -m tools.cutover_demo interrupt   # Ctrl-C during a rollout, then the resume
    python -m tools.cutover_demo rollback    # cutover, then rollback from "another machine"
    python -m tools.cutover_demo finalize    # unbind every namespace of a cluster, then finalize
    python -m tools.cutover_demo all

Run it from the repository root: the finalize demo borrows the cutover tests' lab fleet
(``tests/cutover/lab.py``). The example fleet (examples/fleet.yaml) is served by the local Kubernetes
and ARM/Entra servers of the test kit on a ManualClock (rollouts, credential propagation and lease
expiry follow it, so the waits take no real time), and ``migrate`` runs in-process through its real entry point (click), with the servers' test
credential injected instead of ``az login``. Every command also gets ``--arm-endpoint``,
``--ca-bundle``, ``--authority-host`` (the local servers) and ``--journal``; the transcript shows the
command as a user types it. Lines starting with ``#`` narrate what happens outside the tool.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from migrator.clock import ManualClock
from migrator.cutover.engine.console import PlainReporter
from testkit import KubeServer
from testkit.arm_server import ArmServer
from testkit.credentials import STATIC_TOKEN

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SHARED = "shared"
WEU = "aks-prod-weu"
AT_SOURCE = ["--changed-at-source", "Deployment/report-builder"]


class DemoReporter(PlainReporter):
    """The plain reporter (what a non-terminal run prints), with hooks to act in the middle of a run."""

    def __init__(self, hooks: dict[str, Callable[..., None]]) -> None:
        super().__init__()
        self.hooks = hooks

    def waiting(self, text: str) -> None:
        super().waiting(text)
        if "waiting" in self.hooks:
            self.hooks["waiting"](text)

    def step_done(self, index: int, total: int, title: str, summary: str) -> None:
        super().step_done(index, total, title, summary)
        if "step_done" in self.hooks:
            self.hooks["step_done"](index)


class Demo:
    def __init__(self, kube: KubeServer, arm: ArmServer, clock: ManualClock, folder: Path) -> None:
        self.kube, self.arm, self.clock, self.folder = kube, arm, clock, folder

    def say(self, text: str) -> None:
        print(f"# {text}")
        sys.stdout.flush()

    def migrate(self, *args: str, hooks: dict[str, Callable[..., None]] | None = None,
                operator: str = "alice@ops-laptop", journal: str = "journal.jsonl", quiet: bool = False,
                echo: bool = True) -> int:
        from migrator.cli import main

        if not echo:
            quiet = False

        if echo:
            print(f"$ migrate {' '.join(shlex.quote(a) for a in args)}")
        sys.stdout.flush()
        if quiet:
            import contextlib
            import io

            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                code = self.migrate(*args, hooks=hooks, operator=operator, journal=journal, echo=False)
            lines = buffer.getvalue().splitlines()
            print(f"    … ({len(lines) - 5} lines)")
            print("\n".join(lines[-5:]))
            return code
        hidden = ["--arm-endpoint", self.arm.url, "--ca-bundle", self.arm.ca_path]
        if args[0] in ("cutover", "rollback", "unbind", "finalize") and "status" not in args:
            hidden += ["--authority-host", self.arm.authority_host, "--journal", journal]
        obj: dict[str, Any] = {"credential": self.arm.credential(), "clock": self.clock, "operator": operator}
        if hooks is not None:
            obj["reporter"] = DemoReporter(hooks)
        code = 0
        try:
            main([*args, *hidden] if args[0] != "plan" else list(args), obj=obj, standalone_mode=True)
        except SystemExit as exc:
            code = int(exc.code or 0)
        sys.stdout.flush()
        sys.stderr.flush()
        if echo:
            print(f"[exit {code}]\n")
        return code

    # ------------------------------------------------------------------ outside the tool
    def terraform_apply(self, namespace: str, cluster: str = WEU, propagation: float = 0.0) -> None:  # noqa: D401
        """The federated credentials the plan needs, created through ARM as terraform apply creates them."""
        import json

        from azure.mgmt.msi import ManagedServiceIdentityClient

        self.arm.fic_propagation_seconds = propagation
        plan = json.loads((self.folder / "plan.json").read_text())
        names = []
        for c in plan["credentials"]:
            if c["cluster"] != cluster or c["namespace"] != namespace or not c["identity"]["resourceId"]:
                continue
            rid = c["identity"]["resourceId"].split("/")
            msi = ManagedServiceIdentityClient(self.arm.credential(), rid[2], retry_total=0, **self.arm.client_kwargs())
            msi.federated_identity_credentials.create_or_update(rid[4], rid[-1], c["name"], {"properties": {
                "issuer": c["issuer"], "subject": c["subject"], "audiences": ["api://AzureADTokenExchange"]}})
            names.append(c["name"])
        self.say(f"terraform apply (simulated): created {', '.join(names)}")

    def argo_sync(self) -> None:
        from kubernetes import client as kc

        api = self.kube.api_client(WEU)
        kc.CoreV1Api(api).create_namespaced_service_account(SHARED, {"metadata": {
            "name": "report-builder", "annotations": {
                "azure.workload.identity/client-id": "d7ee7f9d-e987-5013-a992-f75c6b46d181"}}})
        kc.AppsV1Api(api).patch_namespaced_deployment("report-builder", SHARED, {"spec": {"template": {
            "metadata": {"labels": {"azure.workload.identity/use": "true", "aadpodidbinding": None}},
            "spec": {"serviceAccountName": "report-builder"}}}})
        api.close()
        self.say("the team adds the rendered component to Argo CD's source for Deployment/report-builder; "
                 "Argo CD syncs it (simulated)")


@contextmanager
def serve(lab: bool = False) -> Iterator[Demo]:
    """The example fleet (or, with ``lab``, the cutover tests' lab cluster) served and planned."""
    clock = ManualClock()
    folder = Path(tempfile.mkdtemp(prefix="wi-migrator-demo-"))
    previous = os.getcwd()
    fleet = EXAMPLES / "fleet.yaml"
    if lab:
        from tests.cutover.lab import write_lab_fleet

        fleet = write_lab_fleet(folder / "lab")
    with KubeServer(clock) as kube, ArmServer(clock, pki=kube.pki) as arm:
        kube.add_fleet(str(fleet), token=STATIC_TOKEN)
        arm.load_fleet(str(fleet))
        arm.attach_kube(kube)
        os.chdir(folder)
        try:
            from migrator.commands.plan import plan_for_fleet
            from migrator.plan.model import encode

            plan, _ = plan_for_fleet(fleet)
            (folder / "plan.json").write_text(encode(plan))
            yield Demo(kube, arm, clock, folder)
        finally:
            os.chdir(previous)
            shutil.rmtree(folder, ignore_errors=True)


def _intro(demo: Demo) -> None:
    demo.say("plan.json was made with: migrate plan --fleet examples/fleet.yaml --out plan.json")


def scenario_cutover() -> None:
    with serve() as demo:
        _intro(demo)
        demo.terraform_apply(SHARED, propagation=45)
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, "--yes")
        demo.argo_sync()
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE,
                     "--dry-run")
        demo.kube[WEU].set_rollout(seconds_per_pod=20, resource="deployments", namespace=SHARED,
                                   name="ingest-worker")
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE, "--yes")
        demo.migrate("cutover", "status", "--plan", "plan.json", "--cluster", WEU)


def scenario_crash() -> None:
    with serve() as demo:
        _intro(demo)
        demo.terraform_apply(SHARED)
        demo.argo_sync()
        demo.kube[WEU].set_rollout(seconds_per_pod=20, resource="deployments", namespace=SHARED,
                                   name="ingest-worker")
        demo.say("the VPN to the cluster drops during the rollout of step 5 (simulated: the API server stops "
                 "answering)")
        seen: list[str] = []

        def drop(text: str) -> None:
            seen.append(text)
            if len(seen) == 3:
                demo.kube.set_down(WEU)

        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE, "--yes",
                     hooks={"waiting": drop})
        demo.kube.set_down(WEU, False)
        demo.say("the VPN is back")
        demo.migrate("cutover", "status", "--plan", "plan.json", "--cluster", WEU)
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE, "--yes")
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE, "--yes",
                     "--wait-for-lease")
        demo.migrate("cutover", "status", "--plan", "plan.json", "--cluster", WEU)


def scenario_interrupt() -> None:
    with serve() as demo:
        _intro(demo)
        demo.terraform_apply(SHARED)
        demo.argo_sync()
        demo.kube[WEU].set_rollout(seconds_per_pod=20, resource="deployments", namespace=SHARED,
                                   name="ingest-worker")
        demo.say("Ctrl-C is pressed while step 5 waits for the rollout (simulated: SIGINT to the process)")
        pressed: list[str] = []

        def ctrl_c(text: str) -> None:
            pressed.append(text)
            if len(pressed) == 2:
                signal.raise_signal(signal.SIGINT)

        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE, "--yes",
                     hooks={"waiting": ctrl_c})
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE, "--yes")


def scenario_rollback() -> None:
    with serve() as demo:
        _intro(demo)
        demo.terraform_apply(SHARED)
        demo.argo_sync()
        demo.say("alice cut aks-prod-weu/shared over yesterday and removed its bindings after a quiet period:")
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, *AT_SOURCE, "--yes",
                     hooks={})
        demo.migrate("unbind", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, "--yes", hooks={})
        demo.say("today the ingest team reports failures; bob rolls back from his own machine (no local state: "
                 "the record in the cluster is all it needs)")
        demo.migrate("rollback", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, "--dry-run",
                     operator="bob@other-laptop", journal="bob-journal.jsonl")
        demo.migrate("rollback", "--plan", "plan.json", "--cluster", WEU, "--namespace", SHARED, "--yes",
                     operator="bob@other-laptop", journal="bob-journal.jsonl")
        demo.migrate("cutover", "status", "--plan", "plan.json", "--cluster", WEU)


def scenario_finalize() -> None:
    with serve() as demo:
        _intro(demo)
        demo.say("the example fleet's aks-prod-weu still has namespaces on pod identity (orders is blocked in the "
                 "plan):")
        demo.migrate("finalize", "--plan", "plan.json", "--cluster", WEU, "--yes")
    with serve(lab=True) as demo:
        demo.say("the lab cluster of the cutover tests (tests/cutover/lab.py): AAD Pod Identity from manifests in "
                 "standard mode, namespaces demo and other sharing one cluster-wide binding")
        demo.terraform_apply("demo", cluster="aks-lab")
        demo.terraform_apply("other", cluster="aks-lab")
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", "aks-lab", "--namespace", "demo", "--yes",
                     hooks={}, quiet=True)
        demo.migrate("cutover", "--plan", "plan.json", "--cluster", "aks-lab", "--namespace", "other", "--yes",
                     hooks={}, quiet=True)
        demo.migrate("unbind", "--plan", "plan.json", "--cluster", "aks-lab", "--yes", hooks={})
        demo.migrate("finalize", "--plan", "plan.json", "--cluster", "aks-lab", "--yes")
        c = demo.kube["aks-lab"]
        c.remove("daemonsets", "kube-system", "nmi")
        c.remove("deployments", "kube-system", "mic")
        demo.say("the operator deletes NMI and MIC as step 1 says (simulated), then runs finalize again")
        demo.migrate("finalize", "--plan", "plan.json", "--cluster", "aks-lab", "--yes")


SCENARIOS: dict[str, Callable[[], None]] = {"cutover": scenario_cutover, "crash": scenario_crash,
                                             "interrupt": scenario_interrupt, "rollback": scenario_rollback,
                                             "finalize": scenario_finalize}


def main(argv: list[str]) -> int:
    names = argv or ["all"]
    if names == ["all"]:
        names = list(SCENARIOS)
    for name in names:
        if name not in SCENARIOS:
            print(f"unknown scenario {name}; choose from: {', '.join(SCENARIOS)}, all", file=sys.stderr)
            return 2
        print(f"################ {name} ################")
        SCENARIOS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
