"""Drift between peers; the Secrets Store CSI driver and KEDA."""

from __future__ import annotations

from tests.findings.builders import (
    binding,
    bound,
    cluster,
    findings,
    identity,
    spc,
    trigger_auth,
    workload,
)


def _peer(name: str, *, extra: bool = False, uami: str | None = None, shared_uami: str | None = None):
    ident, b, w = bound(uami=uami or f"id-api-{name}")
    idents, binds, wls = [ident], [b], [w]
    if shared_uami:
        idents.append(identity("common-id", uami=shared_uami))
        binds.append(binding("common-b", "common-id", "common"))
        wls.append(workload("common", selector="common", sa="common"))
    if extra:
        idents.append(identity("hotfix-id", uami="id-hotfix"))
        binds.append(binding("hotfix", "hotfix-id", "sync"))
        wls.append(workload("sync", selector="sync", sa="sync"))
    return cluster(name, group="prod", identities=idents, bindings=binds, workloads=wls)


# --- DRIFT_BETWEEN_PEERS


def test_a_binding_only_one_peer_has_is_reported_on_the_peer_that_lacks_it() -> None:
    [f] = findings("DRIFT_BETWEEN_PEERS", _peer("weu", extra=True), _peer("eus"))
    assert (f.cluster, f.namespace, f.object) == ("eus", "apps", "ServiceAccount/sync")
    assert "Peers weu of group prod bind apps/sync to AzureIdentity hotfix-id" in f.message
    assert "AzureIdentityBinding apps/hotfix from weu" in f.remediation


def test_one_identity_per_region_is_not_drift() -> None:
    assert findings("DRIFT_BETWEEN_PEERS", _peer("weu"), _peer("eus")) == []


def test_a_different_identity_where_peers_share_identities_is_drift() -> None:
    a = _peer("a", uami="id-api", shared_uami="id-common")
    b = _peer("b", uami="id-api", shared_uami="id-common")
    c = _peer("c", uami="id-api-rogue", shared_uami="id-common")
    [f] = findings("DRIFT_BETWEEN_PEERS", a, b, c)
    assert f.cluster == "c" and "id-api-rogue here but at id-api on a, b" in f.message


def test_clusters_of_different_groups_are_not_compared() -> None:
    weu = _peer("weu", extra=True)
    other = cluster("eus", group="other", identities=[], bindings=[], workloads=[])
    assert findings("DRIFT_BETWEEN_PEERS", weu, other) == []


# --- SECRETS_STORE_USES_POD_IDENTITY


def test_a_secret_provider_class_on_pod_identity_fires_with_the_client_id_of_its_namespace() -> None:
    ident, b, w = bound()
    [f] = findings("SECRETS_STORE_USES_POD_IDENTITY",
                   cluster(identities=[ident], bindings=[b], workloads=[w], secret_provider_classes=[spc()]))
    assert f.object == "SecretProviderClass/kv"
    assert '"usePodIdentity":"false"' in f.remediation and ident.client_id in f.remediation


def test_a_secret_provider_class_in_workload_identity_mode_does_not_fire() -> None:
    assert findings("SECRETS_STORE_USES_POD_IDENTITY", cluster(secret_provider_classes=[spc(pod_identity=False)])) == []


# --- KEDA_USES_POD_IDENTITY


def test_a_trigger_authentication_on_pod_identity_fires() -> None:
    got = findings("KEDA_USES_POD_IDENTITY", cluster(trigger_authentications=[
        trigger_auth(), trigger_auth("global", kind="ClusterTriggerAuthentication", provider="Azure")]))
    got = sorted(got, key=lambda f: f.object)
    assert [(f.namespace, f.object) for f in got] == [("", "ClusterTriggerAuthentication/global"),
                                                     ("apps", "TriggerAuthentication/sb-auth")]
    assert '"provider":"azure-workload"' in got[1].remediation and "-n apps" in got[1].remediation


def test_azure_workload_does_not_fire() -> None:
    assert findings("KEDA_USES_POD_IDENTITY",
                    cluster(trigger_authentications=[trigger_auth(provider="azure-workload")])) == []
