"""Tampered plans are refused (exit 2, the JSON path of each problem, nothing written or changed) by render and
by every cutover command, before anything is rendered or any cluster is reached."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrator.commands.plan import plan_for_fleet
from migrator.plan.model import encode
from tests.conftest import EXAMPLES
from tests.security.helpers import migrate, migrate_process

Doc = dict[str, Any]
AUDIENCE = "api://AzureADTokenExchange"


@pytest.fixture(scope="module")
def plan_doc() -> Doc:
    doc: Doc = json.loads(encode(plan_for_fleet(EXAMPLES / "fleet.yaml")[0]))
    return doc


def _first_create(doc: Doc) -> tuple[int, Doc]:
    return next((i, c) for i, c in enumerate(doc["credentials"]) if c["status"] == "create")


def _set(key: str, value: object) -> Callable[[Doc], str]:
    def tamper(doc: Doc) -> str:
        i, cred = _first_create(doc)
        cred[key] = value
        return f"$.credentials[{i}].{key}"
    return tamper


def _duplicate_name(doc: Doc) -> str:
    _, cred = _first_create(doc)
    twin = copy.deepcopy(cred)
    twin["subject"] = f"system:serviceaccount:{cred['namespace']}:other"
    twin["serviceAccount"] = "other"
    doc["credentials"].append(twin)
    return f"$.credentials[{len(doc['credentials']) - 1}].name"


def _duplicate_trust(doc: Doc) -> str:
    _, cred = _first_create(doc)
    twin = copy.deepcopy(cred)
    twin["name"] = cred["name"] + "-twin"
    doc["credentials"].append(twin)
    return f"$.credentials[{len(doc['credentials']) - 1}]: the identity already trusts this issuer and subject"


def _identity(value: str) -> Callable[[Doc], str]:
    def tamper(doc: Doc) -> str:
        i, cred = _first_create(doc)
        cred["identity"]["resourceId"] = value
        return f"$.credentials[{i}].identity.resourceId"
    return tamper


def _cluster_issuer(doc: Doc) -> str:
    doc["clusters"][0]["issuer"] = "http://attacker.example/"
    return "$.clusters[0].issuer"


def _terraform_issuer(doc: Doc) -> str:
    doc["clusters"][0]["terraformIssuer"] = 'file("/etc/passwd")'
    return "$.clusters[0].terraformIssuer"


def _cluster_name(doc: Doc) -> str:
    doc["clusters"][0]["name"] = "../../providers/Microsoft.Authorization"
    return "$.clusters[0].name"


TAMPERED = {
    "extra audience": _set("audiences", [AUDIENCE, "api://attacker"]),
    "no audience": _set("audiences", []),
    "other audience": _set("audiences", ["api://attacker"]),
    "short name": _set("name", "ab"),
    "long name": _set("name", "a" * 121),
    "name characters": _set("name", "fic name;$(id)"),
    "subject of another service account": _set("subject", "system:serviceaccount:kube-system:default"),
    "long subject": _set("subject", "system:serviceaccount:x:" + "a" * 600),
    "attacker issuer": _set("issuer", "https://attacker.example/oidc"),
    "plain http issuer": _set("issuer", "http://attacker.example/"),
    "long issuer": _set("issuer", "https://x.example/" + "a" * 600),
    "cluster not in the plan": _set("cluster", "aks-elsewhere"),
    "duplicate name": _duplicate_name,
    "duplicate issuer and subject": _duplicate_trust,
    "identity id with dot segments": _identity("/subscriptions/x/resourceGroups/rg/providers/"
                                               "Microsoft.ManagedIdentity/userAssignedIdentities/id/../../../../x"),
    "identity id of another type": _identity("/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/"
                                             "virtualMachines/vm"),
    "cluster issuer": _cluster_issuer,
    "terraform issuer expression": _terraform_issuer,
    "cluster name that is a path": _cluster_name,
}


def _write(tmp_path: Path, plan_doc: Doc, name: str) -> tuple[Path, str]:
    doc = copy.deepcopy(plan_doc)
    where = TAMPERED[name](doc)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc, indent=2))
    return path, where


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_render_refuses_a_tampered_plan_naming_the_problem(tmp_path: Path, plan_doc: Doc, name: str) -> None:
    """Each of these was rendered into Terraform as it was (a credential for an attacker's issuer, say)."""
    plan, where = _write(tmp_path, plan_doc, name)
    out = tmp_path / "migration"
    migrate("render", "--plan", plan, "--out", out).refused("plan.json: the plan is refused:", where)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json"], "nothing may be written"


CUTOVER_COMMANDS = {
    "cutover": ["cutover", "--cluster", "aks-prod-weu", "-n", "shared", "--dry-run", "--yes"],
    "status": ["cutover", "status"],
    "rollback": ["rollback", "--cluster", "aks-prod-weu", "-n", "shared", "--dry-run", "--yes"],
    "unbind": ["unbind", "--cluster", "aks-prod-weu", "--dry-run", "--yes"],
    "finalize": ["finalize", "--cluster", "aks-prod-weu", "--dry-run", "--yes"],
}


@pytest.mark.parametrize("command", sorted(CUTOVER_COMMANDS))
@pytest.mark.parametrize("name", ["attacker issuer", "extra audience", "subject of another service account"])
def test_the_cutover_commands_refuse_a_tampered_plan_before_reaching_a_cluster(
        tmp_path: Path, plan_doc: Doc, command: str, name: str) -> None:
    plan, where = _write(tmp_path, plan_doc, name)
    args = CUTOVER_COMMANDS[command]
    position = 2 if args[0] == "cutover" and args[1] == "status" else 1
    run = migrate(*args[:position], "--plan", plan, *args[position:], "--kubeconfig", tmp_path / "no-kubeconfig")
    run.refused("the plan is refused:", where)  # exit 2: no cluster was reached (that would be 3)


def test_every_problem_is_listed_with_its_path(tmp_path: Path, plan_doc: Doc) -> None:
    doc = copy.deepcopy(plan_doc)
    wheres = [TAMPERED[name](doc) for name in ("extra audience", "attacker issuer", "cluster issuer")]
    (tmp_path / "plan.json").write_text(json.dumps(doc))
    run = migrate("render", "--plan", tmp_path / "plan.json", "--out", tmp_path / "out")
    run.refused("problem(s); nothing was rendered or changed", *wheres)
    assert all(line.startswith(("error:", "  ")) for line in run.stderr.splitlines())


def test_a_plan_nested_too_deep_is_refused_naming_the_path(tmp_path: Path, plan_doc: Doc) -> None:
    """100,000 nested arrays in a plan raised RecursionError (exit 4)."""
    text = json.dumps(plan_doc).replace('"notes": []', '"notes": ' + "[" * 100_000 + "]" * 100_000)
    (tmp_path / "plan.json").write_text(text)
    migrate("render", "--plan", tmp_path / "plan.json", "--out", tmp_path / "out").refused(
        "plan.json: the plan file is refused: nested deeper than 256 levels at $.notes")


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_plan_that_is_not_a_regular_file_is_refused_not_read(tmp_path: Path, kind: str) -> None:
    plan = tmp_path / "plan.json"
    if kind == "fifo":
        os.mkfifo(plan)
    else:
        plan.symlink_to(kind)
    migrate_process("render", "--plan", plan, "--out", tmp_path / "out", timeout=20).refused(
        "cannot read the plan file: not a regular file")
    migrate_process("cutover", "status", "--plan", plan, timeout=20).refused(
        "cannot read the plan file: not a regular file")


def test_the_example_plans_are_valid() -> None:
    from migrator.plan.validate import problems

    for kw in ({}, {"strategy": "per-workload", "acknowledge": True}, {"sa_conflicts": "client-id-env"}):
        assert problems(plan_for_fleet(EXAMPLES / "fleet.yaml", **kw)[0]) == []  # type: ignore[arg-type]
