"""The registry as a public interface, and rules that never crash on odd data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migrator.findings.model import Severity
from migrator.findings.registry import all_rules
from tests.findings.builders import (
    azure,
    catalog_of,
    cluster,
    empty_cluster,
    fleet,
    kind_fields,
    missing_cluster,
)

#: the issue's table: codes are a public interface, their severities part of it
PUBLIC = {
    "POD_IDENTITY_NMI_WITHOUT_MIC": "error", "POD_IDENTITY_CRDS_WITHOUT_CONTROLLER": "warning",
    "POD_IDENTITY_MANAGED_MODE": "info", "POD_IDENTITY_ADDON_AND_HELM": "warning", "CRD_SCHEMA_LEGACY": "warning",
    "FLUX_WITHOUT_EXCEPTION": "error", "EXCEPTION_MATCHES_NOTHING": "info", "BINDING_STALE": "warning",
    "BINDING_DANGLING": "error", "IDENTITY_UNUSED": "info", "IDENTITY_NOT_IN_AZURE": "error",
    "IDENTITY_SERVICE_PRINCIPAL": "warning", "IDENTITY_SECRET_IN_SPEC": "warning",
    "SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES": "warning", "MULTIPLE_IDENTITIES_PER_WORKLOAD": "warning",
    "DEFAULT_SERVICEACCOUNT": "warning", "WORKLOAD_HOST_NETWORK": "warning", "OIDC_ISSUER_DISABLED": "error",
    "WORKLOAD_IDENTITY_DISABLED": "error", "IDENTITY_UNSAFE_TO_FEDERATE": "warning",
    "WORKLOAD_MANAGED_BY_GITOPS": "info", "PROTECTED_NAMESPACE": "error", "FIC_LIMIT_EXCEEDED": "error",
    "FIC_STALE_ISSUER": "warning", "FIC_ALREADY_PRESENT": "info", "DRIFT_BETWEEN_PEERS": "warning",
    "SECRETS_STORE_USES_POD_IDENTITY": "error", "KEDA_USES_POD_IDENTITY": "error",
    "NODE_IDENTITY_EXPOSURE": "warning", "PROXY_SIDECAR_UNSUITABLE": "info", "SOURCE_NOT_CAPTURED": "warning",
}
CODES = sorted(PUBLIC)
HERE = Path(__file__).parent


def test_the_registry_holds_exactly_the_public_codes_with_their_severities() -> None:
    rules = all_rules()
    assert {code: r.severity.value for code, r in rules.items()} == PUBLIC


@pytest.mark.parametrize("code", CODES)
def test_every_rule_has_its_long_form(code: str) -> None:
    r = all_rules()[code]
    assert r.title and r.cause and r.risk and r.remediation
    assert all(ref.startswith("https://") for ref in r.references)
    assert r.family != "registry"


@pytest.mark.parametrize("code", CODES)
def test_every_code_has_a_test_that_fires_it_and_one_that_does_not(code: str) -> None:
    """A guard for the rule-per-code contract: each code appears in at least two rule tests."""
    uses = sum(len(re.findall(rf'findings\("{code}"', p.read_text())) for p in HERE.glob("test_*_rules.py"))
    assert uses >= 2, f"{code} needs a test that fires it and one that does not"


def _fleets() -> dict[str, object]:
    return {
        "every kind empty": catalog_of(empty_cluster(), azure_=azure()),
        "every kind missing": catalog_of(missing_cluster(), azure_=None),
        "both, Azure without credentials": catalog_of(empty_cluster(), missing_cluster(), azure_=azure(credentials=None)),
        "no clusters": catalog_of(azure_=azure()),
    }


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("case", list(_fleets()))
def test_no_rule_crashes_on_an_empty_or_an_uncaptured_cluster(code: str, case: str) -> None:
    got = list(all_rules()[code].check(_fleets()[case]))
    if code != "SOURCE_NOT_CAPTURED":
        # nothing to judge: an empty cluster has no problem, a missing one is not judged
        assert got == [], [f.message for f in got]


def test_a_missing_cluster_is_reported_as_not_captured_kind_by_kind() -> None:
    got = list(all_rules()["SOURCE_NOT_CAPTURED"].check(_fleets()["every kind missing"]))
    assert {f.cluster for f in got} == {"missing", ""}
    assert "ManagedCluster/missing" in {f.object for f in got}
    assert all(f.severity is Severity.WARNING for f in got)


def test_the_builders_cover_every_kind_of_the_inventory() -> None:
    c = missing_cluster()
    assert all(getattr(c, f) is None for f in kind_fields())
    assert fleet(cluster()).clusters[0].not_captured == ()
