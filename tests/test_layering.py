"""The layering holds: the pure core never loads render, the sources or cutover, and no import runs back up.

Two checks: importing every module of each core package in a fresh interpreter loads none of the
outer layers (what a user of ``migrator.plan`` really pays for), and the static import graph of the
whole package only points down the stages of docs/architecture.md.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "migrator"

#: each top-level module or package of migrator, by stage; an import may only go to a lower stage
#: (or stay within its own module or package)
STAGE = {
    "errors": 0,
    "clock": 1, "escape": 1, "vocabulary": 1, "limits": 1, "kinds": 1, "collector": 1, "inputs": 1,
    "fleet": 2, "write": 2,
    "decode": 3,
    "sources": 4, "inventory": 4,  # siblings: the sources know nothing of domain types
    "findings": 6, "plan": 6,
    "report": 7, "render": 7,
    "plan_file": 7.5,  # reads --plan for render and cutover; knows render's manifest to name a rendered folder
    "cutover": 8,
    "pipeline": 9,
    "commands": 10,
    "cli": 11,
    "cli_reference": 12,  # generates docs/cli.md from the command line
}
#: outer layers the pure core must never load: presentation, I/O, operations
OUTER = ("migrator.render", "migrator.report", "migrator.sources", "migrator.cutover", "migrator.commands",
         "migrator.pipeline", "migrator.cli")
CORE = ("migrator.inventory", "migrator.findings", "migrator.plan")


def _modules(package: str) -> list[str]:
    root = REPO / package.replace(".", "/")
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.mark.parametrize("package", CORE)
def test_a_core_package_loads_nothing_of_the_outer_layers(package: str) -> None:
    script = (f"import importlib, json, sys\n"
              f"for name in {_modules(package)!r}:\n"
              f"    importlib.import_module(name)\n"
              f"print(json.dumps(sorted(m for m in sys.modules if m.startswith('migrator'))))\n")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = json.loads(out.stdout)
    assert any(m.startswith(package) for m in loaded)
    assert [m for m in loaded if m.startswith(OUTER)] == []


def _imports(path: Path) -> set[str]:
    """The migrator modules a file imports (``from migrator import x`` counts as ``migrator.x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "migrator":
                found.update(f"migrator.{a.name}" for a in node.names)
            elif node.module.startswith("migrator."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("migrator."))
    return found


def _top(module: str) -> str:
    return module.split(".")[1]


def test_every_top_level_module_has_a_stage() -> None:
    tops = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").exists())}
    assert tops == set(STAGE)


def test_no_import_runs_back_up_the_stages() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = _top(".".join(path.relative_to(REPO).with_suffix("").parts) + ".x")
        for target in _imports(path):
            there = _top(target + ".x") if target.count(".") == 0 else _top(target)
            if there != here and (STAGE[there] >= STAGE[here]
                                  or (f"migrator.{here}" in CORE and f"migrator.{there}" in OUTER)):
                upward.append(f"{path.relative_to(REPO)} -> {target}")
    assert upward == []
