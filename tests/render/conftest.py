"""Rendered trees shared by the render tests: the example fleet (as ``migrate render --fleet`` sees it),
the same fleet planned per-workload, and the hostile plan. Rendered once per test process."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.commands.plan import plan_for_fleet
from migrator.commands.render import inputs_for_fleet
from migrator.plan.model import Plan
from migrator.render import render_plan
from tests.conftest import EXAMPLES
from tests.render.plans import HOSTILE_EXCEPTIONS, hostile_plan, roundtrip

FLEET = EXAMPLES / "fleet.yaml"
SNAPSHOTS = EXAMPLES / "snapshots"

Files = dict[str, bytes]


@pytest.fixture(scope="session")
def example() -> tuple[Plan, Files]:
    plan, needs, _ = inputs_for_fleet(FLEET)
    return plan, render_plan(plan, needs)


@pytest.fixture(scope="session")
def per_workload() -> tuple[Plan, Files]:
    plan, _ = plan_for_fleet(FLEET, strategy="per-workload", acknowledge=True)
    return plan, render_plan(plan)


@pytest.fixture(scope="session")
def hostile() -> tuple[Plan, Files]:
    plan = roundtrip(hostile_plan())
    return plan, render_plan(plan, HOSTILE_EXCEPTIONS)


@pytest.fixture(scope="session", params=["example", "per_workload", "hostile"])
def rendered(request: pytest.FixtureRequest) -> tuple[str, Plan, Files]:
    plan, files = request.getfixturevalue(request.param)
    return request.param, plan, files


def text_files(files: Files, suffix: str) -> dict[str, str]:
    return {path: data.decode("utf-8") for path, data in files.items() if path.endswith(suffix)}


def write(files: Files, root: Path) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root
