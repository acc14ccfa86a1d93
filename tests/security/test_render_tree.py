"""``migrate render`` never creates, replaces or removes anything outside ``--out``: manifest entries through
symbolic links, absolute or ``..`` entries, links that appear mid-run; interrupted renders (Ctrl-C, kill)
are finished or discarded by the next run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from migrator.errors import OutputError
from migrator.render.tree import MANIFEST, read_manifest, write_tree
from tests.conftest import EXAMPLES, REPO
from tests.security.helpers import listing, migrate, migrate_process

FLEET = EXAMPLES / "fleet.yaml"


@pytest.fixture
def rendered(tmp_path: Path) -> Path:
    out = tmp_path / "migration"
    assert migrate("render", "--fleet", FLEET, "--out", out).code == 0
    return out


def _elsewhere(tmp_path: Path) -> Path:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "victim.txt").write_text("precious\n")
    return elsewhere


def test_a_manifest_entry_through_a_symbolic_link_is_refused_and_nothing_outside_is_removed(
        tmp_path: Path, rendered: Path) -> None:
    """``evil -> /elsewhere`` plus a manifest line ``evil/victim.txt`` deleted /elsewhere/victim.txt."""
    elsewhere = _elsewhere(tmp_path)
    (rendered / "evil").symlink_to(elsewhere)
    with (rendered / MANIFEST).open("a") as handle:
        handle.write("evil/victim.txt\n")
    before = listing(tmp_path)
    migrate("render", "--fleet", FLEET, "--out", rendered).refused(
        "evil/victim.txt (listed in the manifest) goes through the symbolic link evil")
    assert listing(tmp_path) == before, "nothing may be written or removed"


def test_a_manifest_entry_that_is_a_symbolic_link_is_refused(tmp_path: Path, rendered: Path) -> None:
    elsewhere = _elsewhere(tmp_path)
    (rendered / "terraform" / "victim.txt").symlink_to(elsewhere / "victim.txt")
    with (rendered / MANIFEST).open("a") as handle:
        handle.write("terraform/victim.txt\n")
    before = listing(tmp_path)
    migrate("render", "--fleet", FLEET, "--out", rendered).refused(
        "terraform/victim.txt (listed in the manifest) is a symbolic link")
    assert listing(tmp_path) == before


@pytest.mark.parametrize("line", ["/etc/passwd", "../elsewhere/victim.txt", "terraform/../../elsewhere/victim.txt",
                                  "./README.md", "a//b", "a\\b", "x\x1by"])
def test_an_absolute_or_escaping_manifest_entry_is_refused_before_anything_is_written(
        tmp_path: Path, rendered: Path, line: str) -> None:
    """Such lines were skipped silently; the manifest is committed with the folder: it is refused (exit 2)."""
    _elsewhere(tmp_path)
    with (rendered / MANIFEST).open("a") as handle:
        handle.write(line + "\n")
    before = listing(tmp_path)
    run = migrate("render", "--fleet", FLEET, "--out", rendered)
    run.refused(MANIFEST, "path(s) that are absolute or leave the folder", "line ")
    assert "\x1b" not in run.stderr
    assert listing(tmp_path) == before


def test_a_manifest_that_is_a_symbolic_link_is_refused(tmp_path: Path, rendered: Path) -> None:
    elsewhere = _elsewhere(tmp_path)
    (elsewhere / "list").write_text("README.md\n")
    (rendered / MANIFEST).unlink()
    (rendered / MANIFEST).symlink_to(elsewhere / "list")
    before = listing(tmp_path)
    migrate("render", "--fleet", FLEET, "--out", rendered).refused("cannot read the manifest: it is a symbolic link")
    assert listing(tmp_path) == before


def test_a_folder_swapped_for_a_link_after_the_checks_is_not_followed(tmp_path: Path, rendered: Path) -> None:
    """Every move and removal opens the folders of --out one by one without following links: a link that
    appears between the checks and the move (a race) receives nothing."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    files = {rel: b"changed\n" for rel in read_manifest(rendered) if rel.startswith("kubernetes/")}

    def swap(event: str, path: str) -> None:
        if event == "staged":
            os.rename(rendered / "kubernetes", tmp_path / "moved-away")
            (rendered / "kubernetes").symlink_to(elsewhere)

    with pytest.raises(OutputError, match="symbolic link or a file appeared"):
        write_tree(files, rendered, events=swap)
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_symbolic_link_as_a_rendered_folder_is_refused(tmp_path: Path, rendered: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for path in (rendered / "runbooks").rglob("*"):
        if path.is_file():
            path.unlink()
    for path in sorted((rendered / "runbooks").rglob("*"), reverse=True):
        path.rmdir()
    (rendered / "runbooks").rmdir()
    (rendered / "runbooks").symlink_to(elsewhere)
    migrate("render", "--fleet", FLEET, "--out", rendered).refused("runbooks is not a folder (a symbolic link)")
    assert list(elsewhere.iterdir()) == []


def test_out_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "out")
    migrate("render", "--fleet", FLEET, "--out", tmp_path / "out").refused("--out is a FIFO (named pipe), not a folder")
    assert (tmp_path / "out").exists() and not (tmp_path / "out").is_dir()


