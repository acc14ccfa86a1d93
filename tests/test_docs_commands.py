"""Every `migrate …` command shown in README.md, docs/*.md and examples/README.md runs as written (issue 20).

Each fenced command is checked against the click command it names: the subcommand exists, every option
exists (a renamed or removed flag fails here), and a value shown for a choice option is one of its
choices. The catalog, plan, render and explain ones also run for real against the example fleet, in a
temporary folder where ``fleet.yaml`` is the example fleet, ``plan.json`` its plan and
``snapshots-2026-11-25`` its snapshot.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from migrator.cli import main
from migrator.errors import ExitCode
from tests.conftest import EXAMPLES, REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "examples" / "README.md"]
LANGUAGES = ("sh", "console", "text", "")
START = re.compile(r"(?:^|&&\s*)(?:\$\s+)?(?:\.venv/bin/)?migrate\s")


@dataclass(frozen=True)
class Shown:
    page: str
    line: str

    def __str__(self) -> str:
        return f"{self.page}: {self.line}"


def _blocks(text: str) -> list[list[str]]:
    """The lines of each fenced block whose language is sh, console, text or none."""
    blocks, current, language = [], None, ""
    for line in text.splitlines():
        if line.startswith("```"):
            if current is None:
                current, language = [], line[3:].strip()
            else:
                if language in LANGUAGES:
                    blocks.append(current)
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def _shown() -> list[Shown]:
    found = []
    for page in PAGES:
        if page.name == "cli.md":  # generated from --help itself
            continue
        for lines in _blocks(page.read_text(encoding="utf-8")):
            i = 0
            while i < len(lines):
                line = lines[i]
                i += 1
                while i < len(lines) and (line.rstrip().endswith("\\") or (lines[i].lstrip()[:1] in ("[", "-")
                                          and lines[i][:1] == " ")):  # continued, or a synopsis's next line
                    line = line.rstrip().removesuffix("\\") + " " + lines[i].strip()
                    i += 1
                line = line.strip()
                match = START.search(line)
                if match:
                    text = line[match.start():].split("  #")[0].strip().lstrip("&").strip()
                    text = re.sub(r"^\$\s+", "", text)
                    found.append(Shown(str(page.relative_to(REPO)), text.removeprefix(".venv/bin/")))
    return found


SHOWN = _shown()


def _resolve(words: list[str]) -> tuple[click.Command, list[str]]:
    command: click.Command = main
    rest = words[1:]
    while isinstance(command, click.Group) and rest and rest[0] in command.commands:
        command = command.commands[rest[0]]
        rest = rest[1:]
    return command, rest


def test_the_docs_show_commands() -> None:
    assert len(SHOWN) >= 15
    assert {s.page for s in SHOWN} >= {"README.md", "docs/cutover.md", "docs/live.md", "docs/render.md"}


@pytest.mark.parametrize("shown", SHOWN, ids=str)
def test_every_option_shown_exists(shown: Shown) -> None:
    words = shown.line.split()
    command, rest = _resolve(words)
    assert command is not main, f"no such command: {shown}"
    options = {flag: p for p in command.params if isinstance(p, click.Option) and not p.hidden for flag in p.opts}
    tokens = [t.strip("[]()") for t in " ".join(rest).replace("|", " | ").split()]
    for index, token in enumerate(tokens):
        if not token.startswith("-") or token == "-":
            continue
        flag = token.split("=")[0]
        assert flag in options, f"{shown}: {command.name} has no option {flag}"
        param = options[flag]
        if isinstance(param.type, click.Choice) and index + 1 < len(tokens):
            values = tokens[index + 1].split("|")
            if tokens[index + 1][:1].isalpha() and tokens[index + 1].upper() != tokens[index + 1]:
                assert set(values) <= set(param.type.choices), f"{shown}: {flag} {tokens[index + 1]}"


RUNNABLE = [s for s in SHOWN if s.line.split()[1] in ("catalog", "plan", "render", "explain")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(EXAMPLES, root / "examples", ignore=shutil.ignore_patterns("*.py"))
    text = (EXAMPLES / "fleet.yaml").read_text(encoding="utf-8")
    (root / "fleet.yaml").write_text(text.replace("snapshot: snapshots/", "snapshot: examples/snapshots/"))
    result = CliRunner().invoke(main, ["plan", "--fleet", str(root / "fleet.yaml"), "--out", str(root / "plan.json")])
    assert result.exit_code == 0, result.stderr
    result = CliRunner().invoke(main, ["snapshot", "--fleet", str(root / "fleet.yaml"),
                                       "--out", str(root / "snapshots-2026-11-25")])  # what docs/live.md catalogs
    assert result.exit_code == 0, result.stderr
    return root


def _runnable(line: str) -> list[str]:
    """The command as a user would type it: optional parts left out, the first of alternatives."""
    line = re.sub(r"\[[^\]]*\]", " ", line)
    line = re.sub(r"\.\.\.", " ", line)
    return shlex.split(line)[1:]


@pytest.mark.parametrize("shown", RUNNABLE, ids=str)
def test_the_fleet_commands_shown_run_on_the_example_fleet(shown: Shown, workdir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workdir)
    args = _runnable(shown.line)
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (ExitCode.OK, ExitCode.FINDINGS), f"{shown}\n{result.stderr}"
    assert "Traceback" not in result.stderr


def test_the_example_generator_runs_as_examples_readme_shows(tmp_path: Path) -> None:
    """`python3 examples/make_snapshots.py` from the repository root rewrites the example byte for byte."""
    import filecmp
    import subprocess
    import sys

    shown = [line for lines in _blocks((EXAMPLES / "README.md").read_text(encoding="utf-8")) for line in lines
             if "make_snapshots.py" in line]
    assert shown == ["python3 examples/make_snapshots.py"]
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    run = subprocess.run([sys.executable, *shown[0].split()[1:]], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr

    def same(a: Path, b: Path) -> list[str]:
        cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
        return [*cmp.left_only, *cmp.right_only, *cmp.diff_files,
                *(d for sub in cmp.common_dirs for d in same(a / sub, b / sub))]

    assert same(EXAMPLES, tmp_path / "examples") == []
