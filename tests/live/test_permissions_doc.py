"""The shipped ClusterRole grants exactly what the catalog lists, and is valid Kubernetes."""

from __future__ import annotations

import yaml

from migrator.kinds import KINDS
from tests.conftest import REPO

ROLE = REPO / "docs/rbac/wi-migrator-catalog.yaml"


def test_cluster_role_covers_every_kind_read_and_nothing_else() -> None:
    role = yaml.safe_load(ROLE.read_text())
    granted = {(g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
               if set(rule["verbs"]) == {"get", "list"}}
    assert granted == {(k.group, k.plural) for k in KINDS.values()}
    assert not any("secrets" in rule["resources"] for rule in role["rules"])


def test_cluster_role_is_valid_kubernetes() -> None:
    import kubernetes_validate

    kubernetes_validate.validate(yaml.safe_load(ROLE.read_text()), "1.33", strict=True)
