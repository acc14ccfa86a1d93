"""Kubeconfigs: an empty or malformed one fails its cluster with the context named (exit 3 for the catalog, exit 2
for the cutover commands), never a traceback; ``insecure-skip-tls-verify: true`` gets a warning naming the
context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.live.conftest import Served
from tests.security.helpers import fleet_text, migrate

CONTEXT_CLUSTER = """\
  - name: aks-edge
    region: westeurope
    subscriptionId: 00000000-0000-0000-0000-000000000002
    resourceGroup: rg-edge
    context: edge-admin
"""


def _fleet(tmp_path: Path) -> Path:
    text = fleet_text("aks-dev-weu").replace("azure:\n", CONTEXT_CLUSTER + "azure:\n")
    (tmp_path / "fleet.yaml").write_text(text)
    return tmp_path / "fleet.yaml"


@pytest.mark.parametrize("content", ["", "[]", '"x"', "contexts: 5",
                                     "contexts: [{name: edge-admin, context: {cluster: c, user: u}}]\n"
                                     "clusters: [{name: c, cluster: 7}]\nusers: []\n"])
def test_an_empty_or_malformed_kubeconfig_fails_that_cluster(tmp_path: Path, content: str) -> None:
    """An empty kubeconfig made the client's loader raise TypeError: a traceback (exit 4)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(content)
    run = migrate("catalog", "--fleet", _fleet(tmp_path), "--kubeconfig", kubeconfig, "-o", "json")
    assert run.code == 3, run.stderr
    assert "Traceback" not in run.stderr
    clusters = {c["name"]: c for c in json.loads(run.stdout)["clusters"]}
    assert clusters["aks-dev-weu"]["status"] == "ok"
    assert clusters["aks-edge"]["status"] == "failed"
    assert "kubeconfig context 'edge-admin'" in clusters["aks-edge"]["error"]


@pytest.mark.parametrize("content", ["[]", '"x"', "contexts: 5"])
def test_a_malformed_kubeconfig_is_exit_2_for_the_cutover_commands(tmp_path: Path, content: str) -> None:
    from migrator.commands.plan import plan_for_fleet
    from migrator.plan.model import encode
    from tests.conftest import EXAMPLES

    (tmp_path / "plan.json").write_text(encode(plan_for_fleet(EXAMPLES / "fleet.yaml")[0]))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(content)
    migrate("cutover", "status", "--plan", tmp_path / "plan.json", "--kubeconfig", kubeconfig).refused(
        "kubeconfig context 'aks-", "the kubeconfig is empty or malformed")


def _insecure_kubeconfig(served: Served, context: str) -> Path:
    config = served.kube.kubeconfig()
    for entry in config["clusters"]:
        if entry["name"] == context:
            entry["cluster"].pop("certificate-authority-data", None)
            entry["cluster"]["insecure-skip-tls-verify"] = True
    path = served.tmp / "insecure-kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_insecure_skip_tls_verify_gets_a_warning_naming_the_context(served: Served) -> None:
    """A context that skips TLS verification was used silently: anyone on the path could answer for the API
    server and take the token."""
    from tests.conftest import EXAMPLES

    text = (EXAMPLES / "fleet.yaml").read_text().replace("snapshot: snapshots/aks", "context: aks")
    text = text.replace("snapshot: snapshots/azure", f"snapshot: {EXAMPLES / 'snapshots/azure'}")
    fleet = served.tmp / "ctx-fleet.yaml"
    fleet.write_text(text)
    run = migrate("catalog", "--fleet", fleet, "--kubeconfig", _insecure_kubeconfig(served, "aks-prod-weu"),
                  "-o", "json")
    assert run.code == 1, run.stderr  # read, with the example's error findings
    warnings = [line for line in run.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, run.stderr
    assert "cluster aks-prod-weu: kubeconfig context 'aks-prod-weu' sets insecure-skip-tls-verify" in warnings[0]
    assert json.loads(run.stdout)["summary"]["clustersRead"] == 5
