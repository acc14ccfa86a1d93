"""The peer group guessed for a discovered cluster (docs/discover.md): edit the lists, or guess_group, to suit
your naming."""

from __future__ import annotations

import re
from collections.abc import Mapping

# =====================================================================================================
# THE GROUP RULE (docs/discover.md). Edit these three lists, or guess_group itself, to suit your naming.
#
# 1. The first of these tags (key compared case-insensitively) with a non-empty value is the group,
#    lower-cased.
GROUP_TAGS: tuple[str, ...] = ("group", "env", "environment")
# 2. Otherwise the cluster name, split on '-', '_' and '.', without the tokens below, without the
#    cluster's own region, and without tokens that are only digits, joined with '-'. When nothing is
#    left, or nothing was removed, the cluster gets no group (it is its own group).
GENERIC_TOKENS: frozenset[str] = frozenset({"aks", "k8s", "kube", "kubernetes", "cluster", "mc"})
REGION_TOKENS: frozenset[str] = frozenset({
    # region names
    "eastus", "eastus2", "westus", "westus2", "westus3", "centralus", "northcentralus", "southcentralus",
    "westcentralus", "canadacentral", "canadaeast", "brazilsouth", "brazilsoutheast", "mexicocentral",
    "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "francesouth", "germanywestcentral",
    "germanynorth", "switzerlandnorth", "switzerlandwest", "norwayeast", "norwaywest", "swedencentral",
    "swedensouth", "polandcentral", "italynorth", "spaincentral", "austriaeast", "belgiumcentral",
    "denmarkeast", "uaenorth", "uaecentral", "qatarcentral", "israelcentral", "southafricanorth",
    "southafricawest", "eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral", "koreasouth",
    "centralindia", "southindia", "westindia", "jioindiawest", "jioindiacentral", "australiaeast",
    "australiasoutheast", "australiacentral", "australiacentral2", "newzealandnorth", "malaysiawest",
    "malaysiasouth", "indonesiacentral", "taiwannorth", "chilecentral",
    "usgovvirginia", "usgovtexas", "usgovarizona", "chinanorth", "chinanorth2", "chinanorth3", "chinaeast",
    "chinaeast2", "chinaeast3",
    # common short codes
    "eus", "eus2", "wus", "wus2", "wus3", "cus", "ncus", "scus", "wcus", "cac", "cae", "brs", "neu", "weu",
    "uks", "ukw", "frc", "frs", "gwc", "gn", "chn", "chw", "noe", "now", "sdc", "sec", "plc", "itn", "spc",
    "uaen", "qac", "san", "saw", "ea", "sea", "jpe", "jpw", "krc", "krs", "inc", "ins", "inw", "cin", "sin",
    "ae", "ase", "auc", "nzn",
})


def guess_group(name: str, tags: Mapping[str, str], region: str) -> str | None:
    """The peer group of a discovered cluster (the rule above)."""
    by_key = {str(k).strip().lower(): str(v) for k, v in tags.items()}
    for tag in GROUP_TAGS:
        value = (by_key.get(tag) or "").strip().lower()
        if value:
            return value
    tokens = [t for t in re.split(r"[-_.]+", name.lower()) if t]
    kept = [t for t in tokens
            if t not in REGION_TOKENS and t not in GENERIC_TOKENS and t != region.lower() and not t.isdigit()]
    if not kept or kept == tokens:
        return None
    return "-".join(kept)
# =====================================================================================================

#: The comment on each cluster's ``name`` line starts with this; --merge refreshes only comments that do.
