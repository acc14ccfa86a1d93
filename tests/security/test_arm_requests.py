"""Names that reach ARM are path segments, percent-encoded: a name with ``..`` or ``/`` never reaches another ARM
path; a ``nextLink`` (or any URL) on another host is refused, so the bearer token never leaves ARM."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from migrator.errors import SourceError
from migrator.sources.arm import ArmReader
from testkit.faults import Fault
from tests.live.conftest import Served

SUB = "00000000-0000-0000-0000-000000000001"


def _reader(served: Served) -> ArmReader:
    return ArmReader(served.arm.credential(), base_url=served.arm.url, connection_verify=served.arm.ca_path,
                     clock=served.clock)


@pytest.mark.parametrize("name", ["../../../providers/Microsoft.Authorization/roleAssignments", "..", ".", "aks/child",
                                  "aks/../../../../providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                                  "..\\..\\x"])
def test_a_name_with_dot_segments_never_reaches_another_arm_path(served: Served, name: str) -> None:
    """A cluster named ../../providers/… was pasted into the request path: ARM resolved it elsewhere."""
    with pytest.raises(SourceError):
        _reader(served).managed_cluster(SUB, "rg-aks-prod-weu", name)
    assert [r.path for r in served.arm.requests] == []


@pytest.mark.parametrize("name", ["aks?api-version=1", "aks#frag", "aks%2F..", "aks x", "aks;x=y"])
def test_a_name_stays_one_path_segment(served: Served, name: str) -> None:
    with pytest.raises(SourceError, match="HTTP 404"):
        _reader(served).managed_cluster(SUB, "rg-aks-prod-weu", name)
    (request,) = served.arm.requests
    assert request.path.endswith(f"/managedClusters/{name}"), request.path  # the server decoded one segment
    assert request.raw_path.split("?")[0].endswith("/managedClusters/" + quote(name, safe=""))
    assert request.query.get("api-version") == "2025-10-01"


def test_resource_ids_are_encoded_segment_by_segment() -> None:
    from migrator.sources.arm import arm_path, resource_path

    assert arm_path("subscriptions", "s", "resourceGroups", "rg(1)") == "/subscriptions/s/resourceGroups/rg%281%29"
    assert resource_path("/subscriptions/s/resourceGroups/r/providers/P/t/n?x") == \
        "/subscriptions/s/resourceGroups/r/providers/P/t/n%3Fx"
    for bad in ("/subscriptions/s/../../x", "subscriptions/s", "/tenants/x", "/subscriptions//x"):
        with pytest.raises(SourceError):
            resource_path(bad)


def test_a_next_link_to_another_host_is_not_followed(served: Served) -> None:
    """The token went wherever ARM's nextLink pointed."""
    elsewhere = f"{served.arm.authority_host}subscriptions/{SUB}/providers/Microsoft.ManagedIdentity/x"
    served.arm.faults.add(Fault(service="arm", resource="userAssignedIdentities", status=200, times=1,
                                body={"value": [], "nextLink": elsewhere}))
    with pytest.raises(SourceError, match="is not followed: it is not Azure Resource Manager"):
        _reader(served).identities([SUB])
    assert [r for r in served.arm.requests if r.service != "arm"] == []


def test_a_next_link_on_the_arm_host_is_followed(served: Served) -> None:
    served.arm.page_size = 1  # every list pages
    identities = _reader(served).identities([SUB])
    assert len(identities) > 1
    assert len([r for r in served.arm.requests if r.resource == "userAssignedIdentities"]) == len(identities)


def test_a_live_catalog_reports_the_refused_link_and_completes(served: Served) -> None:
    from migrator.commands.catalog import build_report

    served.arm.faults.add(Fault(service="arm", resource="userAssignedIdentities", status=200, times=None,
                                body={"value": [], "nextLink": "https://attacker.example/steal"}))
    report, _ = build_report(served.live_fleet(), live=served.settings())
    view = report.view()
    assert not view["azure"]["captured"] and "is not followed" in view["azure"]["reason"]
    assert [r for r in served.arm.requests if r.service != "arm"] == []
