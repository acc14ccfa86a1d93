"""Federated credentials: the limit, stale issuers, credentials already present."""

from __future__ import annotations

from migrator.limits import MAX_FEDERATED_CREDENTIALS_PER_IDENTITY as LIMIT
from tests.findings.builders import (
    azure,
    bound,
    cluster,
    facts,
    fic,
    findings,
    issuer,
    managed_identity,
)

GITHUB = "https://token.actions.githubusercontent.com"


def _foreign(n: int, identity: str = "id-api") -> list:
    return [fic(identity, GITHUB, f"repo:contoso/api:environment:e{i}", name=f"gh-{i}") for i in range(n)]


def _clusters(*names: str, **kw) -> list:
    out = []
    for name in names:
        ident, b, w = bound(**kw)
        out.append(cluster(name, identities=[ident], bindings=[b], workloads=[w]))
    return out


# --- FIC_LIMIT_EXCEEDED


def test_existing_plus_new_credentials_over_the_limit_fire() -> None:
    assert LIMIT == 20
    [f] = findings("FIC_LIMIT_EXCEEDED", *_clusters("aks-1", "aks-2"),
                   azure_=azure([managed_identity("id-api")], _foreign(19)))
    assert (f.cluster, f.namespace, f.object) == ("", "", "UserAssignedIdentity/id-api")
    assert "21 federated credentials (19 existing, 19 of them foreign + 2 new for 2 clusters)" in f.message


def test_exactly_the_limit_or_credentials_already_present_do_not_fire() -> None:
    assert findings("FIC_LIMIT_EXCEEDED", *_clusters("aks-1", "aks-2"),
                    azure_=azure([managed_identity("id-api")], _foreign(18))) == []
    present = fic("id-api", issuer("aks-1"), "system:serviceaccount:apps:api")
    assert findings("FIC_LIMIT_EXCEEDED", *_clusters("aks-1"),
                    azure_=azure([managed_identity("id-api")], [*_foreign(19), present])) == []


def test_clusters_without_an_issuer_count_as_pending() -> None:
    cs = [cluster(c.name, facts_=facts(c.name, oidc=False), identities=c.identities, bindings=c.bindings,
                  workloads=c.workloads) for c in _clusters("aks-1", "aks-2")]
    [f] = findings("FIC_LIMIT_EXCEEDED", *cs, azure_=azure([managed_identity("id-api")], _foreign(19)))
    assert "2 pending an OIDC issuer" in f.message


# --- FIC_STALE_ISSUER


def test_an_aks_credential_of_no_fleet_cluster_is_stale() -> None:
    old = fic("id-api", issuer("aks-1-before-rebuild"), "system:serviceaccount:apps:api", name="old")
    [f] = findings("FIC_STALE_ISSUER", *_clusters("aks-1"), azure_=azure([managed_identity("id-api")], [old]))
    assert (f.cluster, f.object) == ("", "UserAssignedIdentity/id-api")
    assert "the cluster was rebuilt or removed" in f.message
    assert "az identity federated-credential delete -g rg-identities --identity-name id-api -n old --yes" in f.remediation


def test_a_near_miss_of_a_fleet_issuer_is_named() -> None:
    near = fic("id-api", issuer("aks-1").rstrip("/"), "system:serviceaccount:apps:api", name="near")
    [f] = findings("FIC_STALE_ISSUER", *_clusters("aks-1"), azure_=azure([managed_identity("id-api")], [near]))
    assert "only in case or trailing slash" in f.message


def test_credentials_of_fleet_clusters_and_foreign_ones_are_not_stale() -> None:
    live = fic("id-api", issuer("aks-1"), "system:serviceaccount:apps:api")
    legacy_host = fic("id-api", "https://oidc.prod-aks.azure.com/abc/", "repo:not-a-service-account")
    creds = [live, legacy_host, *_foreign(2)]
    assert findings("FIC_STALE_ISSUER", *_clusters("aks-1"), azure_=azure([managed_identity("id-api")], creds)) == []


def test_staleness_is_not_judged_while_a_cluster_issuer_is_unknown() -> None:
    old = fic("id-api", issuer("gone"), "system:serviceaccount:apps:api")
    unknown = cluster("aks-2", facts_=None)
    assert findings("FIC_STALE_ISSUER", *_clusters("aks-1"), unknown,
                    azure_=azure([managed_identity("id-api")], [old])) == []


# --- FIC_ALREADY_PRESENT


def test_a_credential_the_use_needs_already_exists() -> None:
    present = fic("id-api", issuer("aks-1"), "system:serviceaccount:apps:api", name="aks-1-apps-api")
    [f] = findings("FIC_ALREADY_PRESENT", *_clusters("aks-1"), azure_=azure([managed_identity("id-api")], [present]))
    assert (f.cluster, f.namespace, f.object) == ("aks-1", "apps", "ServiceAccount/api")
    assert "aks-1-apps-api" in f.message and f.remediation == "Nothing to create: the plan reuses it."


def test_no_or_a_different_credential_is_not_present() -> None:
    other = fic("id-api", issuer("aks-1"), "system:serviceaccount:apps:other")
    assert findings("FIC_ALREADY_PRESENT", *_clusters("aks-1"), azure_=azure([managed_identity("id-api")], [other])) == []
    assert findings("FIC_ALREADY_PRESENT", *_clusters("aks-1"), azure_=azure([managed_identity("id-api")])) == []
