"""Snapshot source: API documents exported to files (see docs/snapshots.md for the layout)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from migrator.decode import arm_documents as arm
from migrator.decode.documents import AzureDocuments, ClusterDocuments
from migrator.decode.kube_pages import decode_page
from migrator.errors import Location, SnapshotError, SourceError
from migrator.inputs import InputLimitError, json_too_deep, read_regular
from migrator.kinds import KINDS


def _read(path: Path) -> bytes | None:
    """The file's bytes, or None when it was not captured.

    A file that cannot be read (permissions, not a regular file: a FIFO would never end) fails its
    cluster (``SourceError``: the rest of the fleet is reported); a file nested deeper than the decoders
    accept is bad input (``SnapshotError``), like malformed JSON.
    """
    try:
        data = read_regular(path)
    except FileNotFoundError:
        return None
    except InputLimitError as exc:
        raise SourceError(f"{path}: {exc}", hint="a snapshot file is a regular JSON file (docs/snapshots.md)") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    problem = json_too_deep(data)
    if problem is not None:
        raise SnapshotError(f"refused: {problem}", location=Location(path),
                            hint="no Kubernetes or Azure document nests that deep; export the file again")
    return data


class SnapshotClusterSource:
    """One cluster's snapshot folder: ``managedcluster.json``, ``vmss.json``, ``kube/<plural>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self) -> ClusterDocuments:
        if not self.folder.is_dir():
            raise SourceError(f"snapshot folder not found: {self.folder}")
        kube: dict[str, tuple[Any, ...] | None] = {}
        for plural in KINDS:
            path = self.folder / "kube" / f"{plural}.json"
            data = _read(path)
            # a snapshot file is one page: the whole list as kubectl printed it
            kube[plural] = None if data is None else decode_page(plural, data, origin=str(path)).items
        mc_path = self.folder / "managedcluster.json"
        mc_data = _read(mc_path)
        vmss_path = self.folder / "vmss.json"
        vmss_data = _read(vmss_path)
        return ClusterDocuments(
            kube=kube,
            managed_cluster=None if mc_data is None else arm.decode_managed_cluster(mc_data, str(mc_path)),
            scale_sets=None if vmss_data is None else arm.decode_arm_list(
                vmss_data, str(vmss_path), arm.ScaleSet, "virtual machine scale sets"),
        )


class SnapshotAzureSource:
    """The fleet's Azure snapshot folder: identities, federated credentials, role assignments."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def read(self) -> AzureDocuments:
        ids_path = self.folder / "identities.json"
        ids = _read(ids_path)
        if ids is None:
            raise SourceError(
                f"{ids_path} not captured: identities are unknown",
                hint="export them with: az identity list -o json > identities.json",
            )
        fic_path = self.folder / "federatedIdentityCredentials.json"
        fics = _read(fic_path)
        roles_path = self.folder / "roleAssignments.json"
        roles = _read(roles_path)
        return AzureDocuments(
            identities=arm.decode_arm_list(ids, str(ids_path), arm.Identity, "user-assigned identities"),
            credentials=None if fics is None else arm.decode_arm_list(
                fics, str(fic_path), arm.FederatedIdentityCredential, "federated identity credentials"),
            role_assignments=None if roles is None else arm.decode_arm_list(
                roles, str(roles_path), arm.RoleAssignment, "role assignments"),
        )
