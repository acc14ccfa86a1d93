"""Bindings: stale, dangling, several identities per workload."""

from __future__ import annotations

from tests.findings.builders import binding, bound, cluster, findings, identity, mic, nmi, pod, workload

# --- BINDING_STALE


def test_a_binding_that_matches_nothing_fires() -> None:
    ident, b, _ = bound()
    [f] = findings("BINDING_STALE", cluster(identities=[ident], bindings=[b], workloads=[workload("other")]))
    assert f.object == "AzureIdentityBinding/api-binding" and "aadpodidbinding=api" in f.message
    assert "kubectl delete azureidentitybinding api-binding -n apps" in f.remediation


def test_a_binding_matched_by_a_template_or_a_hand_labelled_pod_is_not_stale() -> None:
    ident, b, w = bound()
    assert findings("BINDING_STALE", cluster(identities=[ident], bindings=[b], workloads=[w])) == []
    web = workload("web")  # its template has no label; one of its pods was labelled by hand
    by_pod = cluster(identities=[ident], bindings=[b], workloads=[web],
                     pods=[pod("web-1", owner=web.ref, labels={"aadpodidbinding": "api"})])
    assert findings("BINDING_STALE", by_pod) == []


def test_stale_is_not_judged_when_pods_were_not_captured() -> None:
    ident, b, _ = bound()
    assert findings("BINDING_STALE", cluster(identities=[ident], bindings=[b], pods=None)) == []


# --- BINDING_DANGLING


def test_a_binding_naming_an_identity_of_another_namespace_dangles() -> None:
    ident = identity("shared-id", "platform")
    b = binding("api-binding", "shared-id", "api", "apps")
    [f] = findings("BINDING_DANGLING", cluster(identities=[ident], bindings=[b], workloads=[nmi(), mic()]))
    assert f.object == "AzureIdentityBinding/api-binding" and f.namespace == "apps"
    assert "exists in platform" in f.message and "Move the binding to platform" in f.remediation


def test_a_binding_with_its_identity_in_its_namespace_does_not_dangle() -> None:
    ident, b, w = bound()
    assert findings("BINDING_DANGLING", cluster(identities=[ident], bindings=[b], workloads=[w])) == []


def test_dangling_is_not_judged_when_identities_were_not_captured() -> None:
    _, b, w = bound()
    assert findings("BINDING_DANGLING", cluster(identities=None, bindings=[b], workloads=[w])) == []


# --- MULTIPLE_IDENTITIES_PER_WORKLOAD


def test_one_workload_matched_by_bindings_to_two_identities_fires() -> None:
    a, b = identity("a-id", uami="id-a"), identity("b-id", uami="id-b")
    c = cluster(identities=[a, b], bindings=[binding("a", "a-id", "api"), binding("b", "b-id", "api")],
                workloads=[workload("api", selector="api", sa="api")])
    [f] = findings("MULTIPLE_IDENTITIES_PER_WORKLOAD", c)
    assert f.object == "Deployment/api" and "2 identities" in f.message and "apps/a-id" in f.message


def test_two_identity_objects_naming_the_same_azure_identity_count_once() -> None:
    a, b = identity("a-id", uami="id-same"), identity("b-id", uami="id-same")
    c = cluster(identities=[a, b], bindings=[binding("a", "a-id", "api"), binding("b", "b-id", "api")],
                workloads=[workload("api", selector="api", sa="api")])
    assert findings("MULTIPLE_IDENTITIES_PER_WORKLOAD", c) == []


def test_one_binding_per_workload_does_not_fire() -> None:
    ident, b, w = bound()
    assert findings("MULTIPLE_IDENTITIES_PER_WORKLOAD", cluster(identities=[ident], bindings=[b], workloads=[w])) == []
