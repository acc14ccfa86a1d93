"""The Entra token endpoint: federation proven end to end with the real clients.

A service-account token is requested from the local Kubernetes server with the ``kubernetes``
client (TokenRequest), written where the webhook would project it, and exchanged by
``azure.identity.WorkloadIdentityCredential`` at the local authority host; the access token then
authenticates an Azure SDK call to the local ARM.
"""

from __future__ import annotations

import logging
import os

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import WorkloadIdentityCredential
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import FederatedIdentityCredential
from kubernetes import client

from testkit.credentials import StaticCredential
from testkit.synth import RG, SUB, identity

SA = ("wi-demo", "workload-identity-sa")
SUBJECT = "system:serviceaccount:wi-demo:workload-identity-sa"


@pytest.fixture(autouse=True)
def _quiet_identity_logs():  # type: ignore[no-untyped-def]
    logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
    yield


@pytest.fixture
def env(arm, kube, snapshot_root, tmp_path):  # type: ignore[no-untyped-def]
    kube.add_cluster("aks-demo", os.path.join(snapshot_root, "aks-demo"))
    arm.load_snapshot(snapshot_root)
    return arm, kube["aks-demo"], tmp_path


def _sa_token(kube, audiences=("api://AzureADTokenExchange",), seconds=3600) -> str:  # type: ignore[no-untyped-def]
    v1 = client.CoreV1Api(kube.api_client("aks-demo"))
    tr = v1.create_namespaced_service_account_token(SA[1], SA[0], client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=list(audiences), expiration_seconds=seconds)))
    return tr.status.token


def _credential(arm, tmp_path, token: str, client_id: str | None = None) -> WorkloadIdentityCredential:  # type: ignore[no-untyped-def]
    path = tmp_path / "azure-identity-token"
    path.write_text(token)
    return WorkloadIdentityCredential(tenant_id=arm.tenant_id,
                                      client_id=client_id or identity("demo-aad1")["properties"]["clientId"],
                                      token_file_path=str(path), authority=arm.authority_host,
                                      disable_instance_discovery=True, connection_verify=arm.ca_path)


def _federate(arm, cluster, subject: str = SUBJECT) -> None:  # type: ignore[no-untyped-def]
    msi = ManagedServiceIdentityClient(StaticCredential(), SUB, **arm.client_kwargs())
    msi.federated_identity_credentials.create_or_update(
        RG, "demo-aad1", "aks-demo-wi-demo",
        FederatedIdentityCredential(issuer=cluster.issuer, subject=subject, audiences=["api://AzureADTokenExchange"]))


def test_federation_works_end_to_end(env, kube):
    arm, cluster, tmp = env
    _federate(arm, cluster)
    cred = _credential(arm, tmp, _sa_token(kube))
    at = cred.get_token("https://management.azure.com/.default")
    assert at.token.count(".") == 2
    claims = arm.issued[-1]
    assert claims["xms_mirid"] == identity("demo-aad1")["id"]
    assert claims["xms_fic"] == {"iss": cluster.issuer, "sub": SUBJECT}
    assert claims["aud"] == "https://management.azure.com"
    # the exchanged token is accepted by the local ARM
    msi = ManagedServiceIdentityClient(cred, SUB, **arm.client_kwargs())
    assert msi.user_assigned_identities.get(RG, "demo-aad1").name == "demo-aad1"
    assert arm.requests[-1].user == identity("demo-aad1")["properties"]["principalId"]
    token_calls = [r for r in arm.requests if r.service == "aad" and r.operation == "token"]
    assert [r.status for r in token_calls] == [200]


def test_no_matching_federated_credential_is_aadsts70021(env, kube):
    arm, cluster, tmp = env
    _federate(arm, cluster, subject="system:serviceaccount:wi-demo:someone-else")
    with pytest.raises(ClientAuthenticationError) as ei:
        _credential(arm, tmp, _sa_token(kube)).get_token("https://management.azure.com/.default")
    assert "AADSTS70021: No matching federated identity record found for presented assertion" in str(ei.value)
    assert f"Assertion Subject: '{SUBJECT}'" in str(ei.value)


