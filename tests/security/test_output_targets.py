"""Odd ``--out`` targets: a device, a FIFO or a socket is refused (exit 2) and left as it was, never replaced by
a regular file; ``-`` is standard output; a replaced file keeps its permissions; a folder that cannot be
written is exit 2 with the reason, not a traceback."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.security.helpers import migrate, migrate_process

FLEET = EXAMPLES / "fleet.yaml"


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays


def _device_link(path: Path) -> None:
    path.symlink_to("/dev/null")


def _device(path: Path) -> None:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except PermissionError:
        pytest.skip("creating a device node needs root")


@pytest.mark.parametrize("make", [_device, _device_link, _fifo, _socket], ids=["device", "link", "fifo", "socket"])
@pytest.mark.parametrize("command", [["catalog", "-o", "json"], ["plan"]])
def test_an_out_that_is_not_a_regular_file_is_refused_and_left_alone(
        tmp_path: Path, make: Callable[[Path], None], command: list[str]) -> None:
    """``--out /dev/null`` as root replaced the system's /dev/null with a regular file (and a FIFO, a socket
    or a device node anywhere the same way)."""
    target = tmp_path / "out"
    make(target)
    before = os.lstat(target)
    run = migrate(*command, "--fleet", FLEET, "--out", target)
    run.refused("the output path is", "not a file: it is never replaced", "--out -")
    after = os.lstat(target)
    assert (stat.S_IFMT(after.st_mode), after.st_ino) == (stat.S_IFMT(before.st_mode), before.st_ino)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"], "no temporary file may be left"


def test_discover_refuses_a_device_as_out(tmp_path: Path) -> None:
    target = tmp_path / "fleet.yaml"
    _device_link(target)
    migrate("discover", "--subscription", "00000000-0000-0000-0000-000000000001", "--out", target).refused(
        "the output path is a character device")
    assert target.is_symlink()


def test_dash_is_standard_output(tmp_path: Path) -> None:
    run = migrate("catalog", "--fleet", FLEET, "-o", "json", "--out", "-")
    assert run.code == 1, run.stderr  # the example has error findings
    assert json.loads(run.stdout)["schemaVersion"] == 1
    run = migrate("plan", "--fleet", FLEET, "--out", "-")
    assert run.code == 0, run.stderr
    assert json.loads(run.stdout)["schemaVersion"] == 1
    assert not (Path.cwd() / "-").exists()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o755])
def test_a_replaced_file_keeps_its_permissions(tmp_path: Path, mode: int) -> None:
    """The replacement was a fresh 0600 file: a shared report lost its group's read access."""
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(mode)
    assert migrate("catalog", "--fleet", FLEET, "-o", "json", "--out", target).code == 1
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert json.loads(target.read_text())["schemaVersion"] == 1


def test_a_new_file_gets_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        assert migrate("plan", "--fleet", FLEET, "--out", tmp_path / "plan.json").code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plan.json").stat().st_mode) == 0o640


@pytest.mark.parametrize("command", [["catalog", "-o", "json"], ["plan"]])
def test_a_read_only_output_folder_is_exit_2_with_the_reason(tmp_path: Path, command: list[str]) -> None:
    """A folder that cannot be written raised PermissionError (a traceback, exit 4)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    run = migrate_process(*command, "--fleet", FLEET, "--out", folder / "out.json", permissions=True)
    run.refused("cannot write in the output folder: Permission denied")
    assert list(folder.iterdir()) == []
