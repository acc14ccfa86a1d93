"""The cluster facts the findings read: interception, exceptions, webhook, GitOps ownership, federation."""

from __future__ import annotations

from migrator.findings.ignore import apply_ignores
from migrator.findings.model import Finding, Severity
from migrator.fleet import IgnoreRule
from migrator.inventory.federation import is_aks_issuer, subject
from migrator.inventory.gitops import owner_of
from migrator.inventory.interception import interception
from migrator.inventory.model import ObjectRef, Schema, labels_of
from migrator.inventory.pod_identity_exceptions import excepted_by, in_force
from migrator.inventory.podidentity import Mode, detect
from migrator.inventory.resolve import resolve
from migrator.inventory.webhook import detect_webhook
from migrator.report.view import CatalogReport, build_view
from tests.findings.builders import (
    catalog_of,
    cluster,
    container,
    exception,
    facts,
    mic,
    nmi,
    pod,
    webhook_config,
    webhook_deployment,
    workload,
)

# --- interception


def test_nmi_mode_comes_from_its_arguments_per_component() -> None:
    c = cluster(workloads=[nmi("managed", name="a"), nmi(None, name="b", ns="default"), mic(ready=0, desired=0)])
    ic = interception(c, detect(c))
    assert [x.ref.name for x in ic.managed_nmi] == ["a"] and [x.ref.name for x in ic.standard_nmi] == ["b"]
    assert ic.mic_running == () and [x.ref.name for x in ic.mic_stopped] == ["mic"]


def test_without_a_status_a_running_pod_counts_as_running() -> None:
    ds = nmi(ready=None, desired=None)
    with_pod = cluster(workloads=[ds], pods=[pod("nmi-x", "kube-system", owner=ds.ref)])
    assert interception(with_pod, detect(with_pod)).intercepting
    without = cluster(workloads=[ds])
    assert not interception(without, detect(without)).intercepting


# --- exceptions in force


def test_exceptions_are_namespace_local_or_semantics_and_case_insensitive_in_values() -> None:
    exc = (exception("e", "flux-system", {"app.kubernetes.io/name": "Microsoft.Flux", "tier": "x"}),)
    labels = labels_of({"app.kubernetes.io/name": "microsoft.flux", "tier": "y"})
    assert excepted_by(exc, "flux-system", labels) is exc[0]
    assert excepted_by(exc, "default", labels) is None
    assert excepted_by(exc, "flux-system", labels_of({"APP.kubernetes.io/name": "microsoft.flux"})) is None


def test_legacy_exceptions_are_in_force_only_under_controllers_older_than_v16() -> None:
    old = exception("e", "ns", {"a": "b"}, schema=Schema.LEGACY)
    modern = cluster(exceptions=[old], workloads=[nmi()])
    ancient = cluster(exceptions=[old], workloads=[nmi(version="v1.5.5")])
    assert in_force(resolve(modern)) == () and in_force(resolve(ancient)) == (old,)


# --- webhook


def test_the_arm_flag_turns_workload_identity_on() -> None:
    assert detect_webhook(cluster()).enabled is True
    assert detect_webhook(cluster(facts_=facts(wi=False))).enabled is False


def test_a_webhook_installed_by_hand_is_found_by_config_name_and_image_version() -> None:
    new = detect_webhook(cluster(facts_=facts(wi=False), webhooks=[webhook_config()], workloads=[webhook_deployment()]))
    assert new.enabled is True and new.installed[0].version == (1, 6, 0)
    old = detect_webhook(cluster(facts_=facts(wi=False), webhooks=[webhook_config(pod_label=False)],
                                 workloads=[webhook_deployment("v0.15.0")]))
    assert old.enabled is False and old.too_old[0].version_text == "v0.15.0"


def test_without_the_deployment_the_pod_label_selector_says_v1_or_later() -> None:
    state = detect_webhook(cluster(facts_=facts(wi=False), webhooks=[webhook_config(configuration="custom-name")]))
    assert state.enabled is True and state.installed[0].deployment is None


def test_a_webhook_image_without_a_configuration_is_not_on() -> None:
    assert detect_webhook(cluster(facts_=facts(wi=False), workloads=[webhook_deployment()])).enabled is False


def test_the_webhook_state_is_unknown_when_nothing_says() -> None:
    assert detect_webhook(cluster(facts_=None, webhooks=None)).enabled is None
    assert detect_webhook(cluster(facts_=facts(wi=False), webhooks=None)).enabled is None


# --- GitOps / Helm ownership


def test_ownership_evidence_in_order_of_strength() -> None:
    flux_helm = workload("a", labels={"helm.toolkit.fluxcd.io/name": "api", "helm.toolkit.fluxcd.io/namespace": "apps",
                                      "app.kubernetes.io/managed-by": "Helm"})
    assert str(owner_of(flux_helm)) == "Flux (HelmRelease apps/api)"
    assert owner_of(workload("b", labels={"argocd.argoproj.io/instance": "shop"})).tool == "Argo CD"
    helm_chart = workload("c", labels={"app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "rel"})
    assert str(owner_of(helm_chart)) == "Helm (release rel)"
    assert owner_of(workload("d", labels={"app.kubernetes.io/instance": "shop"})).tool == "Argo CD"
    assert owner_of(workload("e", pod_labels={"kustomize.toolkit.fluxcd.io/name": "x"})).tool == "Flux"
    assert owner_of(workload("f")) is None


# --- federation helpers


def test_aks_issuers_are_recognised() -> None:
    assert is_aks_issuer("https://eastus.oic.prod-aks.azure.com/t/u/")
    assert is_aks_issuer("https://oidc.prod-aks.azure.com/u/")
    assert not is_aks_issuer("https://token.actions.githubusercontent.com")
    assert subject("ns", "sa") == "system:serviceaccount:ns:sa"


# --- ignored findings are counted in the report


def test_ignored_findings_are_counted_in_every_report() -> None:
    f = Finding("aks-1", "apps", "Deployment/api", "DEFAULT_SERVICEACCOUNT", Severity.WARNING, "m", "r")
    g = Finding("aks-1", "apps", "Deployment/web", "DEFAULT_SERVICEACCOUNT", Severity.WARNING, "m", "r")
    kept, ignored = apply_ignores((f, g), frozenset(), (IgnoreRule(code="DEFAULT_SERVICEACCOUNT",
                                                                  object="Deployment/api", reason="accepted"),))
    assert kept == (g,) and ignored == 1
    view = build_view(CatalogReport(catalog_of(cluster()), kept, ignored))
    assert view["summary"]["ignoredFindings"] == 1 and len(view["findings"]) == 1
    assert ObjectRef("Deployment", "apps", "api").__str__() == f.object
    assert container().name == "app" and Mode.MANAGED.value == "managed"
