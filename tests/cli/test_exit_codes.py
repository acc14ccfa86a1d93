"""Exit codes (issue 20): one enum, every help text and the README table generated from it, Ctrl-C exits 130."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from migrator.cli import main
from migrator.errors import ExitCode, exit_codes_markdown
from tests.conftest import REPO

UNREADABLE_FLEET = """\
tenantId: 72f988bf-86f1-41af-91ab-2d7cd011db47
clusters:
  - name: aks-gone
    region: westeurope
    subscriptionId: 00000000-0000-0000-0000-000000000001
    resourceGroup: rg-a
    context: {context}
"""


def _kubeconfig(path: Path, server: str) -> Path:
    path.write_text(f"""\
apiVersion: v1
kind: Config
clusters: [{{name: hang, cluster: {{server: "{server}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: hang, context: {{cluster: hang, user: u}}}}]
current-context: hang
""")
    return path


def _commands() -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}

    def walk(group: click.Group, prefix: str) -> None:
        for name, command in group.commands.items():
            found[f"{prefix}{name}"] = command
            if isinstance(command, click.Group):
                walk(command, f"{prefix}{name} ")

    walk(main, "")
    return found


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


class _Silent:
    """A TCP server that accepts connections and never answers: a request to it waits until interrupted."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.accepted = threading.Event()
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


@pytest.mark.parametrize("command", ["catalog", "snapshot"])
def test_ctrl_c_exits_130_with_how_to_resume(tmp_path: Path, command: str) -> None:
    server = _Silent()
    try:
        fleet = tmp_path / "fleet.yaml"
        fleet.write_text(UNREADABLE_FLEET.format(context="hang"))
        args = [sys.executable, "-m", "migrator.cli", command, "--fleet", str(fleet),
                "--kubeconfig", str(_kubeconfig(tmp_path / "kubeconfig", server.url)), "--request-timeout", "600"]
        if command == "snapshot":
            args += ["--out", str(tmp_path / "snap")]
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert server.accepted.wait(120), "the command never reached the server"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)
        finally:
            proc.kill()
    finally:
        server.close()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Aborted!" not in err and "Traceback" not in err
    assert err.strip().splitlines()[-1] == "interrupted (Ctrl-C): nothing was written; run the command again"
    assert not (tmp_path / "snap").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".snap")]
