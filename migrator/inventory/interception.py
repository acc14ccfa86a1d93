"""Whether NMI intercepts IMDS on a cluster, in which mode, and whether a MIC serves it.

Builds on ``podidentity.detect`` (NMI and MIC found by image). Per component:

* *running*: ready replicas (Deployment) or ready daemon pods (DaemonSet) above zero; when the
  status was not captured, a pod of the component in phase ``Running`` counts. A MIC scaled to 0 is
  installed but not running.
* *mode*: NMI's ``--operation-mode`` argument (``standard`` when absent: the raw manifests never
  pass it); ``managed`` means identities are assigned to the node pools by hand (or by the AKS
  add-on) and no MIC is expected.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.inventory.model import ClusterInventory
from migrator.inventory.podidentity import (
    Component,
    Mode,
    PodIdentityInstall,
    operation_mode,
)


def is_running(component: Component, cluster: ClusterInventory) -> bool:
    """Ready replicas/daemon pods above zero; without a status, a Running pod of the component."""
    if component.ready is not None:
        return component.ready > 0
    if component.desired == 0:
        return False
    return any(p.owner == component.ref and (p.phase or "").lower() == "running" for p in cluster.pods or ())


@dataclass(frozen=True, slots=True)
class Interception:
    """NMI and MIC as they run on one cluster."""

    install: PodIdentityInstall
    nmi_running: tuple[tuple[Component, Mode], ...]
    nmi_stopped: tuple[Component, ...]
    mic_running: tuple[Component, ...]
    mic_stopped: tuple[Component, ...]

    @property
    def intercepting(self) -> bool:
        """NMI redirects pods' IMDS calls on (some of) the nodes."""
        return bool(self.nmi_running)

    @property
    def standard_nmi(self) -> tuple[Component, ...]:
        return tuple(c for c, m in self.nmi_running if m is Mode.STANDARD)

    @property
    def managed_nmi(self) -> tuple[Component, ...]:
        return tuple(c for c, m in self.nmi_running if m is Mode.MANAGED)

    @property
    def any_running(self) -> bool:
        return bool(self.nmi_running or self.mic_running)


def interception(cluster: ClusterInventory, install: PodIdentityInstall) -> Interception:
    nmi_on: list[tuple[Component, Mode]] = []
    nmi_off: list[Component] = []
    mic_on: list[Component] = []
    mic_off: list[Component] = []
    for c in install.nmi:
        (nmi_on.append((c, operation_mode(c))) if is_running(c, cluster) else nmi_off.append(c))
    for c in install.mic:
        (mic_on if is_running(c, cluster) else mic_off).append(c)
    return Interception(install, tuple(nmi_on), tuple(nmi_off), tuple(mic_on), tuple(mic_off))
