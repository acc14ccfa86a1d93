"""Pure parts of discovery: batching, the group rule, quota headers, the query, the status comment."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from migrator.errors import InputError
from migrator.fleet.discovered import status_comment
from migrator.fleet.discovery import Scope
from migrator.fleet.groups import guess_group
from migrator.sources.discover import (
    BATCH_LIMIT,
    batches,
    cluster_from_row,
    cluster_query,
    parse_resets_after,
)


def test_batches_of_at_most_1000_subscriptions_sorted_and_deduplicated() -> None:
    subs = [str(uuid.UUID(int=i)) for i in range(2500)]
    shuffled = list(reversed(subs)) + [s.upper() for s in subs[:10]]
    out = batches(shuffled)
    assert BATCH_LIMIT == 1000
    assert [len(b) for b in out] == [1000, 1000, 500]
    assert [s for b in out for s in b] == sorted(subs)           # each subscription once, in order
    assert batches(subs[:3], size=2) == [subs[:2], subs[2:3]]
    assert batches([]) == []
    with pytest.raises(ValueError):
        batches(subs, size=0)


@pytest.mark.parametrize(("name", "tags", "region", "group"), [
    ("aks-prod-weu", {"env": "Prod "}, "westeurope", "prod"),                      # a tag first, lower-cased
    ("aks-prod-weu", {"Group": "payments", "env": "prod"}, "westeurope", "payments"),  # group before env
    ("aks-x", {"environment": "qa"}, "eastus", "qa"),
    ("aks-prod-weu", {}, "westeurope", "prod"),                                    # region + generic tokens
    ("payments-prod-westeurope-01", {}, "westeurope", "payments-prod"),           # own region, digits
    ("orders_prod_eus2", {}, "eastus2", "orders-prod"),
    ("team-a-cluster-northeurope", {"env": ""}, "northeurope", "team-a"),          # empty tag: the name rule
    ("payments", {}, "eastus", None),                                              # nothing removed: own group
    ("aks-weu", {}, "westeurope", None),                                           # nothing left
])
def test_group_rule(name: str, tags: dict[str, str], region: str, group: str | None) -> None:
    assert guess_group(name, tags, region) == group


def test_quota_reset_header() -> None:
    assert parse_resets_after("00:00:05") == 5
    assert parse_resets_after("00:01:02.5") == 62.5
    assert parse_resets_after("1.00:00:01") == 86401
    assert parse_resets_after("soon") is None and parse_resets_after(None) is None


def test_query_orders_by_id_and_wraps_the_filter() -> None:
    q = cluster_query("tags['env'] == 'prod'")
    assert q.startswith("Resources | where type =~ 'microsoft.containerservice/managedclusters' "
                        "| where (tags['env'] == 'prod') | project ")
    assert q.endswith("| order by id asc")
    assert "| where" not in cluster_query("  ").split("managedclusters'")[1]


def test_scope_needs_exactly_one_and_guids() -> None:
    with pytest.raises(InputError):
        Scope()
    with pytest.raises(InputError):
        Scope(subscriptions=(str(uuid.UUID(int=1)),), tenant=True)
    with pytest.raises(InputError, match="not a subscription ID"):
        Scope(subscriptions=("prod",))
    assert Scope(tenant=True).describe() == "every subscription of the tenant"
    assert Scope(subscriptions=tuple(str(uuid.UUID(int=i)) for i in range(5))).describe() == "5 subscriptions"


def test_rows_keep_the_resource_group_casing_of_the_id_and_flags_need_a_full_row() -> None:
    rid = ("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/RG-Prod/providers/"
           "Microsoft.ContainerService/managedClusters/aks-a")
    row = {"id": rid, "name": "aks-a", "location": "westeurope", "resourceGroup": "rg-prod", "tags": None,
           "podIdentity": True, "oidcIssuer": False, "workloadIdentity": None, "described": True}
    cluster, described = cluster_from_row(row)
    assert described and cluster.resource_group == "RG-Prod" and cluster.tags == {}
    assert (cluster.pod_identity, cluster.oidc_issuer, cluster.workload_identity) == (True, False, False)
    partial, described = cluster_from_row({**row, "described": False})
    assert not described and partial.pod_identity is None
    assert status_comment(partial).startswith("pod-identity add-on: unknown, OIDC issuer: unknown")
    assert "read with an ARM list" in status_comment(replace(cluster, source="arm"))
