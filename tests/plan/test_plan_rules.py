"""The planner's rules on small fleets, and `migrate plan` on the example fleet."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

from migrator.plan.build import PlanOptions, build_plan
from migrator.plan.model import decode, encode
from tests.conftest import EXAMPLES, REPO
from tests.plan.fleets import FleetSpec, Work, build_catalog, issuer, rid


def _one(works, **kw) -> FleetSpec:
    return FleetSpec((("aks-00", "g"),), tuple(("aks-00", w) for w in works), **kw)


def test_credential_fields_and_canonical_identity_id() -> None:
    plan = build_plan(build_catalog(_one([Work("pay", "api", "api-sa", "id-a")])))
    (c,) = plan.credentials
    assert c.status == "create"
    assert c.name == "aks-00-pay-api-sa"
    assert c.issuer == issuer("aks-00")
    assert c.subject == "system:serviceaccount:pay:api-sa"
    assert c.audiences == ("api://AzureADTokenExchange",)
    assert c.identity.resource_id == rid("id-a")
    assert "/resourceGroups/" in c.identity.resource_id and "Microsoft.ManagedIdentity/userAssignedIdentities" in \
        c.identity.resource_id
    assert c.why.workloads == ("aks-00/pay/Deployment/api",)
    (sa,) = plan.service_accounts
    assert sa.client_id == "client-id-a" and not sa.create


def test_existing_credential_with_same_issuer_and_subject_keeps_its_azure_name() -> None:
    spec = _one([Work("pay", "api", "api-sa", "id-a")],
                existing=(("id-a", issuer("aks-00"), "system:serviceaccount:pay:api-sa"),))
    (c,) = build_plan(build_catalog(spec)).credentials
    assert c.status == "present" and c.existing_name == c.name and c.name.startswith("existing-")


def test_same_name_with_other_content_is_a_conflict() -> None:
    cat = build_catalog(_one([Work("pay", "api", "api-sa", "id-a")]))
    from migrator.inventory.model import FederatedCredential

    azure = cat.inventory.azure
    clash = FederatedCredential(rid("id-a"), "aks-00-pay-api-sa", "https://token.actions.githubusercontent.com",
                                "repo:x/y:ref:main", ("api://AzureADTokenExchange",))
    from migrator.inventory.catalog import catalog

    cat2 = catalog(replace(cat.inventory, azure=replace(azure, credentials=(clash,))))
    (c,) = build_plan(cat2).credentials
    assert c.status == "blocked" and "already exists" in c.reason


def test_pending_prerequisite_has_no_issuer_and_names_the_prerequisite() -> None:
    plan = build_plan(build_catalog(_one([Work("pay", "api", "api-sa", "id-a")], issuerless=frozenset({"aks-00"}))))
    (c,) = plan.credentials
    assert c.status == "pending-prerequisite" and c.issuer is None
    assert [p.kind for p in plan.prerequisites] == ["enable-oidc-issuer"]
    assert "--enable-oidc-issuer" in plan.prerequisites[0].command
    assert "cannot be undone" in plan.prerequisites[0].risk


def test_shared_service_account_split_gives_the_minority_its_own_account() -> None:
    works = [Work("shared", "a1", "runner", "id-a"), Work("shared", "a2", "runner", "id-a"),
             Work("shared", "b1", "runner", "id-b")]
    plan = build_plan(build_catalog(_one(works)))
    sas = {(s.name, s.create, s.client_id) for s in plan.service_accounts}
    assert sas == {("runner", False, "client-id-a"), ("b1", True, "client-id-b")}
    patch = next(p for p in plan.workloads if p.name == "b1")
    assert (patch.service_account, patch.previous_service_account) == ("b1", "runner")
    assert any(r.code == "SERVICEACCOUNT_SHARED_ACROSS_IDENTITIES" for r in plan.risks)


def test_shared_service_account_client_id_env_federates_the_account_to_each_identity() -> None:
    works = [Work("shared", "a1", "runner", "id-a"), Work("shared", "a2", "runner", "id-a"),
             Work("shared", "b1", "runner", "id-b")]
    plan = build_plan(build_catalog(_one(works)), PlanOptions(service_account_conflicts="client-id-env"))
    assert {(c.service_account, c.identity.name) for c in plan.credentials} == {("runner", "id-a"), ("runner", "id-b")}
    (sa,) = plan.service_accounts
    assert sa.client_id == "client-id-a"
    assert {p.name: p.client_id_env for p in plan.workloads} == {"a1": None, "a2": None, "b1": "client-id-b"}


def test_plan_file_round_trips() -> None:
    plan = build_plan(build_catalog(_one([Work("pay", "api", "api-sa", "id-a")])))
    assert decode(encode(plan).encode(), "plan.json") == plan


def _migrate(*args: str, cwd=REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_plan_check_on_the_example_exits_1_and_names_each_blocked_item(tmp_path) -> None:
    out = tmp_path / "plan.json"
    result = _migrate("plan", "--fleet", str(EXAMPLES / "fleet.yaml"), "--out", str(out), "--check")
    assert result.returncode == 1, result.stderr
    plan = json.loads(out.read_text())
    assert plan["blocked"]
    for b in plan["blocked"]:
        assert f"BLOCKED {'/'.join(x for x in (b['cluster'], b['namespace'], b['object']) if x)}" in result.stdout
    again = tmp_path / "again.json"
    _migrate("plan", "--fleet", str(EXAMPLES / "fleet.yaml"), "--out", str(again))
    assert again.read_bytes() == out.read_bytes()


def test_per_workload_needs_the_acknowledgement(tmp_path) -> None:
    out = tmp_path / "plan.json"
    result = _migrate("plan", "--fleet", str(EXAMPLES / "fleet.yaml"), "--strategy", "per-workload", "--out", str(out))
    assert result.returncode == 2 and "--acknowledge-data-plane-grants" in result.stderr
    assert not out.exists()
    ok = _migrate("plan", "--fleet", str(EXAMPLES / "fleet.yaml"), "--strategy", "per-workload",
                  "--acknowledge-data-plane-grants", "--out", str(out))
    assert ok.returncode == 0, ok.stderr
    plan = json.loads(out.read_text())
    assert plan["newIdentities"] and all(n["roleAssignments"] is not None for n in plan["newIdentities"])
    assert any("Key Vault" in n for n in plan["notes"])
