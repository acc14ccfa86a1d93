"""Live sources against the local servers, through the real kubernetes.aio and Azure SDK clients."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.commands.catalog import build_report
from migrator.commands.snapshot import run_snapshot
from migrator.errors import ExitCode
from migrator.report.json import render
from testkit import error, forbidden, hang, throttle
from tests.conftest import EXAMPLES, REPO
from tests.live.conftest import Served


def _view(served: Served, fleet: Path, **settings: object) -> tuple[dict, bool]:
    report, partial = build_report(fleet, live=served.settings(**settings))
    return report.view(), partial


def _by_name(view: dict) -> dict[str, dict]:
    return {c["name"]: c for c in view["clusters"]}


def test_live_catalog_through_arm_reads_every_cluster_and_never_writes(served: Served) -> None:
    view, partial = _view(served, served.live_fleet())
    assert not partial
    clusters = _by_name(view)
    assert all(c["status"] == "ok" and c["notCaptured"] == [] for c in clusters.values())
    assert view["azure"]["captured"] and view["azure"]["identities"]
    # the same uses as the snapshot of the same state
    snapshot_view, _ = build_report(EXAMPLES / "fleet.yaml")
    assert view["uses"] == snapshot_view.view()["uses"]
    assert served.mutations() == []
    lists = [r for r in served.kube.requests if r.verb == "list"]
    assert lists and all(r.query.get("limit") == "500" for r in lists)
    # one paginated LIST per kind per cluster (no page was big enough to need a second)
    assert len(lists) == 5 * 20


def test_kubeconfig_context_reaches_a_cluster_too(served: Served) -> None:
    view, partial = _view(served, served.live_fleet(contexts=("aks-prod-weu",)))
    assert not partial and _by_name(view)["aks-prod-weu"]["status"] == "ok"
    assert len(_by_name(view)["aks-prod-weu"]["uses"]) == 6


def test_snapshot_of_the_live_fleet_catalogs_byte_for_byte_the_same(served: Served) -> None:
    fleet = served.live_fleet(contexts=("aks-staging-weu",))
    live_report, _ = build_report(fleet, live=served.settings())
    target = served.tmp / "snap"
    assert run_snapshot(fleet, target, force=False, live=served.settings()) is ExitCode.OK
    snap_report, partial = build_report(target / "fleet.yaml")
    assert not partial
    assert render(snap_report) == render(live_report)
    assert served.mutations() == []


def test_snapshots_are_redacted(served: Served) -> None:
    target = served.tmp / "snap"
    run_snapshot(served.live_fleet(), target, force=False, live=served.settings())
    text = "".join(p.read_text() for p in target.rglob("*.json"))
    assert "managedFields" not in text
    assert "last-applied-configuration" not in text
    pods = json.loads((target / "aks-prod-weu/kube/pods.json").read_text())
    envs = [e for p in pods["items"] for c in p["spec"]["containers"] for e in c.get("env") or ()]
    assert envs and all("value" not in e or e["name"].upper() in ("FORCENAMESPACED", "OPERATION_MODE") for e in envs)
    assert not list(target.rglob("secrets.json"))


def test_snapshot_refuses_an_existing_folder_and_writes_nothing_on_error(served: Served) -> None:
    target = served.tmp / "snap"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    from migrator.errors import InputError

    with pytest.raises(InputError) as refused:
        run_snapshot(served.live_fleet(), target, force=False, live=served.settings())
    assert refused.value.exit_code == ExitCode.BAD_INPUT and "already exists" in refused.value.message
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert served.kube.requests == []  # refused before reading anything


def test_429_with_retry_after_is_honoured(served: Served) -> None:
    served.kube.faults.add(throttle(retry_after=7, times=2, cluster="aks-prod-weu", resource="pods"))
    view, partial = _view(served, served.live_fleet())
    assert not partial and _by_name(view)["aks-prod-weu"]["status"] == "ok"
    assert sum(1 for s in served.clock.sleeps if s >= 7) >= 2  # waited through the injected clock
    assert [r.status for r in served.kube.requests if r.cluster == "aks-prod-weu" and r.resource == "pods"] == \
        [429, 429, 200]


def test_500_is_retried(served: Served) -> None:
    served.kube.faults.add(error(500, times=2, cluster="aks-prod-eus", resource="deployments"))
    view, partial = _view(served, served.live_fleet())
    assert not partial and _by_name(view)["aks-prod-eus"]["status"] == "ok"


def test_a_hung_request_times_out_and_is_retried(served: Served) -> None:
    # the LIST never gets an answer, and while it hangs 31 s pass on the clock the product shares with the
    # servers: its 30 s request timeout fires at once (no real time waited, whatever the machine's load)
    served.kube.faults.add(hang(times=1, advance_clock=31, cluster="aks-staging-eus", resource="namespaces"))
    view, partial = _view(served, served.live_fleet(), request_timeout=30)
    assert not partial and _by_name(view)["aks-staging-eus"]["status"] == "ok"
    statuses = [r.status for r in served.kube.requests if r.cluster == "aks-staging-eus" and r.resource == "namespaces"]
    assert statuses == [None, 200]  # the first is still unanswered: the client gave up on it by itself


def test_expired_continue_token_restarts_the_list(served: Served) -> None:
    served.kube.faults.add(error(410, times=1, cluster="aks-prod-weu", resource="pods",
                                 when=lambda r: "continue" in r.query, reason="Expired"))
    view, partial = _view(served, served.live_fleet(), page_limit=10)
    assert not partial
    pods = [r for r in served.kube.requests if r.cluster == "aks-prod-weu" and r.resource == "pods"]
    assert [r.status for r in pods].count(410) == 1
    assert sum(1 for r in pods if "continue" not in r.query) == 2  # the list started over
    snapshot_view, _ = build_report(EXAMPLES / "fleet.yaml")
    assert view["uses"] == snapshot_view.view()["uses"]


def test_403_on_one_kind_fails_that_cluster_with_the_missing_permission(served: Served) -> None:
    served.kube.faults.add(forbidden("azureidentitybindings", cluster="aks-prod-eus"))
    view, partial = _view(served, served.live_fleet())
    assert partial
    failed = _by_name(view)["aks-prod-eus"]
    assert failed["status"] == "failed"
    assert "list azureidentitybindings.aadpodidentity.k8s.io" in failed["error"]
    assert all(c["status"] == "ok" for n, c in _by_name(view).items() if n != "aks-prod-eus")


def test_a_cluster_that_is_down_is_reported_and_the_rest_completes(served: Served) -> None:
    served.kube.set_down("aks-staging-weu")
    # every request to it is dropped at once (no timeout involved); its retries' backoff advances the shared
    # clock by minutes, which must not time out the other clusters' requests: a timeout longer than that
    view, partial = _view(served, served.live_fleet(), request_timeout=3600)
    assert partial
    down = _by_name(view)["aks-staging-weu"]
    assert down["status"] == "failed" and re.search(r"^GET \S+ failed: .+ after 6 attempts$", down["error"])
    assert sum(c["status"] == "ok" for c in view["clusters"]) == 4


def test_the_cluster_deadline_bounds_a_stalled_cluster(served: Served) -> None:
    # every LIST hangs while 20 s pass on the shared clock: the 50 s deadline passes before any 30 s
    # request timeout could be retried
    served.kube.faults.add(hang(times=None, advance_clock=20, cluster="aks-prod-weu"))
    view, partial = _view(served, served.live_fleet(), cluster_deadline=50, request_timeout=30)
    assert partial
    assert "deadline" in _by_name(view)["aks-prod-weu"]["error"]
    served.kube.release_hangs()


def test_cli_snapshot_and_catalog_through_a_kubeconfig(served: Served) -> None:
    """The real entry point: `migrate snapshot` then `migrate catalog` on what it wrote (no Azure needed)."""
    text = (EXAMPLES / "fleet.yaml").read_text().replace("snapshot: snapshots/aks", "context: aks")
    text = text.replace("snapshot: snapshots/azure", f"snapshot: {EXAMPLES / 'snapshots/azure'}")
    fleet = served.tmp / "ctx-fleet.yaml"
    fleet.write_text(text)
    target = served.tmp / "cli-snap"
    run = subprocess.run([sys.executable, "-m", "migrator.cli", "snapshot", "--fleet", str(fleet), "--out", str(target),
                          "--kubeconfig", str(served.tmp / "kubeconfig")], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0, run.stderr
    files = [p for p in target.rglob("*") if p.is_file()]
    assert run.stdout.startswith(f"wrote {target}: 5 cluster(s), {len(files)} files, "), run.stdout
    assert int(run.stdout.split("; ")[1].split()[0]) > 0, run.stdout  # the example's env values are redacted
    assert run.stdout.endswith("object(s) redacted (managed fields, last-applied annotations, environment values)\n")
    cat = subprocess.run([sys.executable, "-m", "migrator.cli", "catalog", "--fleet", str(target / "fleet.yaml"),
                          "-o", "json"], capture_output=True, text=True, cwd=REPO)
    assert cat.returncode == 1, cat.stderr  # error findings, all clusters read
    assert json.loads(cat.stdout)["summary"]["clustersRead"] == 5


def test_each_cluster_is_built_as_its_read_completes_and_its_documents_let_go(served: Served) -> None:
    """The fleet's decoded documents are never all held: each read is built, then dropped, before the next."""
    from typing import Any, AsyncIterator

    from migrator.pipeline import read_inventory
    from migrator.sources.access import live_access
    from migrator.fleet import load_fleet

    fleet = load_fleet(served.live_fleet())
    reader, azure = live_access(fleet, served.settings(concurrency=2))
    assert reader is not None

    class Watching:
        """Hands the catalog each read and checks what it did with it before asking for the next."""

        def __init__(self) -> None:
            self.reads: list[Any] = []

        async def stream_clusters(self, specs: list[Any]) -> AsyncIterator[Any]:
            async for read in reader.stream_clusters(specs):
                assert read.documents is not None
                self.reads.append(read)
                yield read
                assert read.documents is None, f"{read.spec.name}: documents still held after its build"

    watching = Watching()
    inventory = read_inventory(fleet, live=watching, live_azure=azure)  # type: ignore[arg-type]
    assert sorted(r.spec.name for r in watching.reads) == sorted(c.name for c in fleet.clusters)
    assert [c.name for c in inventory.clusters] == sorted(c.name for c in fleet.clusters)
    assert inventory.failures == ()
    # and it is the same inventory the snapshot of the same state builds
    snapshot_view, _ = build_report(EXAMPLES / "fleet.yaml")
    view, _ = build_report(served.live_fleet(name="again.yaml"), live=served.settings(concurrency=2))
    assert view.view()["uses"] == snapshot_view.view()["uses"]
