"""Faults on demand and the request log of the local Kubernetes server."""

from __future__ import annotations

import json
import socket
import time

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from testkit import Fault, KubeServer, drop, error, forbidden, hang, latency, nth_write, throttle
from testkit.synth import bulk_pods, deployment


@pytest.fixture
def cluster(kube):  # type: ignore[no-untyped-def]
    c = kube.add_cluster("a", objects=bulk_pods(5) + [deployment("demo", "web", 1)])
    kube.add_cluster("b")
    return c


def test_latency_per_request_does_not_block_other_requests(kube, cluster):
    import threading

    kube.faults.add(latency(0.6, cluster="a", verb="list"))
    v1a = client.CoreV1Api(kube.api_client("a"))
    v1b = client.CoreV1Api(kube.api_client("b"))
    t = threading.Thread(target=v1a.list_namespaced_pod, args=("load",))
    t0 = time.monotonic()
    t.start()
    time.sleep(0.05)
    v1b.list_namespace()  # answered while the slow request is pending
    fast = time.monotonic() - t0
    t.join()
    slow = time.monotonic() - t0
    assert fast < 0.5 <= 0.6 <= slow
    assert [r.cluster for r in kube.requests if r.duration and r.duration >= 0.6] == ["a"]


def test_429_with_retry_after_surfaces_when_client_retries_are_off(kube, cluster):
    kube.faults.add(throttle(retry_after=7, times=1, resource="pods", verb="list"))
    v1 = client.CoreV1Api(kube.api_client("a", retries=False))
    with pytest.raises(ApiException) as ei:
        v1.list_namespaced_pod("load")
    e = ei.value
    assert e.status == 429 and e.headers["Retry-After"] == "7"
    body = json.loads(e.body)
    assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 7
    assert len(v1.list_namespaced_pod("load").items) == 5  # times=1: the next request is served


def test_official_client_retries_429_and_dropped_gets_by_itself(kube, cluster):
    """Pin a client behaviour the product must know: urllib3's default Retry (3) silently
    retries idempotent requests on 429+Retry-After and on dropped connections, in real time."""
    kube.faults.add(throttle(retry_after=0, times=1, verb="list"))
    v1 = client.CoreV1Api(kube.api_client("a"))
    assert len(v1.list_namespaced_pod("load").items) == 5
    kube.faults.add(drop(times=1, verb="get"))
    assert v1.read_namespaced_pod("load-000001", "load").metadata.name == "load-000001"
    assert [r.status for r in kube.requests] == [429, 200, 0, 200]


def test_500_and_nth_write_failing(kube, cluster):
    apps = client.AppsV1Api(kube.api_client("a", retries=False))
    kube.faults.add(error(500, times=1, verb="get", resource="deployments"))
    with pytest.raises(ApiException) as ei:
        apps.read_namespaced_deployment("web", "demo")
    assert ei.value.status == 500 and json.loads(ei.value.body)["reason"] == "InternalError"
    kube.faults.add(nth_write(3, status=500))
    v1 = client.CoreV1Api(kube.api_client("a", retries=False))
    for i in range(2):
        v1.create_namespaced_config_map("demo", {"metadata": {"name": f"cm{i}"}})
    v1.list_namespaced_config_map("demo")  # reads do not count
    with pytest.raises(ApiException) as ei:
        v1.create_namespaced_config_map("demo", {"metadata": {"name": "cm2"}})
    assert ei.value.status == 500
    v1.create_namespaced_config_map("demo", {"metadata": {"name": "cm3"}})
    assert sorted(cm.metadata.name for cm in v1.list_namespaced_config_map("demo").items) == ["cm0", "cm1", "cm3"]


def test_hanging_request_times_out_on_the_client(kube, cluster):
    kube.faults.add(hang(cluster="a", verb="list", times=None))
    v1 = client.CoreV1Api(kube.api_client("a", retries=False))
    t0 = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        v1.list_namespaced_pod("load", _request_timeout=0.2)
    assert 0.2 <= time.monotonic() - t0 < 2
    hung = [r for r in kube.requests if r.verb == "list"][0]
    assert hung.status in (None, 0)
    kube.release_hangs()
    kube.faults.clear()
    assert len(v1.list_namespaced_pod("load").items) == 5


