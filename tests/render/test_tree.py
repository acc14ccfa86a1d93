"""Deterministic, atomic output: byte-identical re-renders, a manifest of owned files, user files untouched."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest

from migrator.errors import OutputError
from migrator.render import render_plan
from migrator.render.tree import MANIFEST, read_manifest, write_tree
from migrator.commands.plan import plan_for_fleet
from migrator.commands.render import inputs_for_fleet
from tests.render.conftest import FLEET, Files
from tests.render.plans import HOSTILE_EXCEPTIONS, hostile_plan, roundtrip


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _pipeline(name: str) -> Files:
    """Everything from the inputs: the fleet read, catalogued and planned again, then rendered."""
    if name == "example":
        plan, needs, _ = inputs_for_fleet(FLEET)
        return render_plan(plan, needs)
    if name == "per_workload":
        return render_plan(plan_for_fleet(FLEET, strategy="per-workload", acknowledge=True)[0])
    return render_plan(roundtrip(hostile_plan()), HOSTILE_EXCEPTIONS)


@pytest.mark.parametrize("name", ["example", "per_workload", "hostile"])
def test_rendering_twice_gives_byte_identical_trees(name: str, request: pytest.FixtureRequest,
                                                     tmp_path: Path) -> None:
    _, files = request.getfixturevalue(name)
    again = _pipeline(name)
    assert again == files
    write_tree(files, tmp_path / "a")
    write_tree(again, tmp_path / "b")
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_no_timestamps_and_sorted_manifest(example, tmp_path: Path) -> None:
    _, files = example
    write_tree(files, tmp_path)
    lines = [line for line in (tmp_path / MANIFEST).read_text().splitlines() if not line.startswith("#")]
    assert lines == sorted(files)
    assert not any(b"2026-" in data or b"2025-" in data for path, data in files.items() if "runbooks" in path)


def test_a_rerender_keeps_user_files_and_removes_owned_files_no_longer_produced(example, tmp_path: Path) -> None:
    plan, files = example
    out = tmp_path / "migration"
    write_tree(files, out)
    (out / "kubernetes" / "aks-prod-eus" / "shared" / "my-notes.md").write_text("mine\n")
    (out / "OWNERS").write_text("team-a\n")
    smaller = msgspec.structs.replace(plan, workloads=tuple(w for w in plan.workloads if w.namespace != "keda"),
                                      service_accounts=tuple(s for s in plan.service_accounts if s.namespace != "keda"),
                                      credentials=tuple(c for c in plan.credentials if c.namespace != "keda"),
                                      risks=tuple(r for r in plan.risks if r.namespace != "keda"))
    result = write_tree(render_plan(smaller), out)
    assert (out / "kubernetes" / "aks-prod-eus" / "shared" / "my-notes.md").read_text() == "mine\n"
    assert (out / "OWNERS").read_text() == "team-a\n"
    assert not (out / "kubernetes" / "aks-prod-eus" / "keda").exists(), "owned files and emptied folders go"
    assert not (out / "runbooks" / "aks-prod-eus" / "keda.md").exists()
    assert "kubernetes/aks-prod-eus/keda/kustomization.yaml" in result.removed
    assert read_manifest(out) == set(render_plan(smaller))
    assert "OWNERS" not in read_manifest(out)


def test_unchanged_files_are_not_rewritten(example, tmp_path: Path) -> None:
    _, files = example
    write_tree(files, tmp_path)
    target = tmp_path / "terraform" / "versions.tf"
    os.utime(target, (1, 1))
    result = write_tree(files, tmp_path)
    assert result.written == () and len(result.unchanged) == len(files)
    assert target.stat().st_mtime == 1


def test_a_user_file_where_a_rendered_file_goes_stops_everything(example, tmp_path: Path) -> None:
    _, files = example
    (tmp_path / "terraform").mkdir()
    (tmp_path / "terraform" / "versions.tf").write_text("# mine\n")
    with pytest.raises(OutputError, match="was not written by migrate render"):
        write_tree(files, tmp_path)
    assert tree(tmp_path) == {"terraform/versions.tf": b"# mine\n"}, "nothing may be written"
    assert not list(tmp_path.parent.glob(f".{tmp_path.name}.*.tmp"))


def test_out_that_is_a_file_is_refused(example, tmp_path: Path) -> None:
    _, files = example
    (tmp_path / "out").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        write_tree(files, tmp_path / "out")
    assert (tmp_path / "out").read_text() == "x"


def test_a_manifest_cannot_point_outside_the_folder(example, tmp_path: Path) -> None:
    _, files = example
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "precious").write_text("keep")
    (out / MANIFEST).write_text("../precious\n/etc/passwd\nkubernetes/../../precious\n")
    with pytest.raises(OutputError, match="3 path.s. that are absolute or leave the folder"):
        write_tree(files, out)
    assert (tmp_path / "precious").read_text() == "keep"
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST], "nothing may be written"


def test_paths_stay_inside_the_output_folder(hostile) -> None:
    _, files = hostile
    for rel in files:
        parts = Path(rel).parts
        assert ".." not in parts and not Path(rel).is_absolute(), rel
        assert all(p and not p.startswith(".") and "\n" not in p and "$" not in p and "`" not in p
                   for p in parts), rel


def test_staging_folder_is_removed(example, tmp_path: Path) -> None:
    _, files = example
    write_tree(files, tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]



def test_text_is_tidy(rendered) -> None:
    _, _, files = rendered
    for path, data in files.items():
        text = data.decode("utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), path
        assert "\r" not in text and "\t" not in text.replace('"\\t"', ""), path
        lines = text.split("\n")
        assert not [n for n, line in enumerate(lines, 1) if line != line.rstrip()], f"{path}: trailing whitespace"
        assert "\n\n\n" not in text, f"{path}: a run of blank lines"


def test_a_rerender_moves_new_folders_in_and_replaces_only_what_changed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree({"top.md": b"t", "a/x.yaml": b"1", "a/b/y.yaml": b"2"}, out)
    (out / "a" / "mine.md").write_text("mine\n")
    os.utime(out / "a" / "x.yaml", (1, 1))
    files = {"top.md": b"t", "a/x.yaml": b"1", "a/b/y.yaml": b"3", "a/c/z.yaml": b"4", "d/e/f.yaml": b"5"}
    result = write_tree(files, out)
    assert tree(out) == {**files, "a/mine.md": b"mine\n", MANIFEST: (out / MANIFEST).read_bytes()}
    assert result.written == ("a/b/y.yaml", "a/c/z.yaml", "d/e/f.yaml")
    assert result.unchanged == ("a/x.yaml", "top.md") and result.removed == ()
    assert (out / "a" / "x.yaml").stat().st_mtime == 1
    assert read_manifest(out) == set(files)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_symbolic_link_where_a_folder_goes_stops_everything(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "kubernetes").symlink_to(elsewhere)
    with pytest.raises(OutputError, match="kubernetes is not a folder"):
        write_tree({"kubernetes/a/kustomization.yaml": b"x", "README.md": b"r"}, out)
    assert list(elsewhere.iterdir()) == [] and sorted(p.name for p in out.iterdir()) == ["kubernetes"]


def test_unsafe_paths_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    for rel in ("", "/etc/x", "a//b", "a/./b", "a/../b", "..", "a/", "a\\b", MANIFEST):
        with pytest.raises(ValueError, match="unsafe output path"):
            write_tree({rel: b"x"}, tmp_path / "out")
    assert not (tmp_path / "out").exists()
