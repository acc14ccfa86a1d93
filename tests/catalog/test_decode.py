"""Decoding from tests/data/upstream: every CRD spelling, both list shapes, both managedCluster shapes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from migrator.decode.arm_documents import decode_managed_cluster
from migrator.decode.documents import ClusterDocuments
from migrator.decode.kube_pages import decode_page
from migrator.fleet import ClusterSpec
from migrator.inventory.build import build_cluster
from migrator.inventory.crds import parse_binding, parse_exception, parse_identity
from migrator.inventory.model import IdentityType, Schema
from migrator.kinds import KINDS
from tests.conftest import FIXTURES

PI = FIXTURES / "aad-pod-identity"


def _kubectl_list(*objects: dict) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}).encode()


def _yaml_objects(path: Path, kind: str) -> list[dict]:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == kind]
    for d in docs:
        d["metadata"].setdefault("namespace", "default")
    return docs


def _lowercase_spec(obj: dict) -> dict:
    """The pre-1.6 json tags: every spec key all lower-case (``resourceid``, ``azureidentity``)."""
    return {**obj, "spec": {k.lower(): v for k, v in obj["spec"].items()}}


def _identity(obj: dict):
    page = decode_page("azureidentities", _kubectl_list(obj), origin="azureidentities.json")
    return parse_identity(page.items[0])


def _binding(obj: dict):
    page = decode_page("azureidentitybindings", _kubectl_list(obj), origin="azureidentitybindings.json")
    return parse_binding(page.items[0])


def test_identity_in_all_three_spellings_reads_the_same() -> None:
    capitalized = _yaml_objects(PI / "v1.5.5/deploy/demo/aadpodidentity.yaml", "AzureIdentity")[0]
    camel = _yaml_objects(PI / "v1.8.17/deploy/demo/aadpodidentity.yaml", "AzureIdentity")[0]
    lower = _lowercase_spec(capitalized)
    assert set(capitalized["spec"]) == {"type", "ResourceID", "ClientID"}
    assert set(camel["spec"]) >= {"resourceID", "clientID"}

    parsed = [_identity(o) for o in (capitalized, lower, camel)]
    assert [p.resource_id for p in parsed] == ["RESOURCE_ID"] * 3
    assert [p.client_id for p in parsed] == ["CLIENT_ID"] * 3
    assert [p.type for p in parsed] == [IdentityType.USER_ASSIGNED_MSI] * 3
    assert [p.schema for p in parsed] == [Schema.LEGACY, Schema.LEGACY, Schema.CAMEL]
    assert parsed[0].legacy_keys == ("ClientID", "ResourceID")
    assert parsed[1].legacy_keys == ("clientid", "resourceid")
    assert parsed[2].legacy_keys == ()


def test_binding_in_all_three_spellings_reads_the_same() -> None:
    capitalized = _yaml_objects(PI / "v1.5.5/deploy/demo/aadpodidentitybinding.yaml", "AzureIdentityBinding")[0]
    camel = _yaml_objects(PI / "v1.8.17/deploy/demo/aadpodidentitybinding.yaml", "AzureIdentityBinding")[0]
    parsed = [_binding(o) for o in (capitalized, _lowercase_spec(capitalized), camel)]
    assert [(b.identity_name, b.selector) for b in parsed] == [("demo-aad1", "demo")] * 3
    assert [b.schema for b in parsed] == [Schema.LEGACY, Schema.LEGACY, Schema.CAMEL]


def test_exception_capitalized_pod_labels() -> None:
    old = _yaml_objects(PI / "v1.5.5/examples/azurepodidentityexception.yaml", "AzurePodIdentityException")[0]
    new = _yaml_objects(PI / "v1.8.17/examples/azurepodidentityexception.yaml", "AzurePodIdentityException")[0]
    parsed_old = parse_exception(decode_page("azurepodidentityexceptions", _kubectl_list(old), origin="x").items[0])
    parsed_new = parse_exception(decode_page("azurepodidentityexceptions", _kubectl_list(new), origin="x").items[0])
    assert dict(parsed_old.pod_labels) == {"foo": "bar", "app": "custom"}
    assert parsed_old.schema is Schema.LEGACY
    assert parsed_new.schema is Schema.CAMEL and parsed_new.pod_labels


def test_service_principal_identity_keeps_only_the_secret_reference() -> None:
    sp = _yaml_objects(PI / "v1.8.17/deploy/demo/aadpodidentity-sp.yaml", "AzureIdentity")[0]
    parsed = _identity(sp)
    assert parsed.type is IdentityType.SERVICE_PRINCIPAL
    assert parsed.secret_ref == ("default", "demo-aad1-sp")
    assert parsed.tenant_id == "TENANT_ID"


@pytest.mark.parametrize(("value", "expected"), [
    (0, IdentityType.USER_ASSIGNED_MSI), ("0", IdentityType.USER_ASSIGNED_MSI), (1, IdentityType.SERVICE_PRINCIPAL),
    ("1", IdentityType.SERVICE_PRINCIPAL), (2, IdentityType.SERVICE_PRINCIPAL_CERTIFICATE), ("7", IdentityType.UNKNOWN),
    ("UserAssignedMSI", IdentityType.USER_ASSIGNED_MSI), (True, IdentityType.UNKNOWN),
])
def test_identity_type_as_integer_or_string(value: object, expected: IdentityType) -> None:
    obj = {"apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
           "metadata": {"name": "x", "namespace": "ns"}, "spec": {"type": value, "resourceID": "r", "clientID": "c"}}
    assert _identity(obj).type is expected


def test_synthetic_mixed_fixture_marks_the_legacy_binding() -> None:
    page = decode_page("azureidentitybindings", (FIXTURES / "kube/synthetic/azureidentitybindinglist.json").read_bytes(),
                       origin="x")
    bindings = {b.name: b for b in map(parse_binding, page.items)}
    assert bindings["demo-azure-id-binding"].schema is Schema.CAMEL
    assert bindings["legacy-binding"].schema is Schema.LEGACY
    assert bindings["legacy-binding"].weight == 1  # every spelling is read
    assert bindings["legacy-binding"].legacy_keys == ("AzureIdentity", "Selector", "Weight")


def test_api_list_and_kubectl_list_decode_alike() -> None:
    api_page = decode_page("pods", (FIXTURES / "kube/synthetic/podlist-page1.json").read_bytes(), origin="x")
    assert api_page.continue_token  # a first page carries its continue token
    raw = json.loads((FIXTURES / "kube/synthetic/podlist-page1.json").read_text())
    kubectl = {"apiVersion": "v1", "kind": "List", "metadata": {},
               "items": [{"apiVersion": "v1", "kind": "Pod", **i} for i in raw["items"]]}
    kubectl_page = decode_page("pods", json.dumps(kubectl).encode(), origin="x")
    assert [p.metadata for p in api_page.items] == [p.metadata for p in kubectl_page.items]
    assert kubectl_page.continue_token is None


def _cli_shape(rest: dict) -> dict:
    """What ``az aks show -o json`` prints for the same cluster: properties flattened, issuerUrl."""
    flat = {k: v for k, v in rest.items() if k != "properties"}
    flat.update(json.loads(json.dumps(rest["properties"])))
    flat["oidcIssuerProfile"] = {"enabled": True, "issuerUrl": rest["properties"]["oidcIssuerProfile"]["issuerURL"]}
    return flat


def _facts(doc: dict):
    mc = decode_managed_cluster(json.dumps(doc).encode(), "managedcluster.json")
    kube = {p: None for p in KINDS}
    spec = ClusterSpec(name="c", region="r", subscription_id="s", resource_group="g", snapshot=Path("x"))
    return build_cluster(spec, ClusterDocuments(kube, mc, None)).facts


def test_both_managed_cluster_shapes_give_the_same_facts() -> None:
    rest = json.loads((FIXTURES / "arm/synthetic/managedCluster-get-podidentity-oidc-wi.json").read_text())
    from_rest, from_cli = _facts(rest), _facts(_cli_shape(rest))
    assert from_rest == from_cli
    assert from_rest.oidc_issuer_url == rest["properties"]["oidcIssuerProfile"]["issuerURL"]
    assert from_rest.oidc_issuer_url.endswith("/")
    assert from_rest.workload_identity_enabled and from_rest.addon.enabled
    assert [i.name for i in from_rest.addon.identities] == ["broken-identity", "demo-pod-identity"]
    assert [b.selector for b in from_rest.addon.bindings] == ["broken-identity", "demo"]  # name is the default
    assert [e.name for e in from_rest.addon.exceptions] == ["flux-extension-exception"]


def test_upstream_managed_cluster_example_without_oidc() -> None:
    example = json.loads((FIXTURES / "arm/containerservice/2026-04-01/ManagedClustersGet.json").read_text())
    facts = _facts(example["responses"]["200"]["body"])
    assert facts.oidc_issuer_enabled is False and facts.oidc_issuer_url is None
    assert facts.addon.enabled is False


def test_missing_kind_is_unknown_and_uninstalled_crd_kind_is_empty() -> None:
    crds = decode_page("customresourcedefinitions", _kubectl_list(
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "azureidentities.aadpodidentity.k8s.io"},
         "spec": {"group": "aadpodidentity.k8s.io", "names": {"plural": "azureidentities", "kind": "AzureIdentity"},
                  "versions": [{"name": "v1"}]}}), origin="x").items
    kube = {p: None for p in KINDS}
    kube["customresourcedefinitions"] = crds
    spec = ClusterSpec(name="c", region="r", subscription_id="s", resource_group="g", snapshot=Path("x"))
    inv = build_cluster(spec, ClusterDocuments(kube, None, None))
    assert inv.identities is None  # CRD installed, file missing: unknown
    assert inv.bindings == ()  # CRD not installed: there can be none
    assert inv.secret_provider_classes == ()
    assert inv.pods is None and "pods" in inv.not_captured
    assert "azureidentitybindings" not in inv.not_captured


def test_objects_aks_labels_are_the_add_ons() -> None:
    obj = {"apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentity",
           "metadata": {"name": "api", "namespace": "apps", "labels": {"kubernetes.azure.com/managedby": "aks"}},
           "spec": {"type": 0, "resourceID": "/subscriptions/s/resourceGroups/r/providers/x/y/id-api", "clientID": "c"}}
    assert _identity(obj).managed_by == "add-on"
    binding = {"apiVersion": "aadpodidentity.k8s.io/v1", "kind": "AzureIdentityBinding",
               "metadata": {"name": "api", "namespace": "apps", "labels": {"kubernetes.azure.com/managedby": "aks"}},
               "spec": {"azureIdentity": "api", "selector": "api"}}
    assert _binding(binding).managed_by == "add-on"
