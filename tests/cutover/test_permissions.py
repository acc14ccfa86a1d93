"""docs/rbac/wi-migrator-cutover.yaml (with the catalog's role) grants every request the cutover commands
make — checked against the local API server's request log of full runs — and is valid Kubernetes."""

from __future__ import annotations

from typing import Any

import yaml

from tests.conftest import REPO
from tests.cutover.conftest import Served, ok

ROLES = [REPO / "docs/rbac/wi-migrator-catalog.yaml", REPO / "docs/rbac/wi-migrator-cutover.yaml"]
VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def _granted() -> tuple[set[tuple[str, str, str]], set[str]]:
    resources, urls = set(), set()
    for path in ROLES:
        for rule in yaml.safe_load(path.read_text())["rules"]:
            for verb in rule["verbs"]:
                for url in rule.get("nonResourceURLs", ()):
                    urls.add(url)
                for group in rule.get("apiGroups", ()):
                    for resource in rule.get("resources", ()):
                        resources.add((group, resource, verb))
    return resources, urls


def _needed(served: Served) -> set[tuple[str, str, str]]:
    out = set()
    for r in served.kube.requests:
        if r.resource is None:
            out.add(("url", r.path, "get"))
            continue
        verb = r.verb if r.verb in ("list", "watch") else VERBS[r.method]
        resource = r.resource + (f"/{r.subresource}" if r.subresource else "")
        out.add((r.group or "", resource, verb))
    return out


def _check(served: Served) -> None:
    resources, urls = _granted()
    missing = []
    for group, resource, verb in sorted(_needed(served)):
        if group == "url":
            if resource not in urls and not resource.startswith(("/api", "/version")):
                missing.append(f"GET {resource}")
        elif (group, resource, verb) not in resources:
            missing.append(f"{verb} {resource}.{group}")
    assert not missing, missing


def test_the_roles_grant_every_request_of_cutover_unbind_rollback_and_finalize(lab: Served) -> None:
    lab.apply_credentials("other")
    lab.kube.log.clear()
    ok(lab.cutover("demo", check_nmi_logs=True))
    ok(lab.cutover("other"))
    ok(lab.unbind(None))
    ok(lab.rollback("other"))
    ok(lab.cutover("other"))
    ok(lab.unbind("other"))
    lab.state.remove("daemonsets", "kube-system", "nmi")
    lab.state.remove("deployments", "kube-system", "mic")
    ok(lab.finalize())
    _check(lab)


def test_the_roles_grant_every_request_of_a_cutover_of_the_example(ready: Served) -> None:
    ready.kube.log.clear()
    ok(ready.cutover(changed_at_source=("Deployment/report-builder",)))
    ok(ready.rollback())
    _check(ready)


def test_the_cutover_role_is_valid_kubernetes() -> None:
    import kubernetes_validate

    doc: Any = yaml.safe_load(ROLES[1].read_text())
    kubernetes_validate.validate(doc, "1.33", strict=True)
