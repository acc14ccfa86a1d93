"""Running ``migrate`` the way a user does, with what an attack needs: the exit code, both streams, and
whether a traceback escaped; in a child process when the attack would hang or exhaust this one."""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import main
from tests.conftest import EXAMPLES, REPO

#: a child process may use this much memory: an expansion bomb fails instead of swapping
CHILD_MEMORY = 2 * 1024 ** 3

CLUSTER = """\
  - name: {name}
    region: westeurope
    subscriptionId: 00000000-0000-0000-0000-000000000002
    resourceGroup: rg-aks-dev-weu
    group: dev
    snapshot: {snapshot}
"""


def fleet_text(*names: str, snapshot: Path | str | None = None, azure: bool = True) -> str:
    """A fleet file whose clusters all read the example's aks-dev-weu snapshot (absolute paths)."""
    folder = snapshot if snapshot is not None else EXAMPLES / "snapshots" / "aks-dev-weu"
    text = "tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47\nclusters:\n"
    text += "".join(CLUSTER.format(name=n, snapshot=folder) for n in (names or ("aks-dev-weu",)))
    if azure:
        text += f"azure:\n  snapshot: {EXAMPLES / 'snapshots' / 'azure'}\n"
    return text


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def refused(self, *needles: str, code: int = 2) -> Run:
        """Exit ``code``, one clear error naming each of ``needles``, no traceback."""
        assert self.code == code, (self.code, self.stdout[-2000:], self.stderr[-2000:])
        assert "Traceback" not in self.stderr and "internal error" not in self.stderr, self.stderr
        for needle in needles:
            assert needle in self.stderr, f"{needle!r} not in {self.stderr!r}"
        return self


def migrate(*args: str | Path, input: str | None = None) -> Run:
    """``migrate ARGS`` in this process; an exception the CLI lets through counts as exit 4 with its traceback,
    as the entry point (``migrator.cli.run``) would report it."""
    result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    code, stderr = result.exit_code, result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        code = 4
        stderr += "".join(traceback.format_exception(result.exception))
    return Run(code, result.stdout, stderr)


#: Linux capabilities that let root ignore file permissions (linux/capability.h), and prctl's PR_CAPBSET_DROP
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _PR_CAPBSET_DROP = 1, 2, 24


def _limits(permissions: bool) -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    if permissions and os.geteuid() == 0:  # root keeps its user, loses the capabilities that bypass permissions
        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                os._exit(97)


def migrate_process(*args: str | Path, timeout: float = 60, permissions: bool = False, cwd: Path = REPO) -> Run:
    """``migrate ARGS`` in a child process with at most ``CHILD_MEMORY`` of memory, killed after ``timeout``
    seconds (a test of a hang fails instead of hanging); with ``permissions`` file permissions apply even
    when the tests run as root (the child drops the capabilities that bypass them)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run([sys.executable, "-m", "migrator.cli", *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, cwd=cwd, env=env,
                              preexec_fn=lambda: _limits(permissions))
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"migrate {' '.join(map(str, args))} still ran after {timeout} s") from exc
    if done.returncode == 97 and permissions:
        pytest.skip("cannot drop root's permission-bypassing capabilities here")
    return Run(done.returncode, done.stdout, done.stderr)


def listing(root: Path) -> dict[str, object]:
    """Every entry under ``root`` (not following links): files with their bytes, links with their targets."""
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            out[rel] = (f"-> {os.readlink(path)}" if path.is_symlink() else
                        path.read_bytes() if path.is_file() else "dir")
    return out
