"""What the wheel carries and what the package needs: the templates without a symlink, no repository
scripts, the license, and dependencies equal to what migrator/ really imports."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

#: import name -> distribution, for every third-party module migrator/ imports
DISTRIBUTION = {
    "aiohttp": "aiohttp", "azure.core": "azure-core", "azure.identity": "azure-identity",
    "azure.mgmt.containerservice": "azure-mgmt-containerservice", "azure.mgmt.core": "azure-mgmt-core",
    "click": "click", "jinja2": "jinja2", "kubernetes": "kubernetes", "msgspec": "msgspec",
    "pydantic": "pydantic", "yaml": "pyyaml", "rich": "rich", "ruamel": "ruamel.yaml", "urllib3": "urllib3",
}


def _third_party_imports() -> set[str]:
    stdlib = sys.stdlib_module_names
    found = set()
    for path in (REPO / "migrator").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in stdlib or top in ("migrator", "__future__"):
                    continue
                found.add(next((k for k in DISTRIBUTION if name == k or name.startswith(k + ".")), name))
    return found


def test_dependencies_are_exactly_what_the_package_imports() -> None:
    imported = _third_party_imports()
    assert set(DISTRIBUTION) >= imported, f"map these imports to a distribution: {imported - set(DISTRIBUTION)}"
    declared = {d.split(">")[0].split("=")[0].split("[")[0].strip().lower() for d in PYPROJECT["project"]["dependencies"]}
    assert declared == {DISTRIBUTION[i] for i in imported}


def test_the_package_list_is_every_package_on_disk() -> None:
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "migrator").rglob("__init__.py")}
    on_disk |= {"migrator.templates", *(f"migrator.templates.{d.name}" for d in (REPO / "templates").iterdir()
                                         if d.is_dir())}
    assert set(PYPROJECT["tool"]["setuptools"]["packages"]) == on_disk
    assert not (REPO / "migrator" / "templates").exists()  # no link: the wheel builds them from templates/


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy: setuptools leaves build/ and *.egg-info in the tree it builds
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, source / name)
    for folder in ("migrator", "templates"):
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out),
                    str(source)], check=True, capture_output=True, cwd=out)
    (built,) = out.glob("wi_migrator-*.whl")
    return built


def test_the_wheel_carries_the_templates_and_the_license_and_no_repository_script(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {p.relative_to(REPO).as_posix() for p in (REPO / "templates").rglob("*.j2")}
    assert templates and {f"migrator/{t}" for t in templates} <= names
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert not [n for n in names if n.startswith(("tests/", "testkit/", "examples/", "benchmarks/"))
                or n == "migrator/sample.py"]


def test_the_installed_wheel_renders_from_its_own_templates(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    probe = ("import migrator.render.templates as t; print(t.TEMPLATES); "
             "print(t.environment().get_template('terraform/versions.tf.j2').filename)")
    out = subprocess.run([sys.executable, "-c", probe], env={"PYTHONPATH": str(target)}, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(line).is_relative_to(target) for line in out), out