def test_a_read_only_folder_is_exit_2_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    migrate_process("render", "--fleet", FLEET, "--out", folder / "migration", permissions=True).refused(
        "cannot create the output folder: Permission denied")
    assert list(folder.iterdir()) == []


# ------------------------------------------------------------------------------------------ interruptions

FILES = {**{f"new/{i}/file.txt": f"new {i}\n".encode() for i in range(5)},
         **{f"old/{i}.txt": f"changed {i}\n".encode() for i in range(5)}, "top.md": b"top\n"}
OLD = {**{f"old/{i}.txt": f"old {i}\n".encode() for i in range(5)}, "top.md": b"top\n", "gone.txt": b"gone\n"}


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and p.name != MANIFEST}


def _staging(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))


def test_ctrl_c_while_staging_stops_before_the_move(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(OLD, out)
    before = listing(out)
    found = signal.getsignal(signal.SIGINT)  # SIG_IGN when the test run itself was started in the background

    def press(event: str, path: str) -> None:
        if event == "staged":
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        write_tree(FILES, out, events=press)
    assert listing(out) == before and _staging(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is found  # the handler it found is back


def test_ctrl_c_during_the_move_is_held_until_the_tree_is_complete(tmp_path: Path) -> None:
    """Ctrl-C arrived in the middle of the moves and left a half-moved tree."""
    out = tmp_path / "out"
    write_tree(OLD, out)

    def press(event: str, path: str) -> None:
        if event == "moved" and path == "new":
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        write_tree(FILES, out, events=press)
    assert _tree(out) == FILES and read_manifest(out) == set(FILES) and _staging(tmp_path) == []


_KILLED = """\
import os, signal, sys
from pathlib import Path
from migrator.render.tree import write_tree
files = {files!r}
def kill(event, path):
    if (event, path) == {at!r}:
        os.kill(os.getpid(), signal.SIGKILL)
write_tree(files, Path(sys.argv[1]), events=kill)
"""


def _killed(out: Path, at: tuple[str, str]) -> None:
    script = _KILLED.format(files=FILES, at=at)
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(out)], cwd=REPO, capture_output=True)
    assert run.returncode == -signal.SIGKILL, run.stderr


def test_a_render_killed_during_the_move_is_finished_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(OLD, out)
    _killed(out, ("moved", "old/1.txt"))
    half = _tree(out)
    assert half != FILES and half["old/0.txt"] == FILES["old/0.txt"] and half["old/2.txt"] == OLD["old/2.txt"]
    assert len(_staging(tmp_path)) == 1
    result = write_tree({"top.md": b"top\n"}, out)  # the next run, whatever it renders
    assert result.recovered == ("finished",)
    assert _staging(tmp_path) == [] and _tree(out) == {"top.md": b"top\n"}
    assert result.removed == tuple(sorted((set(FILES) | set(OLD)) - {"top.md"}))  # every file the killed run owned


def test_the_next_run_finishes_the_move_exactly(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(OLD, out)
    _killed(out, ("moved", "new"))
    result = write_tree(FILES, out)
    assert result.recovered == ("finished",) and result.written == () and _tree(out) == FILES


def test_a_render_killed_while_staging_is_discarded_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(OLD, out)
    before = listing(out)
    _killed(out, ("staged", ""))
    assert listing(out) == before and len(_staging(tmp_path)) == 1
    result = write_tree(OLD, out)
    assert result.recovered == ("discarded",) and _staging(tmp_path) == [] and listing(out) == before


def test_a_running_render_is_not_taken_for_a_stale_one(tmp_path: Path) -> None:
    from migrator.render.tree import STAGING_MARKER, _new_staging

    out = tmp_path / "out"
    write_tree(OLD, out)
    staging, marker = _new_staging(os.path.realpath(out))
    try:
        with pytest.raises(OutputError, match="another migrate render is writing into this folder"):
            write_tree(FILES, out)
        assert Path(staging, STAGING_MARKER).exists()
    finally:
        os.close(marker)
    assert write_tree(OLD, out).recovered == ("discarded",)


def test_a_staging_lookalike_that_is_not_ours_is_left_alone(tmp_path: Path) -> None:
    """A folder named like a staging folder (committed next to --out, say) is not finished into --out."""
    from migrator.render.tree import STAGING_MARKER

    out = tmp_path / "out"
    write_tree(OLD, out)
    fake = tmp_path / ".out.fake.tmp"
    (fake / "evil").mkdir(parents=True)
    (fake / "evil" / "x.txt").write_text("x")
    (fake / STAGING_MARKER).write_text(json.dumps({"out": os.path.realpath(out)}))
    (fake / ".moving").write_text("")
    fake.chmod(0o755)
    assert write_tree(OLD, out).recovered == ()
    assert not (out / "evil").exists() and fake.exists()
