"""How AAD Pod Identity runs on a cluster: NMI and MIC found by image, their mode and version.

Names differ across install methods (``nmi``, ``aad-pod-identity-nmi``, a release's own name), the
image does not: ``…/aad-pod-identity/nmi:<tag>`` for every method. Mode and namespacing come from
NMI's arguments and environment, never from MIC's absence alone (no MIC is normal in managed mode).

Whether the AKS add-on is enabled comes from the managed cluster; when it was not read (a live read
without ARM), from the cluster itself: AKS labels what the add-on runs and creates
``kubernetes.azure.com/managedby: aks`` (NMI, the AzureIdentity and AzureIdentityBinding objects).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from migrator.inventory.crds import AKS_MANAGED_LABEL
from migrator.inventory.model import (
    ClusterInventory,
    Container,
    ObjectRef,
    Workload,
    label,
)

_VERSION = re.compile(r":v?(\d+)\.(\d+)(?:\.(\d+))?")


class Mode(str, Enum):
    STANDARD = "standard"
    MANAGED = "managed"


@dataclass(frozen=True, slots=True)
class Component:
    """A running (or scaled-down) NMI DaemonSet or MIC Deployment."""

    role: str  # nmi | mic
    ref: ObjectRef
    image: str
    version: tuple[int, int, int] | None
    args: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...]
    desired: int | None
    ready: int | None
    install: str  # add-on | helm | manifest

    @property
    def running(self) -> bool:
        return (self.ready or 0) > 0

    @property
    def version_text(self) -> str | None:
        return "v" + ".".join(map(str, self.version)) if self.version else None


@dataclass(frozen=True, slots=True)
class PodIdentityInstall:
    nmi: tuple[Component, ...]
    mic: tuple[Component, ...]
    addon_enabled: bool
    mode: Mode | None  # None when no NMI is installed
    force_namespaced: bool

    @property
    def namespaced(self) -> bool:
        """Bindings match only pods of their own namespace."""
        return self.force_namespaced or self.mode is Mode.MANAGED

    @property
    def nmi_running(self) -> bool:
        return any(c.running for c in self.nmi)

    @property
    def mic_running(self) -> bool:
        return any(c.running for c in self.mic)

    @property
    def version(self) -> tuple[int, int, int] | None:
        """The lowest NMI/MIC version found (what decides which spellings are honoured)."""
        versions = [c.version for c in (*self.nmi, *self.mic) if c.version]
        return min(versions) if versions else None

    @property
    def honours_legacy_schema(self) -> bool | None:
        """True below v1.6, False from v1.6, None when no controller says.

        The add-on runs managed mode, which exists only from v1.6: it never honours the old keys.
        """
        v = self.version
        if v is None:
            return False if self.addon_enabled else None
        return v < (1, 6, 0)

    @property
    def methods(self) -> tuple[str, ...]:
        found = {c.install for c in (*self.nmi, *self.mic)}
        if self.addon_enabled:
            found.add("add-on")
        return tuple(sorted(found))


def image_version(image: str) -> tuple[int, int, int] | None:
    m = _VERSION.search(image.rsplit("/", 1)[-1])
    if not m:
        return None
    return int(m[1]), int(m[2]), int(m[3] or 0)


def _role(container: Container) -> str | None:
    image = container.image.split("@", 1)[0]
    for role in ("nmi", "mic"):
        if re.search(rf"aad-pod-identity/{role}(:|$)", image):
            return role
    return None


def _aks_managed(workload: Workload) -> bool:
    return (label(workload.labels, AKS_MANAGED_LABEL) or "").lower() == "aks"


def addon_enabled(cluster: ClusterInventory) -> bool:
    """The pod-identity add-on is on: the managed cluster says so, or (not read) AKS's label says so."""
    if cluster.facts is not None:
        return cluster.facts.addon.enabled
    if any(i.managed_by == "add-on" for i in cluster.identities or ()) or \
            any(b.managed_by == "add-on" for b in cluster.bindings or ()):
        return True
    return any(_aks_managed(w) and any(_role(c) for c in w.template.containers)
               for w in cluster.workloads or () if not w.inferred)


def _install(workload: Workload, addon_enabled: bool) -> str:
    if addon_enabled and _aks_managed(workload):
        return "add-on"
    managed_by = (label(workload.labels, "app.kubernetes.io/managed-by") or "").lower()
    if managed_by == "helm" or label(workload.labels, "helm.sh/chart"):
        return "helm"
    if addon_enabled and workload.ref.namespace == "kube-system" and workload.ref.name in ("nmi", "mic"):
        return "add-on"
    return "manifest"


def _flag(args: tuple[str, ...], name: str) -> str | None:
    """The value of ``--name=value`` / ``--name value`` / ``-name``; "true" for a bare flag."""
    for index, arg in enumerate(args):
        stripped = arg.lstrip("-")
        if stripped == name:
            nxt = args[index + 1] if index + 1 < len(args) else None
            return nxt if nxt is not None and not nxt.startswith("-") else "true"
        if stripped.startswith(name + "="):
            return stripped.split("=", 1)[1]
    return None


def operation_mode(nmi: Component) -> Mode:
    """One NMI's mode, from its arguments (and an ``OPERATION_MODE``-style env var passed through)."""
    value = _flag(nmi.args, "operation-mode")
    if value is None:
        # args written as "--operation-mode=$(OPERATION_MODE)" resolve from the environment
        for key, env_value in nmi.env:
            if key.upper().replace("-", "_") == "OPERATION_MODE" and env_value:
                value = env_value
    value = (value or "standard").strip().strip('"').lower()
    if re.fullmatch(r"\$\(.*\)", value):
        value = "standard"
    return Mode.MANAGED if value == "managed" else Mode.STANDARD


def detect(cluster: ClusterInventory) -> PodIdentityInstall:
    addon = addon_enabled(cluster)
    found: dict[str, list[Component]] = {"nmi": [], "mic": []}
    for workload in cluster.workloads or ():
        if workload.inferred or workload.ref.kind not in ("DaemonSet", "Deployment"):
            continue
        for container in workload.template.containers:
            role = _role(container)
            if role:
                found[role].append(Component(
                    role=role, ref=workload.ref, image=container.image, version=image_version(container.image),
                    args=container.args, env=container.env, desired=workload.desired, ready=workload.ready,
                    install=_install(workload, addon),
                ))
                break
    mode: Mode | None = None
    force = False
    # the NMI that serves the nodes decides: a crash-looping second NMI (say, the add-on's next to a
    # chart's) does not change how identities are matched; with none running, every NMI counts
    serving = [c for c in found["nmi"] if c.running] or found["nmi"]
    for nmi in serving:
        mode = Mode.MANAGED if operation_mode(nmi) is Mode.MANAGED or mode is Mode.MANAGED else Mode.STANDARD
        flag = (_flag(nmi.args, "forceNamespaced") or "false").lower() == "true"
        env = any(k == "FORCENAMESPACED" and (v or "").lower() == "true" for k, v in nmi.env)
        force = force or flag or env
    for mic in found["mic"]:
        flag = (_flag(mic.args, "forceNamespaced") or "false").lower() == "true"
        env = any(k == "FORCENAMESPACED" and (v or "").lower() == "true" for k, v in mic.env)
        force = force or flag or env
    if mode is None and addon:
        mode = Mode.MANAGED  # the add-on installs NMI in managed mode
    return PodIdentityInstall(tuple(found["nmi"]), tuple(found["mic"]), addon, mode, force)
