"""AzureIdentity: unused, not in Azure, service principals, secrets, node-level identities."""

from __future__ import annotations

from migrator.inventory.model import IdentityType
from tests.findings.builders import (
    azure,
    binding,
    bound,
    cluster,
    facts,
    findings,
    identity,
    managed_identity,
    rid,
    workload,
)

# --- IDENTITY_UNUSED


def test_an_identity_no_binding_names_fires() -> None:
    [f] = findings("IDENTITY_UNUSED", cluster(identities=[identity("lonely")]))
    assert f.object == "AzureIdentity/lonely" and "kubectl delete azureidentity lonely -n apps" in f.remediation


def test_a_binding_in_another_namespace_does_not_use_it_but_one_in_its_own_does() -> None:
    ident = identity("x", "apps")
    assert len(findings("IDENTITY_UNUSED", cluster(identities=[ident], bindings=[binding("b", "x", "s", "other")]))) == 1
    assert findings("IDENTITY_UNUSED", cluster(identities=[ident], bindings=[binding("b", "x", "s", "apps")])) == []


# --- IDENTITY_NOT_IN_AZURE


def test_an_identity_missing_from_the_azure_snapshot_fires() -> None:
    ident, b, w = bound()
    [f] = findings("IDENTITY_NOT_IN_AZURE", cluster(identities=[ident], bindings=[b], workloads=[w]),
                   azure_=azure([managed_identity("id-other")]))
    assert f.object == "AzureIdentity/api-id" and "matches no user-assigned identity" in f.message
    assert "az identity show --ids" in f.remediation


def test_an_identity_found_by_resource_id_in_any_case_or_by_client_id_does_not_fire() -> None:
    by_rid = identity("a", resource_id=rid("id-a").replace("resourceGroups", "resourcegroups").upper(), client=None)
    by_client = identity("b", uami="id-b", resource_id=None)
    c = cluster(identities=[by_rid, by_client])
    assert findings("IDENTITY_NOT_IN_AZURE", c, azure_=azure([managed_identity("id-a"), managed_identity("id-b")])) == []


def test_identities_are_not_judged_without_an_azure_snapshot() -> None:
    assert findings("IDENTITY_NOT_IN_AZURE", cluster(identities=[identity("a")]), azure_=None) == []


# --- IDENTITY_SERVICE_PRINCIPAL


def test_a_service_principal_identity_fires_with_the_app_federated_credential_command() -> None:
    sp = identity("sp", type=1, secret=("apps", "sp-secret"))
    c = cluster(identities=[sp], bindings=[binding("b", "sp", "api")], workloads=[workload("api", selector="api", sa="api")])
    [f] = findings("IDENTITY_SERVICE_PRINCIPAL", c)
    assert "type 1, ServicePrincipal" in f.message
    assert "az ad app federated-credential create --id" in f.remediation
    assert "system:serviceaccount:apps:api" in f.remediation and "api://AzureADTokenExchange" in f.remediation


def test_a_managed_identity_is_not_a_service_principal() -> None:
    assert findings("IDENTITY_SERVICE_PRINCIPAL", cluster(identities=[identity("mi")])) == []


# --- IDENTITY_SECRET_IN_SPEC


def test_a_service_principal_with_a_secret_reference_fires_without_printing_a_value() -> None:
    sp = identity("sp", type=2, secret=("vault", "sp-cert"))
    [f] = findings("IDENTITY_SECRET_IN_SPEC", cluster(identities=[sp]))
    assert "Secret vault/sp-cert" in f.message and "kubectl delete secret sp-cert -n vault" in f.remediation
    assert "az ad app credential delete" in f.remediation


def test_a_service_principal_without_a_secret_reference_does_not_fire() -> None:
    assert findings("IDENTITY_SECRET_IN_SPEC", cluster(identities=[identity("sp", type=1)])) == []
    assert IdentityType(1).label == "ServicePrincipal"


# --- IDENTITY_UNSAFE_TO_FEDERATE


def test_the_kubelet_identity_and_node_resource_group_identities_fire() -> None:
    f0 = facts()
    kubelet = identity("kubelet", resource_id=f0.kubelet_identity_resource_id, client=f0.kubelet_identity_client_id)
    addon = identity("omsagent", resource_id=rid("omsagent-aks-1", f0.node_resource_group.lower()), client=None)
    got = findings("IDENTITY_UNSAFE_TO_FEDERATE", cluster(identities=[kubelet, addon]))
    assert [f.object for f in got] == ["AzureIdentity/kubelet", "AzureIdentity/omsagent"]
    assert "kubelet identity" in got[0].message and "node resource group" in got[1].message


def test_an_identity_of_its_own_resource_group_is_safe() -> None:
    assert findings("IDENTITY_UNSAFE_TO_FEDERATE", cluster(identities=[identity("api")])) == []