def test_propagation_delay_on_the_injected_clock(env, kube, clock):
    arm, cluster, tmp = env
    arm.fic_propagation_seconds = 60
    _federate(arm, cluster)
    token = _sa_token(kube)
    with pytest.raises(ClientAuthenticationError) as ei:
        _credential(arm, tmp, token).get_token("https://management.azure.com/.default")
    assert "AADSTS70021" in str(ei.value)
    clock.advance(60)
    assert _credential(arm, tmp, token).get_token("https://management.azure.com/.default").token


def test_expired_wrong_audience_and_unknown_client(env, kube, clock):
    arm, cluster, tmp = env
    _federate(arm, cluster)
    token = _sa_token(kube, seconds=3600)
    clock.advance(3601)
    with pytest.raises(ClientAuthenticationError) as ei:
        _credential(arm, tmp, token).get_token("https://management.azure.com/.default")
    assert "AADSTS700024" in str(ei.value)
    with pytest.raises(ClientAuthenticationError) as ei:
        _credential(arm, tmp, _sa_token(kube, audiences=["https://kubernetes.default.svc"])).get_token(
            "https://management.azure.com/.default")
    assert "AADSTS700212" in str(ei.value)
    with pytest.raises(ClientAuthenticationError) as ei:
        _credential(arm, tmp, _sa_token(kube), client_id="00000000-1111-2222-3333-444444444444").get_token(
            "https://management.azure.com/.default")
    assert "AADSTS700016" in str(ei.value)


def test_forged_token_fails_signature_check(env, kube):
    arm, cluster, tmp = env
    _federate(arm, cluster)
    from testkit.tokens import SigningKey, decode_unverified

    _h, claims = decode_unverified(_sa_token(kube))
    forged = SigningKey().sign(claims)
    with pytest.raises(ClientAuthenticationError) as ei:
        _credential(arm, tmp, forged).get_token("https://management.azure.com/.default")
    assert "AADSTS700027" in str(ei.value)


def test_pod_env_injected_by_the_webhook_drives_the_credential(env, kube):
    """The whole cutover chain: annotate the SA, label the template, the rollout's new pod gets the
    webhook's env (pointing at the local authority), and that env + a projected token federate."""
    arm, cluster, tmp = env
    _federate(arm, cluster, subject="system:serviceaccount:demo:app-sa")
    api = kube.api_client("aks-demo")
    v1, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    v1.patch_namespaced_service_account("app-sa", "demo", {"metadata": {"annotations": {
        "azure.workload.identity/client-id": identity("demo-aad1")["properties"]["clientId"]}}})
    apps.patch_namespaced_deployment("demo", "demo", {"spec": {"template": {"metadata": {"labels": {
        "azure.workload.identity/use": "true"}}}}})
    pod = next(p for p in v1.list_namespaced_pod("demo", label_selector="app=demo").items
               if p.spec.containers[0].env)
    penv = {e.name: e.value for e in pod.spec.containers[0].env}
    assert penv["AZURE_AUTHORITY_HOST"] == arm.authority_host
    vol = next(v for v in pod.spec.volumes if v.name.startswith("azure-workload-identity-reserved-"))
    proj = vol.projected.sources[0].service_account_token
    tr = v1.create_namespaced_service_account_token("app-sa", "demo", client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[proj.audience], expiration_seconds=proj.expiration_seconds)))
    token_file = tmp / "projected-token"
    token_file.write_text(tr.status.token)
    cred = WorkloadIdentityCredential(tenant_id=penv["AZURE_TENANT_ID"], client_id=penv["AZURE_CLIENT_ID"],
                                      token_file_path=str(token_file), authority=penv["AZURE_AUTHORITY_HOST"],
                                      disable_instance_discovery=True, connection_verify=arm.ca_path)
    assert cred.get_token("https://management.azure.com/.default").token
    assert arm.issued[-1]["xms_fic"]["sub"] == "system:serviceaccount:demo:app-sa"
