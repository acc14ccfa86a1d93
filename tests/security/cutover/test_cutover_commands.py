"""Every command line the cutover commands print for a person to copy (to apply, to continue, rollback, finalize's
steps) is shell-quoted as the runbooks are (each value one word, as ``--flag=value``), and no value can split the
line it is on."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from migrator.cutover.engine.context import Interrupts
from tests.cutover.conftest import AT_SOURCE, SHARED_NS, WEU, Served

HOSTILE_DIR = "plans $(touch pwned) `id` 'q' \"dq\" ;|&"


def _hostile_plan(served: Served, newline: bool = False) -> Path:
    folder = served.tmp / (HOSTILE_DIR + ("\nerror: forged line" if newline else ""))
    folder.mkdir()
    path = folder / "plan.json"
    shutil.copy(served.plan_path, path)
    served.plan_path = path
    return path


def _command_after(text: str, label: str) -> list[str]:
    (line,) = [line for line in text.splitlines() if label in line]
    return shlex.split(line.split(label, 1)[1])


def test_to_apply_is_one_shell_command_whatever_the_plan_path_holds(ready: Served, tmp_path: Path) -> None:
    """The path was pasted unquoted: `$(touch pwned)` ran when the line was copied into a shell."""
    plan = _hostile_plan(ready)
    result = ready.cutover(changed_at_source=AT_SOURCE, dry_run=True)
    assert result.code == 0, result.message
    words = _command_after(result.output, "to apply: ")
    assert words == ["migrate", "cutover", f"--plan={plan}", f"--cluster={WEU}", f"--namespace={SHARED_NS}",
                     *(f"--changed-at-source={ref}" for ref in AT_SOURCE)]


def test_to_continue_after_ctrl_c_is_one_shell_command(ready: Served) -> None:
    plan = _hostile_plan(ready)
    interrupts = Interrupts()
    stopped = ready.cutover(changed_at_source=AT_SOURCE, interrupts=interrupts,
                            hooks={"step_done": lambda *a: interrupts.request()})
    assert stopped.code == 130
    words = _command_after(stopped.message, "to continue, run the same command again: ")
    assert words[:3] == ["migrate", "cutover", f"--plan={plan}"]


def test_a_newline_in_a_value_never_splits_the_error(ready: Served) -> None:
    _hostile_plan(ready, newline=True)
    interrupts = Interrupts()
    stopped = ready.cutover(changed_at_source=AT_SOURCE, interrupts=interrupts,
                            hooks={"step_done": lambda *a: interrupts.request()})
    lines = stopped.message.splitlines()
    assert not [line for line in lines if line.startswith("error: forged")]
    assert sum("to continue" in line for line in lines) == 1
    assert "\\nerror: forged line" in stopped.message


@pytest.mark.parametrize(("args", "expected"), [
    (("rollback", "p lan.json", "aks", "ns"), "migrate rollback --plan='p lan.json' --cluster=aks --namespace=ns"),
    (("unbind", "plan.json", "aks"), "migrate unbind --plan=plan.json --cluster=aks"),
    (("cutover", "$(x).json", "aks", "ns", ("--changed-at-source", "Deployment/a b")),
     "migrate cutover --plan='$(x).json' --cluster=aks --namespace=ns --changed-at-source='Deployment/a b'"),
])
def test_migrate_command_quotes_every_value(args: tuple, expected: str) -> None:
    from migrator.cutover.engine.context import migrate_command

    assert migrate_command(*args) == expected
