"""`migrate discover --merge`: new clusters join in order; what people wrote in the file stays."""

from __future__ import annotations

import pytest

from migrator.errors import ExitCode, FleetFileError
from migrator.fleet import load_fleet
from testkit.synth import managed_cluster
from tests.discover.conftest import SUB1, SUB2, Discover

DEV_ID = f"/subscriptions/{SUB2}/resourcegroups/rg-aks-dev-weu/providers/Microsoft.ContainerService/managedClusters/aks-dev-weu"


def _edit(text: str) -> str:
    """What a person does to a discovered file."""
    text = text.replace("    resourceGroup: rg-aks-prod-eus\n    group: prod\n",
                        "    resourceGroup: rg-aks-prod-eus\n    group: prod-us   # peers in the US only\n")
    text = text.replace("    resourceGroup: rg-aks-dev-weu\n    group: dev\n",
                        "    resourceGroup: rg-aks-dev-weu\n    group: dev\n    context: aks-dev-weu\n")
    text = text.replace("  - name: aks-staging-eus", "  # staging-eus: owned by team blue\n  - name: aks-staging-eus")
    text = text.replace("  - name: aks-staging-weu               # pod-identity add-on: off, OIDC issuer: off, "
                        "workload identity: off", "  - name: aks-staging-weu   # keep: decommissioned in Q3")
    text = text.replace("clusters:\n", "clusters:\n  # the platform team's clusters first\n")
    text = text.replace("azure:\n", "  - name: aks-lab\n    region: northeurope\n"
                                     "    subscriptionId: 00000000-0000-0000-0000-000000000009\n"
                                     "    resourceGroup: rg-lab\n    snapshot: snapshots/aks-lab\nazure:\n")
    return text + ("# accepted findings\nignore:\n  - code: DEFAULT_SERVICEACCOUNT\n    cluster: aks-dev-weu\n"
                   "    reason: \"batch jobs move in Q3\"   # agreed with security\n")


def test_merge_adds_new_clusters_in_order_and_keeps_every_edit(served: Discover, capsys) -> None:  # type: ignore[no-untyped-def]
    _, out = served.run()
    edited = _edit(out.read_text())
    out.write_text(edited)
    served.arm.add_managed_cluster(managed_cluster("aks-prod-neu", sub=SUB1, rg="rg-aks-prod-neu",
                                                   location="northeurope"), name="aks-prod-neu")
    served.arm.managed_clusters[DEV_ID.lower()]["properties"]["podIdentityProfile"] = {"enabled": True}

    code, _ = served.run(out, merge=True)
    assert code is ExitCode.OK
    text = out.read_text()
    fleet = load_fleet(out, check_folders=False)
    assert [c.name for c in fleet.clusters] == ["aks-prod-eus", "aks-prod-neu", "aks-prod-weu", "aks-dev-weu",
                                                "aks-staging-eus", "aks-staging-weu", "aks-lab"]
    by_name = {c.name: c for c in fleet.clusters}
    assert by_name["aks-prod-eus"].group == "prod-us" and by_name["aks-dev-weu"].context == "aks-dev-weu"
    assert by_name["aks-prod-neu"].group == "prod" and by_name["aks-lab"].snapshot is not None
    assert fleet.ignore[0].reason == "batch jobs move in Q3"
    # the comments stay where they were written
    assert "clusters:\n  # the platform team's clusters first\n  - name: aks-prod-eus" in text
    assert "  # staging-eus: owned by team blue\n  - name: aks-staging-eus" in text
    assert "  - name: aks-staging-weu   # keep: decommissioned in Q3\n" in text
    assert "group: prod-us   # peers in the US only\n" in text
    assert text.endswith("# accepted findings\nignore:\n  - code: DEFAULT_SERVICEACCOUNT\n    cluster: aks-dev-weu\n"
                         "    reason: \"batch jobs move in Q3\"   # agreed with security\n")
    assert text.startswith(edited.split("tenantId:")[0])                      # the header as it was
    # the status comments are refreshed; the new cluster has one
    assert ("  - name: aks-dev-weu                   # pod-identity add-on: on, OIDC issuer: on, workload identity: on"
            in text)
    assert "  - name: aks-prod-neu                  # pod-identity add-on: on," in text
    assert "1 new, 5 already listed, 1 listed but not found this time (kept)" in capsys.readouterr().err
    # merging again changes nothing
    served.run(out, merge=True)
    assert out.read_text() == text


def test_merge_with_only_pod_identity_keeps_listed_clusters(served: Discover) -> None:
    _, out = served.run()
    served.arm.add_managed_cluster(managed_cluster("aks-new-weu", sub=SUB2, rg="rg-new", pod_identity=False),
                                   name="aks-new-weu")
    code, _ = served.run(out, merge=True, only_pod_identity=True)
    assert code is ExitCode.OK
    names = [c.name for c in load_fleet(out, check_folders=False).clusters]
    assert "aks-dev-weu" in names and "aks-new-weu" not in names
    text = out.read_text()
    assert text.count("# ---- not listed by migrate discover ----") == 1 and "#   aks-new-weu (" in text
    served.run(out, merge=True, only_pod_identity=True)                      # the block is replaced, not repeated
    assert out.read_text() == text


def test_merge_refuses_a_file_that_is_not_a_valid_fleet(served: Discover) -> None:
    out = served.tmp / "fleet.yaml"
    out.write_text("tenantId: t\nclusters:\n  - name: a\n    colour: red\n")
    with pytest.raises(FleetFileError, match="missing required key 'region'"):
        served.run(out, merge=True)
    assert out.read_text().endswith("colour: red\n") and served.arm.requests == []


def test_merge_into_a_missing_file_writes_a_new_one(served: Discover) -> None:
    code, out = served.run(merge=True)
    assert code is ExitCode.OK and out.read_text().startswith("# Fleet file written by `migrate discover`")
