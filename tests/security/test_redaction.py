"""``migrate snapshot`` keeps no secret a container's command line or an annotation carries: secret-looking flag
values, connection strings and URL passwords are redacted, and only the annotations the catalog reads are kept
(docs/snapshots.md, "Redaction"); a live document nested too deep fails its cluster instead of the snapshot."""

from __future__ import annotations

import json

import pytest

from migrator.commands.catalog import build_report
from migrator.commands.snapshot import run_snapshot
from migrator.errors import ExitCode
from migrator.report.json import render
from tests.live.conftest import Served

REDACTED = "<redacted>"

SECRETS = ("hunter2", "s3cr3t-value", "QUNDT1VOVEtFWQ==", "p@ssw0rd", "ghp_tokenvalue", "sv=2024&sig=SIGNATURE")
KEPT = {"azure.workload.identity/client-id": "11111111-1111-1111-1111-111111111111",
        "meta.helm.sh/release-name": "billing", "argocd.argoproj.io/tracking-id": "app:apps/Deployment:ns/billing"}


def _deployment() -> dict:
    annotations = {**KEPT, "vault.hashicorp.com/agent-inject-token": "ghp_tokenvalue",
                   "example.com/db-password": "p@ssw0rd",
                   "kubectl.kubernetes.io/last-applied-configuration": '{"password": "hunter2"}'}
    container = {
        "name": "app", "image": "example/billing:1",
        "command": ["/app", "--client-secret=s3cr3t-value", "--password"],
        "args": ["hunter2", "--storage=DefaultEndpointsProtocol=https;AccountName=a;AccountKey=QUNDT1VOVEtFWQ==;",
                 "--db=postgres://billing:p@ssw0rd@db:5432/billing", "--blob=https://a.blob/c?sv=2024&sig=SIGNATURE",
                 "--github-token", "ghp_tokenvalue", "--verbose", "--log-level=debug"],
        "env": [{"name": "DB_PASSWORD", "value": "p@ssw0rd"}],
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "billing", "namespace": "payments", "annotations": annotations},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "billing"}},
                     "template": {"metadata": {"labels": {"app": "billing"}, "annotations": dict(annotations)},
                                  "spec": {"containers": [container], "initContainers": [dict(container, name="i")]}}}}


def test_the_snapshot_keeps_no_secret_of_command_lines_or_annotations(served: Served) -> None:
    """Container args such as --client-secret=… and annotations such as a vault token went into the archive."""
    served.kube["aks-prod-weu"].add(_deployment())
    target = served.tmp / "snap"
    assert run_snapshot(served.live_fleet(), target, force=False, live=served.settings()) is ExitCode.OK
    text = (target / "aks-prod-weu/kube/deployments.json").read_text()
    for secret in SECRETS:
        assert secret not in text, secret
    (billing,) = [d for d in json.loads(text)["items"] if d["metadata"]["name"] == "billing"]
    assert billing["metadata"]["annotations"] == KEPT
    assert billing["spec"]["template"]["metadata"]["annotations"] == KEPT
    container = billing["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/app", f"--client-secret={REDACTED}", "--password"]
    assert container["args"][0] == REDACTED and container["args"][-2:] == ["--verbose", "--log-level=debug"]
    assert "AccountName=a;AccountKey=<redacted>;" in container["args"][1]
    assert container["args"][2] == "--db=postgres://billing:<redacted>@db:5432/billing"
    assert "env" in container and "value" not in container["env"][0]
    # what the catalog reads is all there: the snapshot catalogs like the live read
    live, _ = build_report(served.live_fleet(), live=served.settings())
    offline, _ = build_report(target / "fleet.yaml")
    assert render(offline) == render(live)


@pytest.mark.parametrize(("args", "expected"), [
    (["--password", "x", "y"], ["--password", REDACTED, "y"]),
    (["--token", "--next"], ["--token", "--next"]),
    (["-api-key=k"], [f"-api-key={REDACTED}"]),
    (["--client_secret", "v"], ["--client_secret", REDACTED]),
    (["Password=a;Server=b"], [f"Password={REDACTED};Server=b"]),
    (["--keyvault-name=kv", "--operation-mode=managed", "--forceNamespaced=true"],
     ["--keyvault-name=kv", "--operation-mode=managed", "--forceNamespaced=true"]),
])
def test_secret_looking_arguments_are_redacted(args: list[str], expected: list[str]) -> None:
    from migrator.decode.kept import redact_args

    assert redact_args(args) == expected


def test_a_live_document_nested_too_deep_fails_its_cluster_not_the_snapshot(served: Served) -> None:
    """json.dumps(indent=2) of a 400-deep object overflowed the stack while writing the snapshot."""
    deep: list = []
    node = deep
    for _ in range(400):
        node.append([])
        node = node[0]
    deployment = _deployment()
    deployment["spec"]["x-deep"] = deep
    served.kube["aks-prod-eus"].add(deployment)
    target = served.tmp / "snap"
    assert run_snapshot(served.live_fleet(), target, force=False, live=served.settings()) is ExitCode.PARTIAL
    assert not (target / "aks-prod-eus").exists() and (target / "aks-prod-weu").is_dir()
