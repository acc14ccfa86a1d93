"""Properties of the planner over generated fleets (hypothesis)."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.limits import FIC_NAME_PATTERN, MAX_FEDERATED_CREDENTIALS_PER_IDENTITY
from migrator.plan.build import PlanOptions, build_plan
from migrator.plan.model import encode
from tests.plan.fleets import FleetSpec, Work, build_catalog, fleets

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PER_WORKLOAD = PlanOptions(strategy="per-workload")


def _names(plan) -> dict[tuple[str, str, str, str], str]:
    return {(c.cluster, c.namespace, c.service_account, c.identity.resource_id or c.identity.client_id): c.name
            for c in plan.credentials}


@SETTINGS
@given(fleets(), st.sampled_from(["reuse", "per-workload"]))
def test_names_are_valid_and_unique_per_identity(spec: FleetSpec, strategy: str) -> None:
    plan = build_plan(build_catalog(spec), PlanOptions(strategy=strategy))
    per_identity = Counter((c.identity.resource_id, c.name) for c in plan.credentials)
    assert all(n == 1 for n in per_identity.values())
    assert all(FIC_NAME_PATTERN.match(c.name) for c in plan.credentials)


@SETTINGS
@given(fleets(min_clusters=2), st.data())
def test_a_name_never_changes_when_other_workloads_come_or_go(spec: FleetSpec, data: st.DataObject) -> None:
    before = _names(build_plan(build_catalog(spec)))
    extra = (spec.clusters[0][0], Work("newcomer", "fresh-app", "fresh-sa", "id-a"))
    grown = replace(spec, works=(*spec.works, extra))
    after = _names(build_plan(build_catalog(grown)))
    # a removal: drop one workload of the original spec
    if spec.works:
        victim = data.draw(st.sampled_from(spec.works))
        shrunk = _names(build_plan(build_catalog(replace(spec, works=tuple(w for w in spec.works if w != victim)))))
        for key, name in shrunk.items():
            if key in before:
                assert before[key] == name
    for key, name in before.items():
        if key in after:
            assert after[key] == name


@SETTINGS
@given(fleets(), st.randoms(use_true_random=False))
def test_plan_is_deterministic_under_permutation(spec: FleetSpec, rnd: random.Random) -> None:
    works = list(spec.works)
    rnd.shuffle(works)
    clusters = list(spec.clusters)
    rnd.shuffle(clusters)
    existing = list(spec.existing)
    rnd.shuffle(existing)
    shuffled = replace(spec, works=tuple(works), clusters=tuple(clusters), existing=tuple(existing))
    for options in (PlanOptions(), PER_WORKLOAD):
        assert encode(build_plan(build_catalog(spec), options)) == encode(build_plan(build_catalog(shuffled), options))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(21, 45), st.integers(1, 3))
def test_per_workload_never_goes_over_the_limit_even_for_large_peer_groups(n_clusters: int, n_apps: int) -> None:
    clusters = tuple((f"aks-{i:02d}", "prod") for i in range(n_clusters))
    works = tuple((c, Work("payments", f"app{k}", f"sa{k}", "id-a")) for c, _ in clusters for k in range(n_apps))
    plan = build_plan(build_catalog(FleetSpec(clusters, works)), PER_WORKLOAD)
    per_identity = Counter(c.identity.resource_id for c in plan.credentials)
    assert per_identity and max(per_identity.values()) <= MAX_FEDERATED_CREDENTIALS_PER_IDENTITY
    assert len(plan.new_identities) == n_apps * -(-n_clusters // MAX_FEDERATED_CREDENTIALS_PER_IDENTITY)
    assert not any(c.status == "blocked" for c in plan.credentials)
    # the same plan under reuse blocks: one identity for every cluster would exceed the limit
    reuse = build_plan(build_catalog(FleetSpec(clusters, works)))
    assert any(c.status == "blocked" and "Azure allows 20" in (c.reason or "") for c in reuse.credentials)


@SETTINGS
@given(fleets(), st.sampled_from(["reuse", "per-workload"]), st.sampled_from(["split", "client-id-env"]))
def test_every_catalogued_triple_is_planned_or_blocked_with_a_reason(spec: FleetSpec, strategy: str,
                                                                     remedy: str) -> None:
    cat = build_catalog(spec)
    plan = build_plan(cat, PlanOptions(strategy=strategy, service_account_conflicts=remedy))
    planned = {(c.cluster, c.namespace) for c in plan.credentials}
    workloads = {w for c in plan.credentials for w in c.why.workloads}
    for use in cat.uses:
        assert (use.cluster, use.namespace) in planned
        for w in use.workloads:
            assert f"{use.cluster}/{use.namespace}/{w}" in workloads
    for c in plan.credentials:
        if c.status == "blocked":
            assert c.reason
            assert any(b.cluster == c.cluster and c.name in b.reason for b in plan.blocked)
        if c.status == "pending-prerequisite":
            assert c.issuer is None and any(p.cluster == c.cluster for p in plan.prerequisites)
        if c.status in ("create", "present"):
            assert c.issuer is not None
