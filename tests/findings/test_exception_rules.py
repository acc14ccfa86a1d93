"""Exceptions: Flux without one, and exceptions that match nothing."""

from __future__ import annotations

from migrator.inventory.model import AddonProfile, Schema
from tests.findings.builders import cluster, exception, facts, findings, mic, nmi, pod, workload


def _flux(*names: str, ns: str = "flux-system") -> list:
    out = []
    for n in names:
        value = "flux-extension" if n.startswith("fluxconfig") else "microsoft.flux"
        out.append(workload(n, ns, pod_labels={"app.kubernetes.io/name": value}, sa=n))
    return out


# --- FLUX_WITHOUT_EXCEPTION


def test_flux_controllers_without_an_exception_fire_with_one_object_per_label_value() -> None:
    c = cluster(workloads=[nmi(), *_flux("image-reflector-controller", "fluxconfig-agent")],
                exceptions=[exception("flux-extension-exception", "flux-system",
                                      {"app.kubernetes.io/name": "flux-extension"})])
    [f] = findings("FLUX_WITHOUT_EXCEPTION", c)
    assert (f.namespace, f.object) == ("flux-system", "Deployment/image-reflector-controller")
    assert '"kind":"AzurePodIdentityException"' in f.remediation
    assert '"podLabels":{"app.kubernetes.io/name":"microsoft.flux"}' in f.remediation
    assert '"name":"microsoft-flux-exception"' in f.remediation and "kubectl apply -f -" in f.remediation
    assert "kubectl rollout restart deployment -n flux-system" in f.remediation


def test_an_exception_in_another_namespace_does_not_count() -> None:
    c = cluster(workloads=[nmi(), mic(), *_flux("source-controller")],
                exceptions=[exception("flux", "default", {"app.kubernetes.io/name": "microsoft.flux"})])
    assert len(findings("FLUX_WITHOUT_EXCEPTION", c)) == 1


def test_a_legacy_spelled_exception_is_ignored_by_v16_nmi_and_said_so() -> None:
    c = cluster(workloads=[nmi(), *_flux("source-controller")],
                exceptions=[exception("flux", "flux-system", {"app.kubernetes.io/name": "microsoft.flux"},
                                      schema=Schema.LEGACY)])
    [f] = findings("FLUX_WITHOUT_EXCEPTION", c)
    assert "old PodLabels spelling" in f.message


def test_on_the_addon_the_exception_is_added_with_az() -> None:
    c = cluster(facts_=facts(addon=AddonProfile(True)), workloads=[nmi("managed"), *_flux("source-controller")])
    [f] = findings("FLUX_WITHOUT_EXCEPTION", c)
    assert "az aks pod-identity exception add" in f.remediation
    assert "--pod-labels app.kubernetes.io/name=microsoft.flux" in f.remediation


def test_flux_covered_by_any_one_label_pair_value_case_insensitive_does_not_fire() -> None:
    c = cluster(workloads=[nmi(), *_flux("source-controller", "fluxconfig-agent")],
                exceptions=[exception("a", "flux-system", {"app.kubernetes.io/name": "Microsoft.Flux",
                                                           "no-such": "label"}),
                            exception("b", "flux-system", {"app.kubernetes.io/name": "flux-extension"})])
    assert findings("FLUX_WITHOUT_EXCEPTION", c) == []


def test_flux_without_nmi_does_not_fire() -> None:
    assert findings("FLUX_WITHOUT_EXCEPTION", cluster(workloads=_flux("source-controller"))) == []
    stopped = cluster(workloads=[nmi(ready=0, desired=0), *_flux("source-controller")])
    assert findings("FLUX_WITHOUT_EXCEPTION", stopped) == []


# --- EXCEPTION_MATCHES_NOTHING


def test_an_exception_matching_no_pod_fires() -> None:
    c = cluster(exceptions=[exception("gone", "apps", {"app": "retired"})], workloads=[workload("api")])
    [f] = findings("EXCEPTION_MATCHES_NOTHING", c)
    assert f.object == "AzurePodIdentityException/gone" and "app=retired" in f.message
    assert "kubectl delete azurepodidentityexception gone -n apps" in f.remediation


def test_an_exception_matching_a_template_or_a_pod_does_not_fire() -> None:
    by_template = cluster(exceptions=[exception("e", "apps", {"app": "API"})], workloads=[workload("api")])
    by_pod = cluster(exceptions=[exception("e", "apps", {"debug": "yes"})], pods=[pod("p", labels={"debug": "yes"})])
    assert findings("EXCEPTION_MATCHES_NOTHING", by_template) == []
    assert findings("EXCEPTION_MATCHES_NOTHING", by_pod) == []


def test_exception_matching_is_not_judged_without_pods() -> None:
    c = cluster(exceptions=[exception("gone", "apps", {"app": "retired"})], pods=None)
    assert findings("EXCEPTION_MATCHES_NOTHING", c) == []
