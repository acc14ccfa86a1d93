"""Live-source fixtures: the example fleet served by the local Kubernetes and ARM servers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from migrator.clock import ManualClock
from migrator.sources.access import LiveSettings
from testkit import KubeServer
from testkit.arm_server import ArmServer
from testkit.credentials import STATIC_TOKEN
from tests.conftest import EXAMPLES


@dataclass
class Served:
    kube: KubeServer
    arm: ArmServer
    clock: ManualClock
    tmp: Path

    def settings(self, **kw: object) -> LiveSettings:
        base = dict(credential=self.arm.credential(), arm_endpoint=self.arm.url, ca_bundle=self.arm.ca_path,
                    clock=self.clock, kubeconfig=self.tmp / "kubeconfig")
        base.update(kw)
        return LiveSettings(**base)  # type: ignore[arg-type]

    def live_fleet(self, *, contexts: tuple[str, ...] = (), name: str = "fleet.yaml") -> Path:
        """The example fleet with every cluster read through ARM (or a kubeconfig context) and Azure live."""
        text = (EXAMPLES / "fleet.yaml").read_text()
        text = re.sub(r"    snapshot: snapshots/(aks-[a-z-]+)\n",
                      lambda m: f"    context: {m[1]}\n" if m[1] in contexts else "", text)
        text = text.replace("snapshot: snapshots/azure", "live: true")
        path = self.tmp / name
        path.write_text(text)
        return path

    def mutations(self) -> list[str]:
        kube = [f"{r.method} {r.path}" for r in self.kube.requests if r.method != "GET"]
        arm = [f"{r.method} {r.path}" for r in self.arm.requests
               if r.method != "GET" and not r.path.lower().endswith("/listclusterusercredential")]
        return kube + arm


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    clock = ManualClock()
    with KubeServer(clock) as kube, ArmServer(clock) as arm:
        kube.add_fleet(str(EXAMPLES / "fleet.yaml"), token=STATIC_TOKEN)
        arm.load_fleet(str(EXAMPLES / "fleet.yaml"))
        arm.attach_kube(kube)
        kube.write_kubeconfig(tmp_path / "kubeconfig")
        yield Served(kube, arm, clock, tmp_path)
