"""The real checkers the render tests run: the hclwrite formatter, kubectl kustomize, bash.

Under CI (``CI`` set) a missing checker is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

NODE_MODULES = REPO / ".ci" / "node_modules"
HCLFMT = Path(__file__).with_name("hclfmt.js")


def require(ok: bool, what: str) -> None:
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing: under CI a missing checker is a failure, never a skip")
    pytest.skip(f"{what} is missing (run .ci/install)")


def hcl_format(sources: dict[str, str]) -> dict[str, str]:
    """Every source through @cdktf/hcl-tools' format (hclwrite.Format), in one node process."""
    node = shutil.which("node")
    require(node is not None, "node")
    require((NODE_MODULES / "@cdktf" / "hcl-tools").is_dir(), "@cdktf/hcl-tools in .ci/node_modules")
    run = subprocess.run([node, str(HCLFMT)], input=json.dumps(sources), capture_output=True, text=True,
                         env={**os.environ, "NODE_PATH": str(NODE_MODULES)}, timeout=120)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    errors = {path: v["error"] for path, v in out.items() if isinstance(v, dict)}
    assert not errors, f"the HCL formatter rejected: {errors}"
    return out


def kubectl() -> str:
    path = shutil.which("kubectl")
    require(path is not None, "kubectl (with Kustomize v5)")
    return str(path)


def bash() -> str:
    path = shutil.which("bash")
    require(path is not None, "bash")
    return str(path)
