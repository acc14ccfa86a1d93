"""The plan file's schema (docs/plan-json.md). msgspec structs: the JSON encodes and decodes losslessly.

Keys are camelCase; lists are sorted by the builder; ``schemaVersion`` guards the contract that
render and cutover consume.
"""

from __future__ import annotations

from typing import Literal, get_args

import msgspec
from msgspec import Struct

SCHEMA_VERSION = 1

Strategy = Literal["reuse", "per-workload"]
ServiceAccountRemedy = Literal["split", "client-id-env"]
CredentialStatus = Literal["create", "present", "blocked", "pending-prerequisite"]
Classification = Literal["needed", "stale", "foreign", "other"]
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)
SERVICE_ACCOUNT_REMEDIES: tuple[ServiceAccountRemedy, ...] = get_args(ServiceAccountRemedy)


class _S(Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=False):
    """The options every plan struct shares. msgspec hands them down to subclasses, but type checkers
    read the subclasses through PEP 681's ``dataclass_transform``, which cannot: each subclass repeats
    ``frozen=True`` (a no-op at run time) so that mypy sees it frozen like its base (msgspec#657)."""


class Why(_S, frozen=True):
    """Where an item comes from, so a reviewer can trace it back."""

    bindings: tuple[str, ...] = ()  # "cluster/namespace/AzureIdentityBinding/name"
    workloads: tuple[str, ...] = ()  # "cluster/namespace/Kind/name"


class IdentityRef(_S, frozen=True):
    resource_id: str | None  # canonical casing; None for app registrations
    name: str  # the identity's name in Azure
    client_id: str | None  # its client (application) ID; None for a new identity not yet created
    kind: Literal["managed-identity", "new-managed-identity", "app-registration"] = "managed-identity"


class Credential(_S, frozen=True):
    name: str  # the federated credential's Azure name (3-120 characters)
    issuer: str | None  # None while a prerequisite of the cluster is pending
    subject: str  # system:serviceaccount:<namespace>:<service account>
    audiences: tuple[str, ...]  # ["api://AzureADTokenExchange"]
    identity: IdentityRef  # the identity the credential is made on
    cluster: str  # the cluster whose issuer the credential trusts
    namespace: str
    service_account: str
    status: CredentialStatus  # create: Terraform creates it; present: already in Azure; blocked: see reason
    existing_name: str | None = None  # the Azure name of a credential that is already present
    reason: str | None = None  # why it is blocked or waiting
    why: Why = Why()  # the bindings and workloads it comes from


class RoleGrant(_S, frozen=True):
    role_definition_id: str  # the role, as ARM names it
    scope: str  # where it is granted
    from_identity: str  # resource ID of the old identity whose grant is copied


class NewIdentity(_S, frozen=True):
    """A user-assigned identity the ``per-workload`` strategy creates."""

    name: str  # the new user-assigned identity's name
    resource_group: str
    subscription_id: str
    location: str | None  # None: the resource group's location
    resource_id: str
    replaces: tuple[str, ...]  # old identity resource IDs
    role_assignments: tuple[RoleGrant, ...]  # copied from the identities it replaces, for a human to confirm
    group: str  # the peer group it serves
    namespace: str
    service_account: str
    clusters: tuple[str, ...]  # the clusters whose issuers it trusts
    blocked_reason: str | None = None  # set when it cannot be created as planned


class ExistingCredential(_S, frozen=True):
    name: str
    issuer: str
    subject: str
    classification: Classification  # needed: one the plan would create; stale: an old issuer of a planned cluster; foreign: another issuer


class IdentityPlan(_S, frozen=True):
    identity: IdentityRef
    existing: tuple[ExistingCredential, ...]  # credentials already on the identity in Azure
    to_create: int  # credentials this plan adds
    total_after: int  # existing + to create: what counts toward the limit
    limit: int  # Azure's limit per identity (20)
    over_limit: bool
    proposal: str | None = None  # how to get under the limit, when over


class ServiceAccountPlan(_S, frozen=True):
    cluster: str
    namespace: str
    name: str  # the service account
    client_id: str | None  # the azure.workload.identity/client-id annotation
    tenant_id: str | None  # only when it differs from the cluster's tenant
    create: bool  # a new service account (the plan split a shared one)
    identities: tuple[str, ...]  # every identity federated to it (resource ID or app client ID)
    why: Why = Why()