def test_a_hang_can_advance_the_shared_clock(kube, clock, cluster):
    """Time passing while a request hangs, on the clock the client shares (its timeout, if on that clock, fires)."""
    kube.faults.add(hang(advance_clock=31, cluster="a", verb="list"))
    v1 = client.CoreV1Api(kube.api_client("a", retries=False))
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        v1.list_namespaced_pod("load", _request_timeout=0.2)  # this client's timeout is a real one
    assert clock.monotonic() == 31
    hung = next(r for r in kube.requests if r.verb == "list")
    assert hung.clock_time == 0 and hung.status is None  # arrived at 0, still unanswered
    kube.release_hangs()
    assert len(v1.list_namespaced_pod("load").items) == 5  # times=1: the next one is served
    assert clock.monotonic() == 31


def test_403_on_one_kind_only(kube, cluster):
    kube.faults.add(forbidden("pods", verb="list"))
    v1 = client.CoreV1Api(kube.api_client("a"))
    with pytest.raises(ApiException) as ei:
        v1.list_pod_for_all_namespaces()
    assert ei.value.status == 403
    assert json.loads(ei.value.body)["message"] == ('pods is forbidden: User "masterclient" cannot list resource '
                                                    '"pods" in API group "" at the cluster scope')
    assert v1.list_namespace().items  # other kinds unaffected
    assert client.AppsV1Api(kube.api_client("a")).list_deployment_for_all_namespaces().items


def test_whole_cluster_down_on_shared_port_and_on_own_port(clock):
    with KubeServer(clock) as server:
        server.add_cluster("up")
        server.add_cluster("shared")
        own = server.add_cluster("own", own_port=True)
        server.set_down("shared")
        server.set_down("own")
        with pytest.raises(urllib3.exceptions.ProtocolError):  # RemoteDisconnected
            client.CoreV1Api(server.api_client("shared", retries=False)).list_namespace()
        port = int(own.url.rsplit(":", 1)[1])
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        assert client.CoreV1Api(server.api_client("up")).list_namespace().items
        server.set_down("own", False)
        server.set_down("shared", False)
        assert client.CoreV1Api(server.api_client("own")).list_namespace().items
        assert client.CoreV1Api(server.api_client("shared")).list_namespace().items


def test_request_log_records_every_request(kube, cluster):
    v1 = client.CoreV1Api(kube.api_client("a"))
    v1.list_pod_for_all_namespaces(limit=2, label_selector="app=load-1")
    kube.log.assert_no_writes()
    v1.create_namespaced_config_map("demo", {"metadata": {"name": "x"}}, dry_run="All")
    kube.log.assert_no_writes(dry_run=False)
    kube.log.assert_writes_dry_run()
    v1.create_namespaced_config_map("demo", {"metadata": {"name": "x"}})
    with pytest.raises(AssertionError):
        kube.log.assert_writes_dry_run()
    first, second, third = kube.requests
    assert (first.method, first.path, first.verb, first.resource, first.status) == (
        "GET", "/api/v1/pods", "list", "pods", 200)
    assert first.query == {"labelSelector": "app=load-1", "limit": "2"} and first.cluster == "a"
    assert first.raw_path.startswith("/clusters/a/api/v1/pods?")
    assert (second.verb, second.namespace, second.dry_run, second.status) == ("create", "demo", True, 201)
    assert json.loads(second.body)["metadata"]["name"] == "x"
    assert (third.dry_run, third.is_write, third.user) == (False, True, "masterclient")
    assert kube.log.filter(verb="create", dry_run=False) == [third]


def test_fault_matching_and_schedule():
    f = Fault(status=500, verb="list", after=1, times=2)
    from testkit.faults import FaultSet, RequestRecord

    fs = FaultSet()
    fs.add(f)
    rec = RequestRecord(service="kube", method="GET", path="/api/v1/pods", query={}, verb="list")
    got = [fs.evaluate(rec).status for _ in range(5)]
    assert got == [None, 500, 500, None, None]
    assert (f.seen, f.fired) == (3, 2)
    fs.clear()
    fs.add(Fault(latency=0.1))
    fs.add(Fault(latency=0.2, path=r"/pods$"))
    fs.add(Fault(status=503, method="POST"))
    a = fs.evaluate(rec)
    assert a.latency == pytest.approx(0.3) and a.status is None
