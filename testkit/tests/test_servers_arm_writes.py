"""Managed-cluster writes: PUT with If-Match (412 on a stale ETag), 409 while another operation runs,
a long-running operation polled through Azure-AsyncOperation on the clock, and the add-on's pod
identities mirrored into the attached Kubernetes cluster when the update completes."""

from __future__ import annotations

import json
import os

import pytest
from azure.core.rest import HttpRequest
from azure.mgmt.containerservice import ContainerServiceClient

from testkit.synth import RG, SUB

API = "2025-10-01"


@pytest.fixture
def cs(kube, arm, snapshot_root):  # type: ignore[no-untyped-def]
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    arm.load_snapshot(snapshot_root)
    return ContainerServiceClient(arm.credential(), SUB, retry_total=0, **arm.client_kwargs())


def _url(arm) -> str:  # type: ignore[no-untyped-def]
    return (f"{arm.url}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerService/"
            "managedClusters/aks-demo")


def _send(cs, method, url, body=None, headers=None):  # type: ignore[no-untyped-def]
    r = cs.send_request(HttpRequest(method, url, params={"api-version": API}, json=body, headers=headers))
    return r.status_code, r.headers, json.loads(r.read() or b"{}")


def test_put_with_the_etag_starts_an_operation_that_completes_on_the_clock(cs, arm, kube, clock):  # type: ignore
    status, headers, mc = _send(cs, "GET", _url(arm))
    etag = headers["ETag"]
    assert status == 200 and mc["eTag"] == etag.strip('"')
    assert kube["aks-demo"].get("azureidentitybindings", "demo", "demo-aad1-binding") is None
    mc["properties"]["podIdentityProfile"]["userAssignedIdentities"] = []
    status, headers, body = _send(cs, "PUT", _url(arm), mc, {"If-Match": etag})
    assert status == 200 and body["properties"]["provisioningState"] == "Updating"
    poll = headers["Azure-AsyncOperation"]
    assert _send(cs, "GET", poll.split("?")[0])[2]["status"] == "InProgress"
    # a second write while the first runs is refused (AKS runs one operation at a time)
    status, _, err = _send(cs, "PUT", _url(arm), mc, {"If-Match": headers["ETag"]})
    assert status == 409 and err["error"]["code"] == "OperationNotAllowed"
    clock.advance(arm.mc_operation_seconds)
    assert _send(cs, "GET", poll.split("?")[0])[2]["status"] == "Succeeded"
    status, headers2, after = _send(cs, "GET", _url(arm))
    assert after["properties"]["provisioningState"] == "Succeeded" and headers2["ETag"] != etag
    assert after["properties"]["podIdentityProfile"]["userAssignedIdentities"] == []


def test_a_stale_etag_is_412_and_changes_nothing(cs, arm):  # type: ignore[no-untyped-def]
    _, headers, mc = _send(cs, "GET", _url(arm))
    arm.mc_put_hook = lambda server, rid: (server._new_etag(rid), setattr(server, "mc_put_hook", None))
    mc["tags"] = {"mine": "1"}
    status, _, err = _send(cs, "PUT", _url(arm), mc, {"If-Match": headers["ETag"]})
    assert status == 412 and err["error"]["code"] == "PreconditionFailed"
    assert _send(cs, "GET", _url(arm))[2].get("tags") == {}


def test_another_operation_blocks_writes_until_it_ends(cs, arm, clock):  # type: ignore[no-untyped-def]
    arm.start_mc_operation("aks-demo", 120)
    _, headers, mc = _send(cs, "GET", _url(arm))
    assert mc["properties"]["provisioningState"] == "Upgrading"
    status, _, err = _send(cs, "PUT", _url(arm), mc, {"If-Match": headers["ETag"]})
    assert status == 409 and "in progress upgrade managed cluster operation" in err["error"]["message"]
    clock.advance(121)
    _, headers, mc = _send(cs, "GET", _url(arm))
    assert _send(cs, "PUT", _url(arm), mc, {"If-Match": headers["ETag"]})[0] == 200


def test_added_pod_identities_and_exceptions_are_materialized_in_the_cluster(cs, arm, kube, clock):  # type: ignore
    arm.mc_operation_seconds = 0
    _, headers, mc = _send(cs, "GET", _url(arm))
    prof = mc["properties"]["podIdentityProfile"]
    prof["userAssignedIdentities"].append({"name": "extra", "namespace": "demo", "bindingSelector": "extra",
                                           "identity": {"resourceId": "/x/extra", "clientId": "c-1"}})
    prof["userAssignedIdentityExceptions"] = []
    assert _send(cs, "PUT", _url(arm), mc, {"If-Match": headers["ETag"]})[0] == 200
    c = kube["aks-demo"]
    assert c.get("azureidentitybindings", "demo", "extra-binding")["spec"]["selector"] == "extra"
    assert c.get("azureidentities", "demo", "extra")["spec"]["clientID"] == "c-1"


def test_the_sdk_long_running_operation_works_against_it(cs, arm):  # type: ignore[no-untyped-def]
    arm.mc_operation_seconds = 0
    mc = cs.managed_clusters.get(RG, "aks-demo")
    mc.tags = {"owner": "platform"}
    result = cs.managed_clusters.begin_create_or_update(RG, "aks-demo", mc, polling_interval=0).result()
    assert result.tags == {"owner": "platform"} and result.provisioning_state == "Succeeded"
