"""Discovery fixtures: the example fleet's clusters served by the local ARM server (Resource Graph too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from migrator.clock import ManualClock
from migrator.commands.discover import DiscoverSettings, run_discover
from migrator.errors import ExitCode
from migrator.fleet.discovery import Scope
from testkit.arm_server import ArmServer
from tests.conftest import EXAMPLES

SUB1 = "00000000-0000-0000-0000-000000000001"
SUB2 = "00000000-0000-0000-0000-000000000002"
EXAMPLE_SUBS = (SUB1, SUB2)


@dataclass
class Discover:
    arm: ArmServer
    clock: ManualClock
    tmp: Path

    def settings(self, **kw: Any) -> DiscoverSettings:
        base: dict[str, Any] = dict(arm_endpoint=self.arm.url, ca_bundle=self.arm.ca_path,
                                    credential=self.arm.credential(), clock=self.clock)
        base.update(kw)
        return DiscoverSettings(**base)

    def run(self, out: Path | None = None, *, subscriptions: tuple[str, ...] = EXAMPLE_SUBS,
            management_group: str | None = None, tenant: bool = False, settings: dict[str, Any] | None = None,
            **kw: Any) -> tuple[ExitCode, Path]:
        out = out or self.tmp / "fleet.yaml"
        scope = Scope(subscriptions=() if (management_group or tenant) else subscriptions,
                      management_group=management_group, tenant=tenant)
        code = run_discover(out, scope=scope, settings=self.settings(**(settings or {})), **kw)
        return code, out

    def graph_requests(self) -> list[Any]:
        return [r for r in self.arm.requests if r.operation == "resourcegraph"]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Discover]:
    clock = ManualClock()
    with ArmServer(clock) as arm:
        arm.load_fleet(str(EXAMPLES / "fleet.yaml"))
        yield Discover(arm, clock, tmp_path)
