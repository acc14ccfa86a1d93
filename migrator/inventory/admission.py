"""Namespaces an admission policy protects from changes (AKS Automatic and the like).

AKS Automatic installs the ValidatingAdmissionPolicy ``aks-managed-protect-system-namespaces`` (and
its binding ``aks-managed-protect-system-namespaces-binding``): requests from anyone outside a few
exempt service-account groups that create, patch or delete objects in the protected namespaces are
denied ("Modification of resources in managed system namespaces is not allowed"). The protected
namespaces are read from the policy's and the binding's namespace selectors (by
``kubernetes.io/metadata.name``). When the policy exists but names none readably, the namespaces
AKS is documented to protect are assumed (Azure/AKS#5645, #5726).
"""

from __future__ import annotations

from migrator.inventory.model import AdmissionPolicy, ClusterInventory

AKS_PROTECT_POLICY = "aks-managed-protect-system-namespaces"
#: documented members of the AKS policy (not a published list): flux-system (AKS 2025-10-12), dapr-system
AKS_KNOWN_PROTECTED = ("dapr-system", "flux-system")


def _protects(policy: AdmissionPolicy) -> bool:
    return policy.name == AKS_PROTECT_POLICY or "protect" in policy.name.lower()


def protected_namespaces(cluster: ClusterInventory) -> dict[str, AdmissionPolicy] | None:
    """Namespace -> the policy protecting it; None when the policies were not captured."""
    if cluster.admission_policies is None:
        return None
    out: dict[str, AdmissionPolicy] = {}
    for policy in cluster.admission_policies:
        if not _protects(policy):
            continue
        names = policy.namespaces
        if not names and policy.name == AKS_PROTECT_POLICY:
            names = AKS_KNOWN_PROTECTED
        for ns in names:
            out.setdefault(ns, policy)
    return out
