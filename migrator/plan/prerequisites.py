"""What a cluster needs before its credentials can work: the OIDC issuer and workload identity."""

from __future__ import annotations

from migrator.escape import hcl, sh
from migrator.inventory.model import ClusterInventory
from migrator.inventory.webhook import detect_webhook
from migrator.plan.model import Prerequisite

ISSUER_RISK = ("Enabling the OIDC issuer on a running cluster restarts the API server, changes the issuer of "
               "service-account tokens, and cannot be undone. Credentials for this cluster wait for it; their "
               "issuer is read from the cluster at apply time, never guessed.")
WEBHOOK_RISK = ("Enabling workload identity installs the mutating webhook in kube-system with failurePolicy Fail: "
                "while it is down, pods labelled azure.workload.identity/use are rejected.")


def prerequisites(cluster: ClusterInventory) -> tuple[Prerequisite, ...]:
    facts = cluster.facts
    if facts is None:
        return ()
    rg, name = sh(cluster.resource_group), sh(cluster.name)
    out = []
    if not facts.oidc_issuer_url:
        out.append(Prerequisite(
            cluster=cluster.name, kind="enable-oidc-issuer",
            command=f"az aks update --resource-group {rg} --name {name} --enable-oidc-issuer",
            terraform=f"# azurerm_kubernetes_cluster for {hcl(cluster.name)}\noidc_issuer_enabled = true",
            risk=ISSUER_RISK,
        ))
    if detect_webhook(cluster).enabled is False:
        out.append(Prerequisite(
            cluster=cluster.name, kind="enable-workload-identity",
            command=f"az aks update --resource-group {rg} --name {name} --enable-workload-identity",
            terraform=f"# azurerm_kubernetes_cluster for {hcl(cluster.name)}\nworkload_identity_enabled = true",
            risk=WEBHOOK_RISK,
        ))
    return tuple(out)
