"""Pod logs (``pods/<name>/log``): what ``migrate cutover --check-nmi-logs`` reads from NMI."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException


@pytest.fixture
def api(kube, snapshot_root):  # type: ignore[no-untyped-def]
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    return kube.api_client("aks-demo")


def test_pod_log_lines_filtered_by_since_time_and_tail(kube, api, clock):  # type: ignore[no-untyped-def]
    c = kube["aks-demo"]
    pod = c.list("pods", "kube-system")[0]["metadata"]["name"]
    c.add_pod_log("kube-system", pod, "I0614 first line")
    clock.advance(60)
    since = clock.now()
    c.add_pod_log("kube-system", pod, "I0614 second line")
    c.add_pod_log("kube-system", pod, "I0614 third line\n")
    v1 = client.CoreV1Api(api)
    assert v1.read_namespaced_pod_log(pod, "kube-system") == "I0614 first line\nI0614 second line\nI0614 third line\n"
    after = v1.read_namespaced_pod_log(pod, "kube-system", since_seconds=30)
    assert after == "I0614 second line\nI0614 third line\n"
    stamp = since.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = api.call_api(*api.param_serialize("GET", f"/api/v1/namespaces/kube-system/pods/{pod}/log",
                                             query_params=[("sinceTime", stamp), ("tailLines", 1)],
                                             auth_settings=["BearerToken"])[:3])
    assert resp.read() == b"I0614 third line\n"


def test_pod_log_of_a_missing_pod_is_404_and_a_multi_container_pod_needs_a_container(kube, api):  # type: ignore
    v1 = client.CoreV1Api(api)
    with pytest.raises(ApiException) as exc:
        v1.read_namespaced_pod_log("nope", "demo")
    assert exc.value.status == 404
    c = kube["aks-demo"]
    c.add({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two", "namespace": "demo"},
           "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}})
    c.add_pod_log("demo", "two", "from b", container="b")
    with pytest.raises(ApiException) as exc:
        v1.read_namespaced_pod_log("two", "demo")
    assert exc.value.status == 400 and "a container name must be specified" in exc.value.body
    assert v1.read_namespaced_pod_log("two", "demo", container="b") == "from b\n"
    assert v1.read_namespaced_pod_log("two", "demo", container="a") == ""
