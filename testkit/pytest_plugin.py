"""pytest plugin of the test kit: the fixtures ``clock``, ``kube``, ``arm`` and ``snapshot_root``.

Registered once for the whole repository by the root ``conftest.py``::

    pytest_plugins = ["testkit.pytest_plugin"]

so test modules use the fixtures by name, without importing them.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from migrator.clock import ManualClock

from .arm_server import ArmServer
from .kube_server import KubeServer
from .synth import write_snapshot


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def kube(clock: ManualClock) -> Iterator[KubeServer]:
    with KubeServer(clock) as server:
        yield server


@pytest.fixture
def arm(clock: ManualClock, kube: KubeServer) -> Iterator[ArmServer]:
    with ArmServer(clock, pki=kube.pki, kube=kube) as server:
        yield server


@pytest.fixture
def snapshot_root(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A snapshot root with one cluster ``aks-demo`` (kubectl-List shape, pods as a raw PodList)."""
    root = str(tmp_path / "snap")
    write_snapshot(root, "aks-demo", raw_plurals=("pods",))
    return root
