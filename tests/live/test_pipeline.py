"""One read per command: ``render --fleet`` plans and judges from the same read of each cluster."""

from __future__ import annotations

from collections import Counter

from migrator.commands.render import inputs_for_fleet
from migrator.pipeline import read_fleet
from tests.live.conftest import Served


def test_render_from_a_live_fleet_reads_each_kind_of_each_cluster_once(served: Served) -> None:
    plan, needs, partial = inputs_for_fleet(served.live_fleet(), served.settings())
    assert not partial and plan.credentials and needs  # the example has Flux without an exception
    lists = Counter((r.cluster, r.resource) for r in served.kube.requests if r.verb == "list")
    assert len(lists) == 5 * 20  # every kind of every cluster was read ...
    assert set(lists.values()) == {1}  # ... exactly once (it was twice: once to plan, once for the findings)
    managed = [r for r in served.arm.requests if r.method == "GET" and r.path.lower().endswith(
        tuple(f"/managedclusters/{c}" for c in {c for c, _ in lists}))]
    assert len(managed) == 5
    assert served.mutations() == []


def test_a_fleet_run_carries_what_every_command_needs(served: Served) -> None:
    whole = read_fleet(served.live_fleet(), live=served.settings())
    flux = [f for f in whole.findings if f.code == "FLUX_WITHOUT_EXCEPTION"]
    assert whole.ignored == 0 and flux
    run = read_fleet(served.live_fleet(), live=served.settings(), ignore=frozenset({"FLUX_WITHOUT_EXCEPTION"}))
    assert not run.partial and run.fleet.clusters and run.catalog.uses
    assert run.ignored == len(flux)
    assert run.findings == tuple(f for f in whole.findings if f.code != "FLUX_WITHOUT_EXCEPTION")
    assert run.inventory is run.catalog.inventory