class WorkloadPatch(_S, frozen=True):
    cluster: str
    namespace: str
    kind: str  # Deployment, StatefulSet, DaemonSet, CronJob, ...
    name: str
    service_account: str  # after the change
    previous_service_account: str | None  # set when the plan changes serviceAccountName
    binding_selector: str | None  # the aadpodidbinding label to remove at the end
    client_id_env: str | None = None  # explicit AZURE_CLIENT_ID for containers (shared-SA remedy)
    proxy_sidecar: bool = False  # inject the IMDS proxy sidecar (an SDK without workload identity)
    gitops_owner: str | None = None  # Flux / Argo CD / Helm: patch the source, not the cluster
    patchable: bool = True  # cutover can patch it in place (Deployment/StatefulSet/DaemonSet/CronJob)
    note: str | None = None  # what a reviewer should know about this patch


class Prerequisite(_S, frozen=True):
    cluster: str
    kind: Literal["enable-oidc-issuer", "enable-workload-identity"]
    command: str  # the az command that does it
    terraform: str  # the Terraform change that does it
    risk: str  # what the change does to the running cluster


class Blocked(_S, frozen=True):
    cluster: str
    namespace: str
    object: str  # the object blocked, Kind/name ("" for a whole namespace or cluster)
    reason: str  # why
    proposal: str | None = None  # what would unblock it


class Risk(_S, frozen=True):
    code: str  # a stable code (see docs/plan.md)
    cluster: str
    namespace: str
    object: str
    message: str


class ClusterPlan(_S, frozen=True):
    name: str
    region: str
    group: str  # its peer group (fleet file); clusters of a group share identities
    subscription_id: str
    resource_group: str
    issuer: str | None  # the live OIDC issuer URL; None while a prerequisite is pending
    terraform_issuer: str | None  # a Terraform expression for the issuer in the user's configuration
    tenant_id: str  # the cluster's Entra tenant
    prerequisites_pending: bool  # OIDC issuer or workload identity still to enable


class Plan(_S, frozen=True, kw_only=True):
    schema_version: int = SCHEMA_VERSION  # readers refuse any other version
    strategy: Strategy  # reuse the bound identities, or a new identity per workload
    service_account_conflicts: ServiceAccountRemedy  # the remedy for a service account shared by workloads of different identities
    tenant_id: str  # the fleet's tenant
    clusters: tuple[ClusterPlan, ...]
    prerequisites: tuple[Prerequisite, ...]
    identities: tuple[IdentityPlan, ...]
    new_identities: tuple[NewIdentity, ...]
    credentials: tuple[Credential, ...]  # one per (identity, cluster issuer, namespace, service account)
    service_accounts: tuple[ServiceAccountPlan, ...]
    workloads: tuple[WorkloadPatch, ...]
    blocked: tuple[Blocked, ...]  # items the plan will not do, with a reason and a proposal
    risks: tuple[Risk, ...]
    notes: tuple[str, ...] = ()  # plain-text notes for the reviewer

    @property
    def has_blocked(self) -> bool:
        return bool(self.blocked) or any(c.status == "blocked" for c in self.credentials)


def encode(plan: Plan) -> str:
    raw = msgspec.json.encode(plan)
    return msgspec.json.format(raw, indent=2).decode() + "\n"


def decode(data: bytes, origin: str) -> Plan:
    from pathlib import Path

    from migrator.errors import InputError, Location

    try:
        head = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise InputError(f"the plan file is not JSON: {exc}", location=Location(Path(origin))) from None
    if not isinstance(head, dict) or head.get("schemaVersion") != SCHEMA_VERSION:
        raise InputError(
            f"not a wi-migrator plan of schemaVersion {SCHEMA_VERSION}", location=Location(Path(origin)),
            hint="create it with: migrate plan --fleet fleet.yaml --out plan.json",
        )
    try:
        return msgspec.convert(head, Plan)
    except msgspec.ValidationError as exc:
        raise InputError(f"the plan file is malformed: {exc}", location=Location(Path(origin)),
                         hint="regenerate it with migrate plan; hand edits must keep the schema") from None
