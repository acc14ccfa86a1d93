"""Hostile snapshot files: nested too deep (exit 2, the file and the JSON path), not regular files or
unreadable (that cluster fails, exit 3, the rest is reported), never a hang or a traceback."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.security.helpers import fleet_text, migrate, migrate_process

SNAPSHOTS = EXAMPLES / "snapshots"
MAX_JSON_DEPTH = 256  # migrator.inputs: the limit docs/security.md states


def _fleet(root: Path) -> Path:
    """Two clusters, each with its own copy of the example's aks-dev-weu snapshot; Azure copied too."""
    for name in ("aks-a", "aks-b"):
        shutil.copytree(SNAPSHOTS / "aks-dev-weu", root / name)
    shutil.copytree(SNAPSHOTS / "azure", root / "azure")
    text = fleet_text("aks-a", "aks-b", snapshot="SNAP").replace(str(SNAPSHOTS / "azure"), "azure")
    for name in ("aks-a", "aks-b"):
        text = text.replace("snapshot: SNAP", f"snapshot: {name}", 1)
    (root / "fleet.yaml").write_text(text)
    return root / "fleet.yaml"


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(("file", "document", "path"), [
    ("aks-a/kube/deployments.json", '{"kind": "DeploymentList", "items": [{"metadata": {"labels": DEEP}}]}',
     "$.items[0].metadata.labels"),
    ("aks-a/managedcluster.json", '{"properties": {"odd key": DEEP}}', "$.properties['odd key']"),
    ("aks-a/kube/customresourcedefinitions.json", '{"kind": "List", "items": DEEP}', "$.items"),
    ("azure/identities.json", '{"value": DEEP}', "$.value"),
])
def test_a_snapshot_file_nested_too_deep_is_refused_naming_the_file_and_the_path(
        tmp_path: Path, file: str, document: str, path: str) -> None:
    """100,000 nested arrays in any snapshot file overflowed the decoder's stack (RecursionError, exit 4)."""
    fleet = _fleet(tmp_path)
    (tmp_path / file).write_text(document.replace("DEEP", _deep(100_000)))
    run = migrate("catalog", "--fleet", fleet, "-o", "json")
    run.refused(file.rsplit("/", 1)[-1], f"refused: nested deeper than {MAX_JSON_DEPTH} levels at {path}")


def test_nesting_up_to_the_limit_is_read(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    deployments = tmp_path / "aks-a/kube/deployments.json"
    doc = json.loads(deployments.read_text())
    deep: list = []
    node = deep
    for _ in range(MAX_JSON_DEPTH - 5):  # the list, items, the pod, metadata, the key: five levels above
        node.append([])
        node = node[0]
    doc["items"][0]["metadata"]["x-deep"] = deep
    deployments.write_text(json.dumps(doc))
    run = migrate("catalog", "--fleet", fleet, "-o", "json")
    assert run.code in (0, 1), run.stderr


def _read_clusters(stdout: str) -> dict[str, str]:
    return {c["name"]: c["status"] for c in json.loads(stdout)["clusters"]}


def test_a_snapshot_file_that_is_a_folder_fails_only_its_cluster(tmp_path: Path) -> None:
    """An unreadable snapshot file stopped the whole fleet (exit 2); it fails its cluster (exit 3)."""
    fleet = _fleet(tmp_path)
    (tmp_path / "aks-a/kube/deployments.json").unlink()
    (tmp_path / "aks-a/kube/deployments.json").mkdir()
    run = migrate("catalog", "--fleet", fleet, "-o", "json")
    assert run.code == 3, run.stderr
    assert _read_clusters(run.stdout) == {"aks-a": "failed", "aks-b": "ok"}
    assert "deployments.json: cannot read the file: Is a directory" in run.stdout


def test_an_unreadable_snapshot_file_fails_only_its_cluster(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path)
    os.chmod(tmp_path / "aks-a/kube/deployments.json", 0)
    run = migrate_process("catalog", "--fleet", fleet, "-o", "json", permissions=True)
    assert run.code == 3, run.stderr
    assert _read_clusters(run.stdout) == {"aks-a": "failed", "aks-b": "ok"}
    assert "deployments.json: cannot read the file: Permission denied" in run.stdout


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_snapshot_file_that_is_a_fifo_or_a_device_is_refused_not_read(tmp_path: Path, kind: str) -> None:
    """A FIFO blocked the read forever; /dev/zero as deployments.json (a symbolic link) filled the memory."""
    fleet = _fleet(tmp_path)
    target = tmp_path / "aks-a/kube/deployments.json"
    target.unlink()
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(kind)
    run = migrate_process("catalog", "--fleet", fleet, "-o", "json", timeout=30)
    assert run.code == 3, run.stderr
    assert _read_clusters(run.stdout) == {"aks-a": "failed", "aks-b": "ok"}
    assert "not a regular file" in run.stdout
