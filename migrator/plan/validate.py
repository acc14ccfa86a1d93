"""A plan file, checked in full before render or cutover uses it (docs/plan-json.md, "Validation").

`migrate render --plan` and every cutover command (cutover, status, rollback, unbind, finalize) check
the plan file in full before they use it: the plan is reviewed and edited by people, and what render
and cutover do with it reaches Azure (which issuer and subject an identity trusts) and the clusters.
A plan that breaks any rule below is refused, with the JSON path of every problem, and nothing is
rendered or changed. ``migrate plan`` always keeps these rules, so they only refuse an edited (or
broken) file:

* audiences are exactly ``["api://AzureADTokenExchange"]``;
* credential names follow Azure's rule (3-120 letters, digits, ``-``, ``_``, starting with a letter or
  digit); issuers and subjects are at most 600 characters; an issuer is an ``https://`` URL without
  control characters or spaces, and a credential's issuer is its cluster's; a subject is
  ``system:serviceaccount:<namespace>:<service account>`` of the credential's own namespace and
  service account;
* no two credentials of one identity share a name, or an issuer and subject;
* every cluster a credential, service account, workload or prerequisite names is in ``clusters``;
* cluster names are AKS names, resource groups and subscriptions are Azure path segments, tenants
  are plain names; namespaces are DNS labels and service accounts DNS subdomains (Kubernetes' rules);
* identity resource IDs are
  ``/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>``
  with valid parts;
* a ``terraformIssuer`` is a plain Terraform reference (no function call, no interpolation);
* the file is a regular file (not a FIFO or a device) nesting at most 256 levels.

A plan that breaks a rule is refused with exit 2: the file, the number of problems, and the JSON path
of each (the first 20), for example ``$.credentials[3].audiences: must be exactly
['api://AzureADTokenExchange']``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from migrator.errors import InputError, Location
from migrator.escape import is_hcl_reference
from migrator.fleet.model import CLUSTER_NAME, RESOURCE_GROUP
from migrator.inputs import json_too_deep
from migrator.limits import FIC_FIELD_MAX, FIC_NAME_PATTERN, IDENTITY_NAME_PATTERN, K8S_NAME_MAX
from migrator.plan.model import Credential, IdentityRef, Plan, decode
from migrator.vocabulary import TOKEN_EXCHANGE_AUDIENCE

#: problems listed in the error (the rest are counted)
MAX_LISTED = 20

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_DNS_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?")
_IDENTITY_ID = re.compile(r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
                          r"Microsoft\.ManagedIdentity/userAssignedIdentities/(?P<name>[^/]+)", re.IGNORECASE)
_ISSUER = re.compile(r"https://[^\s/?#]+(?:/[^\s?#]*)?")


def _segment_problem(value: str) -> str | None:
    if not value or value in (".", "..") or any(c in value for c in "/\\?#") or _CONTROL.search(value):
        return f"{value!r} cannot be a segment of an Azure resource ID"
    return None


def _identity_id_problem(value: str) -> str | None:
    m = _IDENTITY_ID.fullmatch(value)
    if not m:
        return (f"{value!r} is not a user-assigned identity ID (/subscriptions/<id>/resourceGroups/<rg>/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/<name>)")
    if _segment_problem(m["sub"]):
        return f"{value!r}: the subscription {m['sub']!r} is not an Azure subscription ID"
    if not RESOURCE_GROUP.fullmatch(m["rg"]):
        return f"{value!r}: {m['rg']!r} is not an Azure resource group name"
    if not IDENTITY_NAME_PATTERN.match(m["name"]):
        return f"{value!r}: {m['name']!r} is not a user-assigned identity name (3-128 letters, digits, '-', '_')"
    return None


def _identity_key(ref: IdentityRef) -> str:
    if ref.resource_id:
        return ref.resource_id.lower()
    return f"{ref.kind}:{(ref.client_id or ref.name).lower()}"


class _Checker:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.problems: list[str] = []
        self.clusters = {c.name: c for c in plan.clusters}

    def add(self, path: str, problem: str) -> None:
        self.problems.append(f"{path}: {problem}")

    def cluster_ref(self, path: str, name: str) -> None:
        if name not in self.clusters:
            self.add(path, f"cluster {name!r} is not in the plan's clusters")

    def namespace(self, path: str, value: str) -> None:
        if not _DNS_LABEL.fullmatch(value):
            self.add(path, f"{value!r} is not a Kubernetes namespace name (a DNS label: 1-63 of a-z, 0-9, '-')")

    def k8s_name(self, path: str, value: str) -> None:
        if len(value) > K8S_NAME_MAX or not _DNS_SUBDOMAIN.fullmatch(value):
            self.add(path, f"{value!r} is not a Kubernetes object name (a DNS subdomain: a-z, 0-9, '-', '.')")

    def issuer(self, path: str, value: str) -> None:
        if len(value) > FIC_FIELD_MAX:
            self.add(path, f"longer than Azure's {FIC_FIELD_MAX} characters")
        elif not _ISSUER.fullmatch(value) or _CONTROL.search(value):
            self.add(path, f"{value!r} is not an https:// issuer URL")

    def identity(self, path: str, ref: IdentityRef) -> None:
        if ref.kind == "app-registration":
            if ref.resource_id is not None:
                self.add(f"{path}.resourceId", "an app registration has no resource ID")
        elif ref.resource_id is None:
            self.add(f"{path}.resourceId", "a managed identity needs its resource ID")
        else:
            problem = _identity_id_problem(ref.resource_id)
            if problem:
                self.add(f"{path}.resourceId", problem)

    def run(self) -> list[str]:
        plan = self.plan
        if _segment_problem(plan.tenant_id):
            self.add("$.tenantId", f"{plan.tenant_id!r} is not a tenant ID")
        self._clusters()
        for i, p in enumerate(plan.prerequisites):
            self.cluster_ref(f"$.prerequisites[{i}].cluster", p.cluster)
        for i, ip in enumerate(plan.identities):
            self.identity(f"$.identities[{i}].identity", ip.identity)
            for j, e in enumerate(ip.existing):
                where = f"$.identities[{i}].existing[{j}]"
                if len(e.issuer) > FIC_FIELD_MAX or len(e.subject) > FIC_FIELD_MAX:
                    self.add(where, f"issuer or subject longer than Azure's {FIC_FIELD_MAX} characters")
                if not FIC_NAME_PATTERN.match(e.name):
                    self.add(f"{where}.name", f"{e.name!r} is not a federated credential name")
        for i, n in enumerate(plan.new_identities):
            where = f"$.newIdentities[{i}]"
            for problem in (_identity_id_problem(n.resource_id),):
                if problem:
                    self.add(f"{where}.resourceId", problem)
            for j, replaced in enumerate(n.replaces):
                problem = _identity_id_problem(replaced)
                if problem:
                    self.add(f"{where}.replaces[{j}]", problem)
            for j, cluster in enumerate(n.clusters):
                self.cluster_ref(f"{where}.clusters[{j}]", cluster)
        self._credentials()
        for i, sa in enumerate(plan.service_accounts):
            where = f"$.serviceAccounts[{i}]"
            self.cluster_ref(f"{where}.cluster", sa.cluster)
            self.namespace(f"{where}.namespace", sa.namespace)
            self.k8s_name(f"{where}.name", sa.name)
        for i, w in enumerate(plan.workloads):
            where = f"$.workloads[{i}]"
            self.cluster_ref(f"{where}.cluster", w.cluster)
            self.namespace(f"{where}.namespace", w.namespace)
            self.k8s_name(f"{where}.name", w.name)
            self.k8s_name(f"{where}.serviceAccount", w.service_account)
            if w.previous_service_account is not None:
                self.k8s_name(f"{where}.previousServiceAccount", w.previous_service_account)
        return self.problems

    def _clusters(self) -> None:
        seen: set[str] = set()
        for i, c in enumerate(self.plan.clusters):
            where = f"$.clusters[{i}]"
            if c.name in seen:
                self.add(f"{where}.name", f"cluster {c.name!r} is listed twice")
            seen.add(c.name)
            if not CLUSTER_NAME.fullmatch(c.name):
                self.add(f"{where}.name", f"{c.name!r} is not an AKS cluster name (1-63 letters, digits, '-', '_')")
            if _segment_problem(c.subscription_id):
                self.add(f"{where}.subscriptionId", f"{c.subscription_id!r} is not an Azure subscription ID")
            if not RESOURCE_GROUP.fullmatch(c.resource_group):
                self.add(f"{where}.resourceGroup", f"{c.resource_group!r} is not an Azure resource group name")
            if _segment_problem(c.tenant_id):
                self.add(f"{where}.tenantId", f"{c.tenant_id!r} is not a tenant ID")
            if c.issuer is not None:
                self.issuer(f"{where}.issuer", c.issuer)
            if c.terraform_issuer is not None and not is_hcl_reference(c.terraform_issuer):
                self.add(f"{where}.terraformIssuer", f"{c.terraform_issuer!r} is not a plain Terraform reference "
                                                     "(such as module.aks.oidc_issuer_url)")

    def _credentials(self) -> None:
        names: dict[tuple[str, str], int] = {}
        pairs: dict[tuple[str, str, str], int] = {}
        for i, c in enumerate(self.plan.credentials):
            where = f"$.credentials[{i}]"
            self._credential(where, c)
            key = _identity_key(c.identity)
            first = names.setdefault((key, c.name.lower()), i)
            if first != i:
                self.add(f"{where}.name", f"the identity already has a credential named {c.name!r} "
                                          f"($.credentials[{first}])")
            if c.issuer is not None:
                first = pairs.setdefault((key, c.issuer, c.subject), i)
                if first != i:
                    self.add(where, f"the identity already trusts this issuer and subject ($.credentials[{first}])")

    def _credential(self, where: str, c: Credential) -> None:
        if list(c.audiences) != [TOKEN_EXCHANGE_AUDIENCE]:
            self.add(f"{where}.audiences", f"must be exactly [{TOKEN_EXCHANGE_AUDIENCE!r}], not {list(c.audiences)!r}")
        if not FIC_NAME_PATTERN.match(c.name):
            self.add(f"{where}.name", f"{c.name!r} is not a federated credential name (3-120 letters, digits, '-', "
                                      "'_', starting with a letter or digit)")
        if c.existing_name is not None and not FIC_NAME_PATTERN.match(c.existing_name):
            self.add(f"{where}.existingName", f"{c.existing_name!r} is not a federated credential name")
        self.cluster_ref(f"{where}.cluster", c.cluster)
        self.namespace(f"{where}.namespace", c.namespace)
        self.k8s_name(f"{where}.serviceAccount", c.service_account)
        if len(c.subject) > FIC_FIELD_MAX:
            self.add(f"{where}.subject", f"longer than Azure's {FIC_FIELD_MAX} characters")
        elif c.subject != f"system:serviceaccount:{c.namespace}:{c.service_account}":
            self.add(f"{where}.subject", f"{c.subject!r} is not the subject of its service account "
                                         f"(system:serviceaccount:{c.namespace}:{c.service_account})")
        if c.issuer is not None:
            self.issuer(f"{where}.issuer", c.issuer)
            cluster = self.clusters.get(c.cluster)
            if cluster is not None and cluster.issuer is not None and c.issuer != cluster.issuer:
                self.add(f"{where}.issuer", f"{c.issuer!r} is not the issuer of cluster {c.cluster!r} "
                                            f"({cluster.issuer!r})")
        elif c.status in ("create", "present"):
            self.add(f"{where}.issuer", f"a credential to {c.status} needs its issuer")
        self.identity(f"{where}.identity", c.identity)


def problems(plan: Plan) -> list[str]:
    """Every rule ``plan`` breaks, as ``$.json.path: what``; empty for a plan render and cutover may use."""
    return _Checker(plan).run()


def _listed(found: list[str]) -> Iterator[str]:
    yield from found[:MAX_LISTED]
    if len(found) > MAX_LISTED:
        yield f"... and {len(found) - MAX_LISTED} more"


def refuse_too_deep(data: bytes, origin: str) -> None:
    """``InputError`` when the JSON nests deeper than a plan ever does (a parser would overflow the stack)."""
    deep = json_too_deep(data)
    if deep is not None:
        raise InputError(f"the plan file is refused: {deep}", location=Location(Path(origin)),
                         hint="a plan nests a few levels; regenerate it with migrate plan")


def load(data: bytes, origin: str) -> Plan:
    """The plan in ``data`` (the file ``origin``), decoded and checked in full; ``InputError`` (exit 2) naming
    the JSON path of every problem otherwise."""
    refuse_too_deep(data, origin)
    plan = decode(data, origin)
    found = problems(plan)
    if found:
        raise InputError(f"the plan is refused: {len(found)} problem(s); nothing was rendered or changed",
                         location=Location(Path(origin)), details=tuple(_listed(found)),
                         hint="migrate plan writes plans that keep these rules (docs/plan-json.md, \"Validation\"); "
                              "fix the edit, or plan again")
    return plan
