"""``migrate snapshot`` writes only inside ``--out``: cluster names cannot climb out, ``--out`` that is a link, a
file or a device is refused (also with ``--force``), a folder that cannot be written is exit 2, and only the
files that were read are archived."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.security.helpers import fleet_text, listing, migrate, migrate_process

SNAPSHOTS = EXAMPLES / "snapshots"


def _sandbox(tmp_path: Path, *names: str) -> Path:
    """A sandbox holding a fleet file of ``names`` (all reading one snapshot copied inside) and a place for --to."""
    shutil.copytree(SNAPSHOTS / "aks-dev-weu", tmp_path / "snap" / "aks-dev-weu")
    shutil.copytree(SNAPSHOTS / "azure", tmp_path / "snap" / "azure")
    text = fleet_text(*names, snapshot=tmp_path / "snap" / "aks-dev-weu").replace(
        str(SNAPSHOTS / "azure"), str(tmp_path / "snap" / "azure"))
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "fleet.yaml").write_text(text)
    return tmp_path / "work" / "fleet.yaml"


@pytest.mark.parametrize("name", ["../../x", "..", "../escaped", "a/../../b"])
def test_a_cluster_name_cannot_write_outside_to(tmp_path: Path, name: str) -> None:
    """A cluster named ../../x made snapshot write <to>/../../x: outside --to (or failed with a traceback)."""
    fleet = _sandbox(tmp_path, "aks-dev-weu")
    fleet.write_text(fleet.read_text().replace("name: aks-dev-weu", f"name: '{name}'"))
    before = listing(tmp_path)
    migrate("snapshot", "--fleet", fleet, "--out", tmp_path / "work" / "a" / "snap").refused(
        "clusters[0].name", "not an AKS cluster name")
    assert listing(tmp_path) == before


def test_a_snapshot_is_written_inside_to(tmp_path: Path) -> None:
    fleet = _sandbox(tmp_path, "aks-a", "aks-b")
    to = tmp_path / "work" / "archive"
    run = migrate("snapshot", "--fleet", fleet, "--out", to)
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in to.iterdir()) == ["aks-a", "aks-b", "azure", "fleet.yaml"]
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["archive", "fleet.yaml"]


def test_to_that_is_a_symbolic_link_is_refused_even_with_force(tmp_path: Path) -> None:
    """``--to link --force``: shutil.rmtree refused the link with OSError (a traceback, exit 4)."""
    fleet = _sandbox(tmp_path, "aks-dev-weu")
    target = tmp_path / "kept"
    target.mkdir()
    (target / "mine.txt").write_text("mine")
    link = tmp_path / "work" / "snap"
    link.symlink_to(target)
    before = listing(tmp_path)
    migrate("snapshot", "--fleet", fleet, "--out", link, "--force").refused("--out is a symbolic link: it is not replaced")
    assert listing(tmp_path) == before


@pytest.mark.parametrize(("kind", "needle"), [("file", "is a file"), ("fifo", "--out is a FIFO (named pipe), not a folder")])
def test_to_that_is_not_a_folder_is_refused_even_with_force(tmp_path: Path, kind: str, needle: str) -> None:
    fleet = _sandbox(tmp_path, "aks-dev-weu")
    to = tmp_path / "work" / "snap"
    if kind == "file":
        to.write_text("mine")
    else:
        os.mkfifo(to)
    before = listing(tmp_path)
    migrate_process("snapshot", "--fleet", fleet, "--out", to, "--force", timeout=60).refused(needle)  # a FIFO hung
    assert listing(tmp_path) == before


def test_a_read_only_folder_is_exit_2_with_the_reason(tmp_path: Path) -> None:
    """mkdtemp beside --to raised PermissionError (a traceback, exit 4)."""
    fleet = _sandbox(tmp_path, "aks-dev-weu")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    migrate_process("snapshot", "--fleet", fleet, "--out", folder / "snap", permissions=True).refused(
        "cannot write beside --out: Permission denied")
    assert list(folder.iterdir()) == []


def test_only_the_files_read_are_archived(tmp_path: Path) -> None:
    """A snapshot folder was copied whole: links (to secrets elsewhere), FIFOs and stray files came along."""
    fleet = _sandbox(tmp_path, "aks-dev-weu")
    snap = tmp_path / "snap" / "aks-dev-weu"
    (tmp_path / "secret").write_text("s3cret")
    (snap / "notes.txt").symlink_to(tmp_path / "secret")
    (snap / "kube" / "extra.json").write_text("{}")
    os.mkfifo(snap / "kube" / "pipe")
    to = tmp_path / "work" / "archive"
    run = migrate_process("snapshot", "--fleet", fleet, "--out", to, timeout=60)
    assert run.code == 0, run.stderr
    archived = {str(p.relative_to(to / "aks-dev-weu")) for p in (to / "aks-dev-weu").rglob("*") if p.is_file()}
    assert archived == {str(p.relative_to(snap)) for p in snap.rglob("*.json") if p.name != "extra.json"}
    assert not any(p.is_symlink() for p in to.rglob("*"))
