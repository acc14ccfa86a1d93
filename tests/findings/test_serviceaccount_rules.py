"""Service accounts: shared across identities, and default."""

from __future__ import annotations

from tests.findings.builders import binding, bound, cluster, findings, identity, workload


def _two_workloads(sa_a: str, sa_b: str, uami_b: str = "id-b") -> dict[str, list]:
    return dict(
        identities=[identity("a-id", uami="id-a"), identity("b-id", uami=uami_b)],
        bindings=[binding("a", "a-id", "a"), binding("b", "b-id", "b")],
        workloads=[workload("a", selector="a", sa=sa_a), workload("b", selector="b", sa=sa_b)],
    )


# --- SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES


def test_one_service_account_used_by_workloads_bound_to_different_identities_fires() -> None:
    [f] = findings("SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES", cluster(**_two_workloads("runner", "runner")))
    assert (f.namespace, f.object) == ("apps", "ServiceAccount/runner")
    assert "Deployment/a → apps/a-id" in f.message and "Deployment/b → apps/b-id" in f.message
    assert "AZURE_CLIENT_ID" in f.remediation and "kubectl create serviceaccount" in f.remediation


def test_separate_service_accounts_or_the_same_identity_do_not_fire() -> None:
    assert findings("SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES", cluster(**_two_workloads("a", "b"))) == []
    same = cluster(**_two_workloads("runner", "runner", uami_b="id-a"))
    assert findings("SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES", same) == []


# --- DEFAULT_SERVICEACCOUNT


def test_a_bound_workload_running_as_default_fires() -> None:
    ident, b, w = bound(sa="default")
    [f] = findings("DEFAULT_SERVICEACCOUNT", cluster(identities=[ident], bindings=[b], workloads=[w]))
    assert f.object == "Deployment/api" and "every pod in apps" in f.message
    assert "kubectl create serviceaccount api -n apps && kubectl set serviceaccount deployment api api -n apps" \
        in f.remediation


def test_a_bound_workload_with_its_own_service_account_does_not_fire() -> None:
    ident, b, w = bound(sa="api")
    assert findings("DEFAULT_SERVICEACCOUNT", cluster(identities=[ident], bindings=[b], workloads=[w])) == []


def test_an_unbound_workload_on_default_does_not_fire() -> None:
    assert findings("DEFAULT_SERVICEACCOUNT", cluster(workloads=[workload("web")])) == []
