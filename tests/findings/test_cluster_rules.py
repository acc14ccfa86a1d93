"""Cluster prerequisites and what was not captured."""

from __future__ import annotations

from tests.findings.builders import (
    bound,
    cluster,
    facts,
    findings,
    webhook_config,
    webhook_deployment,
)


def _bound_cluster(**kw):
    ident, b, w = bound()
    workloads = kw.pop("workloads", [])
    return cluster(identities=[ident], bindings=[b], workloads=[w, *workloads], **kw)


# --- OIDC_ISSUER_DISABLED


def test_bindings_without_an_oidc_issuer_fire() -> None:
    [f] = findings("OIDC_ISSUER_DISABLED", _bound_cluster(facts_=facts(oidc=False)))
    assert (f.cluster, f.namespace, f.object) == ("aks-1", "", "ManagedCluster/aks-1")
    assert f.remediation.startswith("az aks update -g rg-aks-1 -n aks-1 --enable-oidc-issuer")


def test_an_issuer_or_no_bindings_do_not_fire() -> None:
    assert findings("OIDC_ISSUER_DISABLED", _bound_cluster()) == []
    assert findings("OIDC_ISSUER_DISABLED", cluster(facts_=facts(oidc=False))) == []
    assert findings("OIDC_ISSUER_DISABLED", cluster(facts_=facts(oidc=False), bindings=None)) == []


# --- WORKLOAD_IDENTITY_DISABLED


def test_bindings_without_the_addon_or_a_webhook_fire() -> None:
    [f] = findings("WORKLOAD_IDENTITY_DISABLED", _bound_cluster(facts_=facts(wi=False)))
    assert f.object == "ManagedCluster/aks-1" and "--enable-workload-identity" in f.remediation


def test_a_webhook_older_than_v1_installed_by_hand_does_not_count() -> None:
    c = _bound_cluster(facts_=facts(wi=False), webhooks=[webhook_config(pod_label=False)],
                       workloads=[webhook_deployment("v0.15.0")])
    [f] = findings("WORKLOAD_IDENTITY_DISABLED", c)
    assert "v0.15.0" in f.message and "older than v1.0" in f.message and "remove the old webhook" in f.remediation


def test_the_addon_or_a_v1_webhook_installed_by_hand_satisfies_it() -> None:
    assert findings("WORKLOAD_IDENTITY_DISABLED", _bound_cluster()) == []
    by_hand = _bound_cluster(facts_=facts(wi=False), webhooks=[webhook_config()], workloads=[webhook_deployment()])
    assert findings("WORKLOAD_IDENTITY_DISABLED", by_hand) == []


def test_unknown_webhooks_are_not_judged() -> None:
    assert findings("WORKLOAD_IDENTITY_DISABLED", _bound_cluster(facts_=facts(wi=False), webhooks=None)) == []


# --- SOURCE_NOT_CAPTURED


def test_a_missing_kind_names_the_findings_not_judged() -> None:
    from tests.findings.builders import azure
    got = findings("SOURCE_NOT_CAPTURED", cluster(secret_provider_classes=None), azure_=azure())
    [f] = got
    assert f.object == "SecretProviderClass/*" and "SECRETS_STORE_USES_POD_IDENTITY" in f.message
    assert "kubectl get secretproviderclasses -A -o json" in f.remediation


def test_a_missing_managed_cluster_and_azure_snapshot_are_named() -> None:
    got = findings("SOURCE_NOT_CAPTURED", cluster(facts_=None), azure_=None)
    objects = {f.object for f in got}
    assert {"ManagedCluster/aks-1", "UserAssignedIdentity/*", "FederatedIdentityCredential/*"} <= objects
    mc = next(f for f in got if f.object == "ManagedCluster/aks-1")
    assert "OIDC_ISSUER_DISABLED" in mc.message and "az aks show -g rg-aks-1 -n aks-1" in mc.remediation
    assert next(f for f in got if f.object == "UserAssignedIdentity/*").cluster == ""


def test_everything_captured_does_not_fire() -> None:
    from tests.findings.builders import azure
    assert findings("SOURCE_NOT_CAPTURED", cluster(), azure_=azure()) == []
