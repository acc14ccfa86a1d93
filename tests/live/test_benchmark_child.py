"""The benchmark's catalog child still drives the product: it patches the read path by name, so a moved
function must fail here, not only in a 10-minute benchmark run nobody starts."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO
from tests.live.conftest import Served


def test_the_benchmark_catalog_child_reads_the_example_fleet_and_times_each_phase(served: Served) -> None:
    out = served.tmp / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks._children", "ours", "--fleet", str(served.live_fleet()),
         "--arm-url", served.arm.url, "--ca", str(served.arm.ca_path), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(out.read_text())["summary"]["clustersRead"] == 5
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"read_inventory", "build", "resolve", "findings", "report"} <= set(result["phases"])
