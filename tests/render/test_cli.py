"""``migrate render`` through the real entry point: results, exit codes, and bad input (exit 2, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import main
from migrator.plan.model import encode
from tests.render import plans
from tests.render.conftest import FLEET


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["render", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def plan_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from migrator.commands.plan import plan_for_fleet

    path = tmp_path_factory.mktemp("plan") / "plan.json"
    path.write_text(encode(plan_for_fleet(FLEET)[0]))
    return path


def test_render_a_plan_file(plan_file: Path, tmp_path: Path) -> None:
    code, out, err = _run("--plan", str(plan_file), "--out", str(tmp_path / "migration"))
    assert code == 0, err
    assert out.startswith("rendered ") and "written" in out
    assert "only with --fleet" in err
    assert (tmp_path / "migration" / "terraform" / "versions.tf").is_file()
    assert not (tmp_path / "migration" / "kubernetes" / "aks-staging-weu" / "_pod-identity-exceptions").exists()


def test_render_a_fleet_plans_first_and_adds_the_interim_exceptions(tmp_path: Path) -> None:
    code, out, err = _run("--fleet", str(FLEET), "--out", str(tmp_path / "migration"))
    assert code == 0, err
    exceptions = tmp_path / "migration" / "kubernetes" / "aks-staging-weu" / "_pod-identity-exceptions"
    assert (exceptions / "kustomization.yaml").is_file()
    runbook = (tmp_path / "migration" / "runbooks" / "aks-prod-weu" / "README.md").read_text()
    assert "az aks pod-identity exception add" in runbook  # the add-on owns its exceptions


def _bad(tmp_path: Path, *args: str, needle: str) -> None:
    out = tmp_path / "out"
    code, stdout, err = _run(*args, "--out", str(out))
    assert code == 2, (code, stdout, err)
    assert needle in err, err
    assert "Traceback" not in err
    assert not out.exists(), "nothing may be written on bad input"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")], "no staging folder may be left"


def test_missing_plan_file(tmp_path: Path) -> None:
    _bad(tmp_path, "--plan", str(tmp_path / "nope.json"), needle="does not exist")


def test_plan_file_that_is_not_json(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text("{not json")
    _bad(tmp_path, "--plan", str(tmp_path / "plan.json"), needle="not JSON")


def test_plan_file_of_another_schema(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(json.dumps({"schemaVersion": 99}))
    _bad(tmp_path, "--plan", str(tmp_path / "plan.json"), needle="schemaVersion 1")


def test_plan_file_with_missing_fields(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text(json.dumps({"schemaVersion": 1, "strategy": "reuse"}))
    _bad(tmp_path, "--plan", str(tmp_path / "plan.json"), needle="malformed")


def test_plan_with_a_terraform_issuer_that_is_an_expression(tmp_path: Path) -> None:
    import msgspec

    plan = plans.hostile_plan()
    plan = msgspec.structs.replace(plan, clusters=tuple(
        msgspec.structs.replace(c, terraform_issuer="file(\"/etc/passwd\")") for c in plan.clusters))
    (tmp_path / "plan.json").write_text(encode(plan))
    _bad(tmp_path, "--plan", str(tmp_path / "plan.json"), needle="terraformIssuer")


def test_out_that_is_a_file(plan_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("keep")
    code, _, err = _run("--plan", str(plan_file), "--out", str(target))
    assert code == 2 and "Traceback" not in err
    assert target.read_text() == "keep"


@pytest.mark.parametrize("args", [[], ["--plan", "a.json", "--fleet", "f.yaml"]])
def test_exactly_one_of_plan_and_fleet(args: list[str], tmp_path: Path) -> None:
    code, _, err = _run(*args, "--out", str(tmp_path / "out"))
    assert code == 2 and "exactly one of --plan and --fleet" in err
    assert not (tmp_path / "out").exists()
