"""terraform/: formatter-clean, parseable, every block and reference checked against the providers' docs."""

from __future__ import annotations

import difflib
import re

import hcl2
import msgspec
import pytest

from migrator.errors import InputError
from migrator.plan.model import Plan
from migrator.render import render_plan
from migrator.render.terraform import AZUREAD_CONSTRAINT, AZURERM_CONSTRAINT, TERRAFORM_CONSTRAINT
from tests.render import plans
from tests.render.checkers import hcl_format
from tests.render.conftest import Files, text_files
from tests.render.hcl import blocks, reference, strings, unquote
from tests.render.provider_schema import META, PROVIDERS, SCHEMAS

PENDING_MARK = "As they will read:"


def held_back(source: str) -> str:
    """The commented-out blocks of a prerequisites file, uncommented (what a re-render will produce)."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if PENDING_MARK in line) + 2
    return "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines[start:]) + "\n"


def all_hcl(example: tuple[Plan, Files], per_workload: tuple[Plan, Files],
            hostile: tuple[Plan, Files]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, (_, files) in (("example", example), ("per_workload", per_workload), ("hostile", hostile)):
        for path, text in text_files(files, ".tf").items():
            out[f"{name}/{path}"] = text
            if PENDING_MARK in text:
                out[f"{name}/{path}#held-back"] = held_back(text)
    return out


def test_every_tf_is_terraform_fmt_clean(example, per_workload, hostile) -> None:
    sources = all_hcl(example, per_workload, hostile)
    formatted = hcl_format(sources)
    diffs = ["".join(difflib.unified_diff(src.splitlines(True), formatted[path].splitlines(True), path, "formatted"))
             for path, src in sorted(sources.items()) if formatted[path] != src]
    assert not diffs, "\n".join(diffs)


def test_every_tf_parses_with_python_hcl2(example, per_workload, hostile) -> None:
    for path, src in all_hcl(example, per_workload, hostile).items():
        try:
            hcl2.loads(src)
        except Exception as exc:  # noqa: BLE001 - report which file
            pytest.fail(f"{path}: {exc}")


def _module(files: Files, held: bool = False) -> list[dict]:
    """The parsed module; with ``held``, plus the blocks held back until a prerequisite is done."""
    sources = list(text_files(files, ".tf").values())
    return [hcl2.loads(src) for src in sources] + [
        hcl2.loads(held_back(src)) for src in sources if held and PENDING_MARK in src]


def test_every_block_and_reference_is_in_the_providers_docs(rendered) -> None:
    _, plan, files = rendered
    docs = _module(files, held=True)
    declared = {(kind, rtype, label): body for doc in docs for kind, rtype, label, body in blocks(doc)}
    aliases = {unquote(p["alias"]): name.strip('"') for doc in docs for entry in doc.get("provider", [])
               for name, p in entry.items() if "alias" in p}
    for name, entry in ((n.strip('"'), p) for doc in docs for e in doc.get("provider", []) for n, p in e.items()):
        assert name in PROVIDERS, name
        assert {k for k in entry if not k.startswith("__")} <= PROVIDERS[name].optional, (name, entry)
    issuers = {c.terraform_issuer for c in plan.clusters if c.terraform_issuer}
    for (kind, rtype, label), body in declared.items():
        schema = SCHEMAS.get((kind, rtype))
        assert schema is not None, f"{kind} {rtype} is not a documented block"
        args = {k for k in body if not k.startswith("__")}
        assert args - META <= schema.required | schema.optional | schema.one_of, (rtype, label, args)
        assert schema.required <= args, (rtype, label, schema.required - args)
        if schema.one_of:
            assert len(args & schema.one_of) == 1, (rtype, label)
    refs = [(r, where) for (_, rtype, label), body in declared.items()
            for key, value in body.items() if not key.startswith("__") and (r := reference(value))
            for where in [f"{rtype}.{label}.{key}"]]
    refs += [(reference(i["to"]), "import.to") for doc in docs for i in doc.get("import", [])]
    refs += [(reference(i["provider"]), "import.provider") for doc in docs for i in doc.get("import", [])]
    for expr, where in refs:
        assert expr is not None, where
        if expr in issuers:
            continue
        parts = expr.split(".")
        if parts[0] in ("azurerm", "azuread"):
            assert parts[1] in aliases and aliases[parts[1]] == parts[0], (where, expr)
        elif parts[0] == "data":
            assert ("data", parts[1], parts[2]) in declared, (where, expr)
            assert parts[3] in SCHEMAS[("data", parts[1])].exported, (where, expr)
        else:
            assert ("resource", parts[0], parts[1]) in declared, (where, expr)
            if len(parts) > 2:
                assert parts[2] in SCHEMAS[("resource", parts[0])].exported, (where, expr)
    for doc in docs:
        for imp in doc.get("import", []):
            rtype, label = reference(imp["to"]).split(".")
            assert reference(declared[("resource", rtype, label)]["provider"]) == reference(imp["provider"])


def _admits(constraint: str, version: str) -> bool:
    v = tuple(map(int, version.split(".")))
    for part in constraint.split(","):
        op, bound = part.split()
        b = tuple(map(int, bound.split(".")))
        if not {">=": v >= b, "<": v < b}[op]:
            return False
    return True


def test_versions_admit_the_schema_we_render() -> None:
    assert _admits(AZURERM_CONSTRAINT, "4.65.0") and _admits(AZURERM_CONSTRAINT, "5.2.0")
    assert not _admits(AZURERM_CONSTRAINT, "4.64.0"), "user_assigned_identity_id appeared in 4.65.0"
    assert not _admits(AZURERM_CONSTRAINT, "6.0.0")
    assert _admits(AZUREAD_CONSTRAINT, "3.0.0") and not _admits(AZUREAD_CONSTRAINT, "2.53.1")
    assert _admits(TERRAFORM_CONSTRAINT, "1.5.0") and not _admits(TERRAFORM_CONSTRAINT, "1.4.7")


def test_versions_tf_pins_azuread_only_when_used(example, hostile) -> None:
    assert "azuread" not in example[1]["terraform/versions.tf"].decode()  # its app registration waits
    versions = hcl2.loads(hostile[1]["terraform/versions.tf"].decode())
    providers = versions["terraform"][0]["required_providers"][0]
    assert {k for k in providers if not k.startswith("__")} == {"azurerm", "azuread"}
    assert unquote(versions["terraform"][0]["required_version"]) == TERRAFORM_CONSTRAINT


def test_one_block_per_credential_imports_for_present_ones(rendered) -> None:
    _, plan, files = rendered
    declared = [(rtype, body) for doc in _module(files) for kind, rtype, _, body in blocks(doc) if kind == "resource"]
    fics = [body for rtype, body in declared if rtype.endswith("federated_identity_credential")]
    live = [c for c in plan.credentials if c.status in ("create", "present")]
    assert len(fics) == len(live)
    names = sorted(unquote(b.get("name") or b["display_name"]) for b in fics)
    assert names == sorted(c.name for c in live)
    subjects = sorted(unquote(b["subject"]) for b in fics)
    assert subjects == sorted(c.subject for c in live)
    imports = [i for doc in _module(files) for i in doc.get("import", [])]
    present = [c for c in live if c.status == "present" and c.identity.kind != "app-registration"]
    assert sorted(unquote(i["id"]) for i in imports) == sorted(
        f"{c.identity.resource_id}/federatedIdentityCredentials/{c.existing_name}" for c in present)
    for c in plan.credentials:
        if c.status == "blocked":
            tf = "".join(text_files(files, ".tf").values())
            assert f"#   {c.name}".replace("\n", " ") in tf.replace("\n#   ", "\n#   ")


def test_pending_credentials_are_commented_out_never_applied(rendered) -> None:
    _, plan, files = rendered
    pending = [c for c in plan.credentials if c.status == "pending-prerequisite"]
    for path, text in text_files(files, ".tf").items():
        if path.startswith("terraform/prerequisites_"):
            assert all(line.startswith("#") for line in text.splitlines() if line.strip()), path
            assert set(hcl2.loads(text)) <= {"__comments__"}, path
    held = "".join(held_back(t) for t in text_files(files, ".tf").values() if PENDING_MARK in t)
    assert len(re.findall(r"^resource ", held, re.M)) == len(pending)


def test_hostile_values_are_inert_literals(hostile) -> None:
    plan, files = hostile
    for doc in _module(files):
        for _, _, _, body in blocks(doc):
            for key, value in body.items():
                for raw in strings(value):
                    unquote(raw)  # raises on a live ${ or %{
    cluster = next(b for doc in _module(files) for k, t, _, b in blocks(doc)
                   if k == "data" and t == "azurerm_kubernetes_cluster")
    assert unquote(cluster["name"]) == plans.C1
    assert unquote(cluster["resource_group_name"]) == plans.RG
    app = next(b for doc in _module(files) for k, t, _, b in blocks(doc) if t == "azuread_application")
    assert unquote(app["client_id"]) == plans.APP_CLIENT
    fic = [b for doc in _module(files) for k, t, _, b in blocks(doc) if t == "azurerm_federated_identity_credential"]
    assert f"system:serviceaccount:{plans.NS}:{plans.SA}" in {unquote(b["subject"]) for b in fic}


def test_terraform_issuer_is_referenced_not_read(hostile) -> None:
    _, files = hostile
    tf = files["terraform/fic_aks-tf.tf"].decode()
    assert f"issuer                    = {plans.TF_ISSUER}\n" in tf
    assert "azurerm_kubernetes_cluster" not in tf


def test_a_terraform_issuer_that_is_not_a_reference_is_bad_input() -> None:
    plan = plans.hostile_plan()
    bad = msgspec.structs.replace(plan, clusters=tuple(
        msgspec.structs.replace(c, terraform_issuer='"${file("/etc/passwd")}"') if c.name == plans.C3 else c
        for c in plan.clusters))
    with pytest.raises(InputError, match="terraformIssuer"):
        render_plan(bad)
