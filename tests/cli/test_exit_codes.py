"""Exit codes (issue 20): one enum, every help text and the README table generated from it, Ctrl-C exits 130."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import main
from migrator.errors import ExitCode, exit_codes_markdown
from tests.cli.commands import all_commands
from tests.conftest import REPO

_commands = all_commands


def test_the_enum_holds_every_code_the_tool_returns() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]


@pytest.mark.parametrize(("command", "codes"), [
    ("catalog", {0, 1, 2, 3, 4, 130}), ("plan", {0, 1, 2, 3, 4, 130}), ("explain", {0, 2, 4, 130}),
    ("render", {0, 2, 3, 4, 130}), ("snapshot", {0, 2, 3, 4, 130}), ("discover", {0, 2, 3, 4, 130}),
    ("cutover", {0, 1, 2, 3, 4, 130}), ("cutover status", {0, 2, 3, 4, 130}),
    ("rollback", {0, 1, 2, 3, 4, 130}), ("unbind", {0, 1, 2, 3, 4, 130}), ("finalize", {0, 1, 2, 3, 4, 130}),
])
def test_each_help_lists_only_the_codes_its_command_returns(command: str, codes: set[int]) -> None:
    result = CliRunner().invoke(main, [*command.split(), "--help"], terminal_width=200)
    assert result.exit_code == 0
    block = result.output.split("Exit codes:\n", 1)[1].split("\n\n", 1)[0]
    listed = {int(line.split()[0]) for line in block.splitlines()}
    assert listed == codes


def test_every_command_has_an_exit_code_block() -> None:
    for name, command in _commands().items():
        assert "Exit codes:" in (command.help or ""), name


def test_the_readme_table_is_generated_from_the_enum() -> None:
    assert exit_codes_markdown() in (REPO / "README.md").read_text(encoding="utf-8")


_FLEET = """\
tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
clusters:
  - name: aks-x
    region: westeurope
    subscriptionId: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg
    context: aks-x
"""


def _kubeconfig(port: int) -> str:
    return (f"apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\n"
            "users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: aks-x\n  context: {cluster: c, user: u}\n"
            "current-context: aks-x\n")


@pytest.mark.parametrize("command", ["catalog", "snapshot"])
def test_ctrl_c_exits_130_with_how_to_resume(tmp_path: Path, command: str) -> None:
    """The command waits, deterministically, on an API server that accepts its connection and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(120)
    (tmp_path / "fleet.yaml").write_text(_FLEET)
    (tmp_path / "kubeconfig").write_text(_kubeconfig(server.getsockname()[1]))
    args = [sys.executable, "-m", "migrator.cli", command, "--fleet", str(tmp_path / "fleet.yaml"),
            "--kubeconfig", str(tmp_path / "kubeconfig"), "--request-timeout", "600"]
    if command == "snapshot":
        args += ["--out", str(tmp_path / "snap")]
    # a test run started in the background hands SIG_IGN down for SIGINT: give the command the default back
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        connection, _ = server.accept()  # the read is under way and waits for an answer
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        connection.close()
    finally:
        proc.kill()
        server.close()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Aborted!" not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interrupted (Ctrl-C): nothing was written; run the command again"
    assert not (tmp_path / "snap").exists()
